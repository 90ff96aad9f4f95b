// Package soak runs a bounded mixed-operation load through s3seal and
// checks that nothing it reads back is wrong and that the gateway's
// goroutines, file descriptors and memory stay flat.
//
// 32 clients (by default) each own a key space and do PUTs, multipart
// uploads, whole and ranged GETs with If-Match, listings and deletes for a
// fixed time. Each client knows what every one of its keys must hold, so
// every read and every listing is checked exactly; one wrong byte, a stale
// size or a deleted object that is still readable is a corruption, and the
// run fails on any corruption or failed request.
//
// The test is built only with the soak tag, so `go test ./...` and
// `make test` compile nothing here. Run it with
//
//	make soak                       # SOAK_DURATION=2m30s by default
//	make soak SOAK_DURATION=30s
//
// which builds bin/s3seal, runs TestSoak and replaces the "Soak" section of
// BENCHMARKS.md with the figures. The pinned MinIO must be installed
// (test/install-peers.sh minio).
package soak
