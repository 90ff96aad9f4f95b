#!/usr/bin/env bash
# Installs the pinned real peers the end-to-end tests talk to into .tools/bin
# (git-ignored). Idempotent: a peer already at its pinned version is kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false

# Concurrent runs (make peers, CI, several test sessions) wait for each other
# instead of writing the same binaries at once.
if command -v flock >/dev/null; then
  exec 9>"$bin/.install.lock"
  flock 9
fi

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
KES_VERSION=v0.24.0

# install NAME VERSION STAMP COMMAND...: runs COMMAND unless STAMP says VERSION.
install() {
  local name=$1 version=$2; shift 2
  local stamp="$bin/.$name.version"
  if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    return 0
  fi
  echo "install-peers: building $name $version" >&2
  "$@"
  echo "$version" >"$stamp"
}

build_kes() {
  local dir
  dir=$(go mod download -json "github.com/minio/kes@$KES_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  (cd "$dir" && go build -o "$bin/kes" ./cmd/kes)
}

want=${*:-minio mc kes}
pids=()
for peer in $want; do
  case $peer in
    minio) install minio "$MINIO_VERSION" env GOBIN="$bin" go install "github.com/minio/minio@$MINIO_VERSION" & pids+=($!) ;;
    mc)    install mc "$MC_VERSION" env GOBIN="$bin" go install "github.com/minio/mc@$MC_VERSION" & pids+=($!) ;;
    kes)   install kes "$KES_VERSION" build_kes & pids+=($!) ;;
    *) echo "install-peers: unknown peer $peer" >&2; exit 2 ;;
  esac
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
