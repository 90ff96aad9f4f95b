#!/usr/bin/env bash
# Checks the programs the end-to-end tests run that are not Go modules and
# installs the Debian package of any that is missing, saying so. The machine
# image's Python provides aws (v1), boto3 and moto_server; Debian provides
# AWS CLI v2 (awscli), s3cmd, pykmip-server (python3-pykmip) and Chromium
# (chromium, for the console's browser tests). When all are present nothing
# is installed. With the argument "ceph" it also checks Debian's Ceph
# (radosgw, ceph-mon, ceph-osd, ceph-common), which only make
# test-backends needs (the ceph backend).
# Everything else the tests need is a Go module or a pinned peer that
# install-peers.sh builds.
set -euo pipefail

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=()
# AWS CLI v1 is the machine image's (pyenv) aws on PATH; Debian's awscli
# package is AWS CLI v2, which the compatibility matrix runs as
# /usr/bin/aws. (Without the machine image's aws, Debian's is the one on PATH
# too, and the matrix's v1 row fails saying so.)
if ! installed awscli; then missing+=(awscli); fi
# s3cmd: the compatibility matrix's s3cmd rows (SigV4 and --signature-v2).
if ! installed s3cmd && ! command -v s3cmd >/dev/null; then missing+=(s3cmd); fi
# clientsBoto3 uses the python3 on PATH or Debian's /usr/bin/python3.
if ! python3 -c 'import boto3' 2>/dev/null && ! /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
  missing+=(python3-boto3)
fi
# pykmip-server: the KMIP key store's tests (a KMIP 1.x server for testing).
if ! installed python3-pykmip && ! command -v pykmip-server >/dev/null; then missing+=(python3-pykmip); fi
# chromium: the web console's end-to-end test drives it headless
# (harness.StartBrowser, chromedp). fonts-liberation, one of its
# recommends, gives the screenshots readable text. On a fresh Debian 12
# machine this is the big one: 115 packages, 155 MB, measured at about 4
# minutes for apt-get update and install (2026-12-04, 2 shared cores).
if ! installed chromium && ! command -v chromium >/dev/null; then missing+=(chromium fonts-liberation); fi
if [[ "${1:-}" == ceph ]]; then
  for pkg in radosgw ceph-mon ceph-osd ceph-common; do
    if ! installed "$pkg"; then missing+=("$pkg"); fi
  done
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
