package test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/s3seal/s3seal/test/harness"
)

// awsChainEnv is a gateway environment with no static backend keys and
// nothing from the test's own AWS settings: the default chain finds only
// what the test then adds.
func awsChainEnv(extra map[string]string) []harness.GatewayOption {
	env := map[string]string{
		"S3SEAL_BACKEND_ACCESS_KEY":   "",
		"S3SEAL_BACKEND_SECRET_KEY":   "",
		"AWS_ACCESS_KEY_ID":           "",
		"AWS_SECRET_ACCESS_KEY":       "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_CA_BUNDLE":               "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for k, v := range extra {
		env[k] = v
	}
	var opts []harness.GatewayOption
	for k, v := range env {
		opts = append(opts, harness.WithGatewayEnv(k, v))
	}
	return opts
}

// ownSystemBucket gives a gateway that shares its backend with others a
// system bucket of its own: each has its own key store.
func ownSystemBucket(name string) harness.GatewayOption {
	return harness.WithGatewayEnv("S3SEAL_SYSTEM_BUCKET", "s3seal-system-"+name)
}

// roundTrip writes an object through gw and reads it back.
func roundTrip(t *testing.T, gw *harness.Gateway, bucket string) {
	t.Helper()
	c := gw.Client(t)
	ctx := t.Context()
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := harness.RandomBytes(t, 70_001)
	if _, err := c.PutObject(ctx, bucket, "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := harness.ReadObject(t, c, bucket, "k", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, want %d", len(got), len(data))
	}
}

// TestBackendCredentialsFromTheAWSChain starts the gateway without static
// backend keys: it signs backend requests with what AWS's default
// credential chain finds, and works end to end against MinIO, which checks
// every signature (and session token).
func TestBackendCredentialsFromTheAWSChain(t *testing.T) {
	t.Parallel()
	backend := harness.StartMinIO(t)

	t.Run("environment", func(t *testing.T) {
		gw := harness.StartGateway(t, backend, append(awsChainEnv(map[string]string{
			"AWS_ACCESS_KEY_ID":     backend.AccessKey,
			"AWS_SECRET_ACCESS_KEY": backend.SecretKey,
		}), ownSystemBucket("env"))...)
		roundTrip(t, gw, "chain-env")
	})

	t.Run("shared credentials file, named profile", func(t *testing.T) {
		dir := t.TempDir()
		creds := filepath.Join(dir, "credentials")
		profile := "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n" +
			"[s3seal-backend]\naws_access_key_id = " + backend.AccessKey + "\naws_secret_access_key = " + backend.SecretKey + "\n"
		if err := os.WriteFile(creds, []byte(profile), 0o600); err != nil {
			t.Fatal(err)
		}
		gw := harness.StartGateway(t, backend, append(awsChainEnv(map[string]string{
			"AWS_SHARED_CREDENTIALS_FILE": creds,
			"AWS_PROFILE":                 "s3seal-backend",
		}), ownSystemBucket("profile"))...)
		roundTrip(t, gw, "chain-profile")
	})

	// Temporary credentials from MinIO's STS: MinIO refuses them without
	// their session token, so a round trip proves the token is sent.
	sts := func(t *testing.T) credentials.Value {
		t.Helper()
		p, err := credentials.NewSTSAssumeRole(backend.Endpoint, credentials.STSAssumeRoleOptions{
			AccessKey: backend.AccessKey, SecretKey: backend.SecretKey, DurationSeconds: 3600,
		})
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.GetWithContext(&credentials.CredContext{Client: nil})
		if err != nil || v.SessionToken == "" {
			t.Fatalf("AssumeRole on MinIO: %v (token %d bytes)", err, len(v.SessionToken))
		}
		return v
	}

	t.Run("session token in the environment", func(t *testing.T) {
		v := sts(t)
		gw := harness.StartGateway(t, backend, append(awsChainEnv(map[string]string{
			"AWS_ACCESS_KEY_ID":     v.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY": v.SecretAccessKey,
			"AWS_SESSION_TOKEN":     v.SessionToken,
		}), ownSystemBucket("env-token"))...)
		roundTrip(t, gw, "chain-token")
	})

	t.Run("static keys with S3SEAL_BACKEND_SESSION_TOKEN", func(t *testing.T) {
		v := sts(t)
		gw := harness.StartGateway(t, backend,
			harness.WithGatewayEnv("S3SEAL_BACKEND_ACCESS_KEY", v.AccessKeyID),
			harness.WithGatewayEnv("S3SEAL_BACKEND_SECRET_KEY", v.SecretAccessKey),
			harness.WithGatewayEnv("S3SEAL_BACKEND_SESSION_TOKEN", v.SessionToken),
			ownSystemBucket("static-token"))
		roundTrip(t, gw, "static-token")
	})

	t.Run("temporary keys without their token are refused by the backend", func(t *testing.T) {
		// The control: the same temporary keys without the token fail, so
		// the subtests above pass because the token was sent.
		v := sts(t)
		direct := harness.MinioGoClient(t, backend.Endpoint, v.AccessKeyID, v.SecretAccessKey, "us-east-1")
		if _, err := direct.ListBuckets(t.Context()); err == nil {
			t.Fatalf("MinIO accepted temporary keys without their session token")
		}
	})
}
