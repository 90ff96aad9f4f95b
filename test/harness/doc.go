// Package harness starts the real servers and runs the real clients that
// s3seal's end-to-end tests talk to: a MinIO backend, the s3seal gateway
// built from this repository, mc, the AWS CLI, minio-go and aws-sdk-go-v2.
//
// Every server binds to 127.0.0.1 on a free port, gets its own temporary
// directory, is waited for by polling its health endpoint and is stopped by
// PID in t.Cleanup. Peers that are not installed fail the test with the
// command that installs them; nothing is skipped.
package harness
