// Package test holds s3seal's end-to-end tests: a real MinIO backend (and
// versitygw for the tests that run over every backend), the
// gateway built from this repository, and real clients (mc, the AWS CLI,
// minio-go, aws-sdk-go-v2). Install the peers with test/install-peers.sh.
package test

import (
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
