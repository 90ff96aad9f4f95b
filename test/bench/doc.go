// Package bench measures what s3seal costs: throughput, small-object
// operation rates and gateway memory, each through the gateway and
// directly against the same MinIO, next to MinIO's own SSE-KMS and to a
// bare forwarder (./forwarder, a reverse proxy that does no work: what a
// second hop alone costs, the floor of any gateway), plus the crypto
// pipeline against bare AES-256-GCM. Every figure is a median of
// alternating rounds and the ratios compare times (path / direct).
//
// The measurements are built only with the bench tag, so `go test ./...`
// compiles nothing here. Run them with
//
//	make bench
//
// which builds bin/s3seal, runs TestBenchmarks and overwrites
// BENCHMARKS.md with the report. The pinned MinIO must be installed
// (test/install-peers.sh minio).
package bench
