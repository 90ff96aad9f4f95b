package test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/s3seal/s3seal/test/harness"
)

// The gateway's key store in AWS Secrets Manager, sealed by AWS KMS, both
// emulated by moto_server: the mc flow, startup failures, and an outage.

// TestRootKMSAWSSecretsManager runs the mc flow on a gateway whose External
// Keys live in AWS Secrets Manager, sealed by an AWS KMS key (moto), then
// restarts the gateway and reads everything back.
func TestRootKMSAWSSecretsManager(t *testing.T) {
	t.Parallel()
	const (
		alias      = "gw"
		bucket     = "aws-sealed"
		key        = "aws-bucket-key"
		startupKey = "startup-key"
	)
	moto := harness.StartMoto(t)
	kmsKeyID := moto.CreateKMSKey(t)
	backend := harness.StartMinIO(t)

	awsAccessKey, awsSecretKey := "moto-ak-"+harness.RandomHex(t, 4), "moto-sk-"+harness.RandomHex(t, 16)
	config := fmt.Sprintf(`version: v1
kms:
  keys:
  - name: %s
  cache:
    expiry:
      any: 5m
      unused: 1m
      offline: 1m
%s`, startupKey, rootkmsAWSKeystore(moto.Endpoint, kmsKeyID))
	env := []string{"AWS_ACCESS_KEY_ID", awsAccessKey, "AWS_SECRET_ACCESS_KEY", awsSecretKey}
	gw := rootkmsStartGateway(t, backend, config, env...)
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, alias, gw.Endpoint, gw.AccessKey, gw.SecretKey)

	objects := rootkmsMCFlow(t, mc, alias, backend, bucket, key, startupKey)

	t.Run("each key is a secret in Secrets Manager sealed by the KMS key", func(t *testing.T) {
		sm := secretsmanager.NewFromConfig(moto.AWSConfig())
		out, err := sm.ListSecrets(t.Context(), &secretsmanager.ListSecretsInput{})
		if err != nil {
			t.Fatalf("ListSecrets: %v", err)
		}
		var names []string
		for _, s := range out.SecretList {
			names = append(names, aws.ToString(s.Name))
		}
		for _, want := range []string{startupKey, key, harness.DefaultKeyName} {
			if !slices.Contains(names, want) {
				t.Errorf("Secrets Manager secrets = %v, want %s among them", names, want)
				continue
			}
			d, err := sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(want)})
			if err != nil {
				t.Errorf("DescribeSecret %s: %v", want, err)
				continue
			}
			if got := aws.ToString(d.KmsKeyId); got != kmsKeyID {
				t.Errorf("secret %s KmsKeyId = %q, want the configured KMS key %q", want, got, kmsKeyID)
			}
		}
	})

	t.Run("no key reaches the local key directory", func(t *testing.T) {
		// S3SEAL_KMS_DIR is set empty, which counts as unset: the file's
		// key store must be the only one.
		entries, err := os.ReadDir(gw.KMSDir)
		if err != nil {
			t.Fatalf("read %s: %v", gw.KMSDir, err)
		}
		if len(entries) != 0 {
			t.Errorf("%s holds %d entries (first %s), want none", gw.KMSDir, len(entries), entries[0].Name())
		}
	})

	t.Run("logs never carry the AWS secret key", func(t *testing.T) {
		if strings.Contains(gw.Logs(), awsSecretKey) {
			t.Errorf("gateway log contains the AWS secret key")
		}
	})

	t.Run("a restarted gateway finds the keys and reads the objects", func(t *testing.T) {
		gw.Stop(t)
		gw2 := rootkmsStartGateway(t, backend, config, env...)
		const alias2 = "gw2"
		mc.AliasSet(t, alias2, gw2.Endpoint, gw2.AccessKey, gw2.SecretKey)

		var list struct {
			Status string   `json:"status"`
			Keys   []string `json:"keys"`
		}
		harness.DecodeJSON(t, mc.JSON(t, "admin", "kms", "key", "list", alias2), &list)
		for _, want := range []string{startupKey, key} {
			if !slices.Contains(list.Keys, want) {
				t.Errorf("mc admin kms key list after restart = %v, want %s listed", list.Keys, want)
			}
		}
		for name, data := range objects {
			target := alias2 + "/" + bucket + "/" + name
			assertSameBytes(t, "mc cat "+target+" after restart", mc.Must(t, "cat", target).Stdout, data)
			if got, want := mcflowEncryptionLine(t, mc, target), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
				t.Errorf("mc stat %s Encryption line after restart = %q, want %q", target, got, want)
			}
		}

		// The bucket default still names the key; a new upload uses it.
		data := harness.RandomBytes(t, 33*1024+1)
		file := filepath.Join(t.TempDir(), "after-restart")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		target := alias2 + "/" + bucket + "/after-restart"
		mc.Must(t, "cp", file, target)
		assertSameBytes(t, "mc cat "+target, mc.Must(t, "cat", target).Stdout, data)
		mcflowAssertDARE(t, backend.Client(t), bucket, "after-restart", data)
	})
}

// TestRootKMSStartupFailsWhenAKeyCannotBeCreated checks the KES rule that
// every key in kms.keys exists before anything is served: when one cannot
// be created, the process exits non-zero, says which key, and its port
// never answers.
func TestRootKMSStartupFailsWhenAKeyCannotBeCreated(t *testing.T) {
	t.Parallel()
	moto := harness.StartMoto(t)
	closedPort := harness.FreePort(t)

	tests := []struct {
		name     string
		keyName  string
		keystore string // YAML under kms.keystore
		wantMsg  []string
	}{
		{
			name:     "invalid key name",
			keyName:  "not/a-valid-name",
			keystore: "    fs:\n      path: " + t.TempDir() + "\n",
			wantMsg:  []string{`kms.keys: create \"not/a-valid-name\"`},
		},
		{
			name:    "key store unreachable",
			keyName: "startup-key",
			keystore: fmt.Sprintf("    aws:\n      secretsmanager:\n        endpoint: http://127.0.0.1:%d\n        region: us-east-1\n"+
				"        credentials:\n          accesskey: ak\n          secretkey: sk\n", closedPort),
			wantMsg: []string{`kms.keys: create \"startup-key\"`, "key store unavailable"},
		},
		{
			name:    "KMS key does not exist",
			keyName: "startup-key",
			keystore: "    aws:\n      secretsmanager:\n        endpoint: " + moto.Endpoint + "\n        region: us-east-1\n" +
				"        kmskey: 00000000-1111-2222-3333-444444444444\n        credentials:\n          accesskey: ak\n          secretkey: sk\n",
			wantMsg: []string{`kms.keys: create \"startup-key\"`, "00000000-1111-2222-3333-444444444444"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			configPath := filepath.Join(dir, "s3seal.yaml")
			config := "version: v1\nkms:\n  keys:\n  - name: " + tt.keyName + "\n  keystore:\n" + tt.keystore
			if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
			env := []string{
				"HOME=" + dir,
				"PATH=" + os.Getenv("PATH"),
				"S3SEAL_CONFIG=" + configPath,
				"S3SEAL_ADDRESS=" + addr,
				// Nothing may reach the backend; a closed port makes sure.
				"S3SEAL_BACKEND_URL=http://127.0.0.1:" + strconv.Itoa(closedPort),
				"S3SEAL_BACKEND_ACCESS_KEY=backend",
				"S3SEAL_BACKEND_SECRET_KEY=backend-secret",
				"S3SEAL_ROOT_USER=root",
				"S3SEAL_ROOT_PASSWORD=root-password",
			}
			p := harness.RunProcess(t, "s3seal", harness.GatewayBinary(t), []string{"server"}, env)

			// Probe the port until the process exits: it must never answer.
			answered := 0
			deadline := time.After(90 * time.Second)
		probe:
			for {
				if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
					c.Close()
					answered++
				}
				select {
				case <-p.Done():
					break probe
				case <-deadline:
					t.Fatalf("s3seal still running after 90s, want it to exit because %s cannot be created\n%s", tt.keyName, p.Output())
				case <-time.After(10 * time.Millisecond):
				}
			}
			if answered > 0 {
				t.Errorf("the port %s answered %d times while the process ran, want never", addr, answered)
			}
			if code := p.ExitCode(); code == 0 {
				t.Errorf("exit code = 0, want non-zero")
			}
			logs := p.Output()
			for _, want := range tt.wantMsg {
				if !strings.Contains(logs, want) {
					t.Errorf("output does not contain %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, "s3seal listening") {
				t.Errorf("output says the gateway listened, want it to stop before:\n%s", logs)
			}
		})
	}
}

// TestRootKMSAWSOutage puts moto behind a TCP proxy and cuts it: objects
// under a cached key stay readable, readiness answers 503, a key the
// gateway never used is refused with a 503-class error and nothing is
// written; when the proxy accepts again the same gateway process recovers.
func TestRootKMSAWSOutage(t *testing.T) {
	t.Parallel()
	const (
		bucket    = "outage"
		cachedKey = "cached-key"
		newKey    = "never-used-key"
		laterKey  = "after-recovery-key"
	)
	moto := harness.StartMoto(t)
	kmsKeyID := moto.CreateKMSKey(t)
	proxy := harness.StartFaultProxy(t, moto.Addr())
	backend := harness.StartMinIO(t)
	config := fmt.Sprintf(`version: v1
kms:
  keys:
  - name: %s
  cache:
    expiry:
      any: 1h
      unused: 1h
      offline: 1h
  keystore:
    aws:
      secretsmanager:
        endpoint: %s
        region: us-east-1
        kmskey: %s
        credentials:
          accesskey: moto
          secretkey: moto-secret
`, cachedKey, proxy.Endpoint(), kmsKeyID)
	gw := rootkmsStartGateway(t, backend, config)
	// One attempt per call: the gateway's answer, not the SDK's retries.
	s3c := gw.S3(t, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	direct := backend.Client(t)
	ctx := t.Context()

	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	cachedData := harness.RandomBytes(t, 64*1024+7)
	rootkmsPutKMS(t, s3c, bucket, "cached-object", cachedKey, cachedData)
	assertSameBytes(t, "GET before the outage", rootkmsGet(t, s3c, bucket, "cached-object"), cachedData)

	proxy.Refuse()

	t.Run("readiness answers 503 while the key store is unreachable", func(t *testing.T) {
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusServiceUnavailable, time.Minute)
	})

	t.Run("an object under a cached key stays readable", func(t *testing.T) {
		assertSameBytes(t, "GET during the outage", rootkmsGet(t, s3c, bucket, "cached-object"), cachedData)
	})

	t.Run("a write under a cached key still works", func(t *testing.T) {
		data := harness.RandomBytes(t, 10*1024)
		rootkmsPutKMS(t, s3c, bucket, "written-in-outage", cachedKey, data)
		assertSameBytes(t, "GET of an object written during the outage", rootkmsGet(t, s3c, bucket, "written-in-outage"), data)
		mcflowAssertDARE(t, direct, bucket, "written-in-outage", data)
	})

	t.Run("a never-used key is refused with 503 and nothing is stored", func(t *testing.T) {
		rootkmsAssertRefusedDuringOutage(t, s3c, direct, bucket, "never-used-key-object", newKey)
	})

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	rootkmsAssertRecovery(t, gw, s3c, direct, bucket, laterKey)

	t.Run("a key that does not exist is 404 kms:KeyNotFound once the store answers", func(t *testing.T) {
		// MinIO's answer for an unknown key, which s3seal matches.
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{
			Bucket:               aws.String(bucket),
			Key:                  aws.String("never-used-key-object"),
			Body:                 bytes.NewReader([]byte("x")),
			ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
			SSEKMSKeyId:          aws.String(newKey),
		})
		rootkmsWantS3Error(t, "PUT SSE-KMS with a key that does not exist", err, http.StatusNotFound, "kms:KeyNotFound")
		rootkmsAssertNotOnBackend(t, direct, bucket, "never-used-key-object")
	})
}
