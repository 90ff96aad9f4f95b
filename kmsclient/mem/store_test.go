package mem_test

import (
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/keystoretest"
	"github.com/s3seal/s3seal/kmsclient/mem"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStoreConformance(t *testing.T) {
	keystoretest.Run(t, func(*testing.T) kmsclient.KeyStore { return new(mem.Store) })
}

func TestStoreRotation(t *testing.T) {
	keystoretest.RunRotation(t, func(*testing.T) kmsclient.KeyStore { return new(mem.Store) })
}
