package test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// The gateway's key store on an external KES server: the pinned KES v0.24
// in dev mode and from a config file, through an outage and a restart.

// TestRootKMSExternalKESDevServer runs the mc flow on a gateway that uses a
// KES dev server as its KMS, with the API key the server printed and its
// certificate as the CA, then stops KES.
func TestRootKMSExternalKESDevServer(t *testing.T) {
	t.Parallel()
	const (
		alias  = "gw"
		bucket = "kes-sealed"
		key    = "kes-bucket-key"
	)
	kes := harness.StartKES(t, harness.KESConfig{})
	backend := harness.StartMinIO(t)
	config := rootkmsKESConfig("kes-startup-key", kes.Endpoint, kes.CAFile)
	gw := rootkmsStartGateway(t, backend, config, "KES_API_KEY", kes.APIKey)
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, alias, gw.Endpoint, gw.AccessKey, gw.SecretKey)

	rootkmsMCFlow(t, mc, alias, backend, bucket, key, "kes-startup-key")

	t.Run("logs never carry the API key", func(t *testing.T) {
		if strings.Contains(gw.Logs(), kes.APIKey) {
			t.Errorf("gateway log contains the KES API key")
		}
	})

	t.Run("KES stopped: readiness 503, SSE-KMS PUT 503 and nothing stored", func(t *testing.T) {
		kes.Stop()
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusServiceUnavailable, time.Minute)
		s3c := gw.S3(t, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		_, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{
			Bucket:               aws.String(bucket),
			Key:                  aws.String("during-outage"),
			Body:                 bytes.NewReader(harness.RandomBytes(t, 4096)),
			ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
			SSEKMSKeyId:          aws.String(key),
		})
		rootkmsWantS3Error(t, "PUT SSE-KMS while KES is down", err, http.StatusServiceUnavailable, "KMS.KMSInternalException")
		rootkmsAssertNotOnBackend(t, backend.Client(t), bucket, "during-outage")
	})
}

// TestRootKMSExternalKESRestart stops and restarts a KES server on the same
// port under one gateway process. KES runs from a config file — API-key
// admin identity, a certificate of our own, an fs key store — because a dev
// server makes a new API key and certificate on every start, which no
// client configured before the restart could use.
func TestRootKMSExternalKESRestart(t *testing.T) {
	t.Parallel()
	const (
		bucket   = "kes-restart"
		firstKey = "before-restart-key"
		laterKey = "after-restart-key"
	)
	apiKey, identity := rootkmsNewAPIKey(t)
	kes := harness.StartKES(t, harness.KESConfig{Admin: identity})
	backend := harness.StartMinIO(t)
	config := rootkmsKESConfig(firstKey, kes.Endpoint, kes.CAFile)
	gw := rootkmsStartGateway(t, backend, config, "KES_API_KEY", apiKey)
	s3c := gw.S3(t, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	direct := backend.Client(t)
	ctx := t.Context()

	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	before := harness.RandomBytes(t, 50*1024+9)
	rootkmsPutKMS(t, s3c, bucket, "before", firstKey, before)

	kes.Stop()

	t.Run("readiness answers 503 while KES is down", func(t *testing.T) {
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusServiceUnavailable, time.Minute)
	})

	t.Run("an SSE-KMS PUT is 503 and stores nothing", func(t *testing.T) {
		rootkmsAssertRefusedDuringOutage(t, s3c, direct, bucket, "during-outage", firstKey)
	})

	kes.Restart(t)
	rootkmsAssertRecovery(t, gw, s3c, direct, bucket, laterKey)

	t.Run("an object written before the outage reads back", func(t *testing.T) {
		assertSameBytes(t, "GET of the object written before the outage", rootkmsGet(t, s3c, bucket, "before"), before)
	})
}

// rootkmsNewAPIKey returns a fresh KES API key and its identity: the hex
// SHA-256 of the Ed25519 public key's SubjectPublicKeyInfo.
func rootkmsNewAPIKey(t *testing.T) (apiKey, identity string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apiKey = "kes:v1:" + base64.StdEncoding.EncodeToString(append([]byte{0}, priv.Seed()...))
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return apiKey, hex.EncodeToString(sum[:])
}
