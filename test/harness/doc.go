// Package harness starts the real servers and runs the real clients that
// s3seal's end-to-end tests talk to: MinIO and versitygw (backends), the
// s3seal gateway built from this repository, KES, moto, mc, the AWS CLI,
// rclone, minio-go and aws-sdk-go-v2. It is the one place such helpers
// live; test files hold tests.
//
//   - Process, StartProcess, RunProcess: a child process stopped by PID,
//     with its output on disk and in memory, polled for readiness
//     (WaitHTTP, WaitOutput) and given a parent-death signal.
//   - Backend (StartBackend, AllBackends): what a gateway runs in front
//     of; StartMinIO (WithMinIOEnv, WithMinIOTLS), StartVersityGW
//     (WithoutVersioning), StartGateway
//     (WithGatewayEnv, WithGatewayConfig, WithGatewayTLS,
//     WithGatewayReadyPath, WithPlaintextBuckets), StartKES, StartMoto.
//   - NewCA and SelfSignedCert: certificates for TLS servers and clients.
//   - StartBrowser: headless Chromium driven by chromedp.
//   - MC, AWS, Run, MustRun, DecodeJSON, S3Client, MinioGoClient,
//     ReadObject: clients.
//   - Tools: the pinned peers test/install-peers.sh builds into .tools/bin.
//   - Eventually, FreePort, RandomBytes, RandomHex, FindPlaintextRun,
//     Xattrs.
//
// Every server binds to 127.0.0.1 on a free port, gets its own temporary
// directory, is waited for by polling and is stopped by PID in t.Cleanup.
// Peers that are not installed fail the test with the command that
// installs them; nothing is skipped.
package harness
