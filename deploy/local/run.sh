#!/usr/bin/env bash
# make run: a local MinIO (data under .data/, git-ignored) with s3seal in
# front of it and the built-in key store. Ctrl-C stops both.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/.data"
mkdir -p "$data/minio" "$data/keys"

minio_port=${MINIO_PORT:-9000}
gw_port=${S3SEAL_PORT:-9010}
console_addr=${S3SEAL_CONSOLE_ADDRESS:-127.0.0.1:$((gw_port+1))}
backend_user=s3seal-backend
backend_pass=${MINIO_ROOT_PASSWORD:-$(test -f "$data/backend.secret" && cat "$data/backend.secret" || (head -c 18 /dev/urandom | base64 | tr -d '/+=' | tee "$data/backend.secret"))}
user=${S3SEAL_ROOT_USER:-s3seal}
pass=${S3SEAL_ROOT_PASSWORD:-$(test -f "$data/root.secret" && cat "$data/root.secret" || (head -c 18 /dev/urandom | base64 | tr -d '/+=' | tee "$data/root.secret"))}

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

MINIO_ROOT_USER=$backend_user MINIO_ROOT_PASSWORD=$backend_pass MINIO_BROWSER=off \
  "$root/.tools/bin/minio" server "$data/minio" --address "127.0.0.1:$minio_port" --console-address "127.0.0.1:$((minio_port+1))" \
  >"$data/minio.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$minio_port/minio/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done

S3SEAL_ADDRESS=127.0.0.1:$gw_port S3SEAL_CONSOLE_ADDRESS=$console_addr \
S3SEAL_BACKEND_URL=http://127.0.0.1:$minio_port \
S3SEAL_BACKEND_ACCESS_KEY=$backend_user S3SEAL_BACKEND_SECRET_KEY=$backend_pass \
S3SEAL_ROOT_USER=$user S3SEAL_ROOT_PASSWORD=$pass \
S3SEAL_KMS_DIR=$data/keys S3SEAL_KMS_DEFAULT_KEY=${S3SEAL_KMS_DEFAULT_KEY:-s3seal-default-key} \
  "$root/bin/s3seal" server 2>>"$data/s3seal.log" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$gw_port/minio/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done

cat <<MSG
s3seal is running (logs: .data/s3seal.log, .data/minio.log)
  endpoint:   http://127.0.0.1:$gw_port
  access key: $user
  secret key: $pass
  mc alias set s3seal http://127.0.0.1:$gw_port $user $pass
  web console: http://$console_addr (log in with the access key and secret key above)
Backend MinIO (ciphertext only): http://127.0.0.1:$minio_port
Press Ctrl-C to stop both.
MSG
wait -n "${pids[@]}"
