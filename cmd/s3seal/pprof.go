//go:build pprof

package main

// Built only with -tags pprof, for profiling: when S3SEAL_PPROF_ADDR is
// set (e.g. 127.0.0.1:6060) the process serves net/http/pprof there, on a
// listener of its own, apart from the S3 API. Release builds have no such
// listener and ignore the variable.
//
//	go build -tags pprof -o /tmp/s3seal-pprof ./cmd/s3seal
//	S3SEAL_PPROF_ADDR=127.0.0.1:6060 /tmp/s3seal-pprof server
//	go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/profile?seconds=20'

import (
	"log"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("S3SEAL_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		log.Printf("pprof: %v", http.ListenAndServe(addr, nil))
	}()
}
