#!/usr/bin/env bash
# Checks the programs the end-to-end tests run that are not Go modules and
# installs the Debian package of any that is missing, saying so. The machine
# image's Python provides them all (aws, boto3, moto_server); then nothing is
# installed. Everything else the tests need is a Go module or a pinned peer
# that install-peers.sh builds.
set -euo pipefail

missing=()
if ! command -v aws >/dev/null; then missing+=(awscli); fi
# clientsBoto3 uses the python3 on PATH or Debian's /usr/bin/python3.
if ! python3 -c 'import boto3' 2>/dev/null && ! /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
  missing+=(python3-boto3)
fi
if ! command -v moto_server >/dev/null; then
  # moto has no Debian package: it comes with the machine image's Python.
  echo "install-host-tools: moto_server is not on PATH; it comes with the machine image's Python (pip install 'moto[server]==5.*')" >&2
  exit 1
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo=()
if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
echo "install-host-tools: installing the Debian packages ${missing[*]} (apt-get, as root)" >&2
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
