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
RCLONE_VERSION=v1.76.0
# The commands linked into rclone (build_rclone); a change rebuilds it.
RCLONE_BUILD=$RCLONE_VERSION+link
VERSITYGW_VERSION=v1.8.0
# SeaweedFS publishes no module versions; the proxy serves this one
# pseudo-version. Not a default peer: only make test-backends needs it.
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6

# install NAME VERSION STAMP COMMAND...: runs COMMAND unless STAMP says VERSION.
install() {
  local name=$1 version=$2; shift 2
  local stamp="$bin/.$name.version"
  if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    return 0
  fi
  echo "install-peers: building $name $version" >&2
  # 9>&-: the build's processes must not inherit (and so hold) the lock.
  "$@" 9>&-
  echo "$version" >"$stamp"
}

build_kes() {
  local dir
  dir=$(go mod download -json "github.com/minio/kes@$KES_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  (cd "$dir" && go build -o "$bin/kes" ./cmd/kes)
}

# rclone is built from its pinned module with a main package that links only
# the backends and commands the tests use (local, s3; copy, sync, check, ls*,
# cat, delete, link, purge, version) instead of rclone.go's backend/all and cmd/all:
# the same rclone code, minus some 70 cloud SDKs, so it builds in a fraction
# of the time. `rclone version` still reports the pinned version.
build_rclone() (
  dir=$(go mod download -json "github.com/rclone/rclone@$RCLONE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  # The module cache is read-only and go build refuses overlays inside it:
  # build a writable copy, with rclone's own go.mod and go.sum.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$dir/." "$work"
  chmod -R u+w "$work"
  cat >"$work/rclone.go" <<'GO'
// rclone with the local and s3 backends and the commands s3seal's tests run.
package main

import (
	_ "github.com/rclone/rclone/backend/local"
	_ "github.com/rclone/rclone/backend/s3"
	"github.com/rclone/rclone/cmd"
	_ "github.com/rclone/rclone/cmd/cat"
	_ "github.com/rclone/rclone/cmd/check"
	_ "github.com/rclone/rclone/cmd/copy"
	_ "github.com/rclone/rclone/cmd/delete"
	_ "github.com/rclone/rclone/cmd/link"
	_ "github.com/rclone/rclone/cmd/ls"
	_ "github.com/rclone/rclone/cmd/lsjson"
	_ "github.com/rclone/rclone/cmd/purge"
	_ "github.com/rclone/rclone/cmd/sync"
	_ "github.com/rclone/rclone/cmd/version"
)

func main() { cmd.Main() }
GO
  (cd "$work" && CGO_ENABLED=0 go build -tags noselfupdate -trimpath \
    -ldflags "-s -w -X github.com/rclone/rclone/fs.Version=$RCLONE_VERSION" -o "$bin/rclone" .)
)

# SeaweedFS's go.mod has a replace directive, which `go install pkg@version`
# refuses: weed is built inside its downloaded module, with that go.mod and
# go.sum, as the module's own main package.
build_seaweedfs() (
  dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$bin/seaweedfs" ./weed
)

want=${*:-minio mc kes rclone versitygw}
pids=()
for peer in $want; do
  case $peer in
    minio) install minio "$MINIO_VERSION" env GOBIN="$bin" go install "github.com/minio/minio@$MINIO_VERSION" & pids+=($!) ;;
    mc)    install mc "$MC_VERSION" env GOBIN="$bin" go install "github.com/minio/mc@$MC_VERSION" & pids+=($!) ;;
    kes)   install kes "$KES_VERSION" build_kes & pids+=($!) ;;
    rclone) install rclone "$RCLONE_BUILD" build_rclone & pids+=($!) ;;
    versitygw) install versitygw "$VERSITYGW_VERSION" env GOBIN="$bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" & pids+=($!) ;;
    seaweedfs) install seaweedfs "$SEAWEEDFS_VERSION" build_seaweedfs & pids+=($!) ;;
    *) echo "install-peers: unknown peer $peer" >&2; exit 2 ;;
  esac
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
