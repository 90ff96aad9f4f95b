package test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// Root KMS end to end: the gateway's key store configured in the config
// file (KES vocabulary) against real key-management peers — AWS Secrets
// Manager and AWS KMS emulated by moto_server, and a real KES server — with
// the real mc client in front.

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
	moto := rootkmsStartMoto(t)
	kmsKeyID := moto.createKMSKey(t)
	backend := harness.StartMinIO(t)

	awsAccessKey, awsSecretKey := "moto-ak-"+rootkmsHex(t, 4), "moto-sk-"+rootkmsHex(t, 16)
	config := fmt.Sprintf(`version: v1
kms:
  keys:
  - name: %s
  cache:
    expiry:
      any: 5m
      unused: 1m
      offline: 1m
  keystore:
    aws:
      secretsmanager:
        endpoint: %s
        region: us-east-1
        kmskey: %s
        credentials:
          accesskey: ${AWS_ACCESS_KEY_ID}
          secretkey: ${AWS_SECRET_ACCESS_KEY}
`, startupKey, moto.endpoint, kmsKeyID)
	env := []string{"AWS_ACCESS_KEY_ID", awsAccessKey, "AWS_SECRET_ACCESS_KEY", awsSecretKey}
	gw := rootkmsStartGateway(t, backend, config, env...)
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, alias, gw.Endpoint, gw.AccessKey, gw.SecretKey)

	objects := rootkmsMCFlow(t, mc, alias, backend, bucket, key, startupKey)

	t.Run("each key is a secret in Secrets Manager sealed by the KMS key", func(t *testing.T) {
		sm := secretsmanager.NewFromConfig(moto.sdkConfig())
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
		mcflowJSON(t, mc.JSON(t, "admin", "kms", "key", "list", alias2), &list)
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
	moto := rootkmsStartMoto(t)
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
			keystore: "    aws:\n      secretsmanager:\n        endpoint: " + moto.endpoint + "\n        region: us-east-1\n" +
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
			cmd := exec.Command(harness.GatewayBinary(t), "server")
			cmd.Env = env
			cmd.Dir = dir
			var out rootkmsBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatalf("start s3seal: %v", err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			// Probe the port until the process exits: it must never answer.
			answered := 0
			deadline := time.After(90 * time.Second)
			var waitErr error
		probe:
			for {
				if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
					c.Close()
					answered++
				}
				select {
				case waitErr = <-exited:
					break probe
				case <-deadline:
					_ = cmd.Process.Kill()
					<-exited
					t.Fatalf("s3seal still running after 90s, want it to exit because %s cannot be created\n%s", tt.keyName, out.String())
				case <-time.After(10 * time.Millisecond):
				}
			}
			if answered > 0 {
				t.Errorf("the port %s answered %d times while the process ran, want never", addr, answered)
			}
			code := exitCodeOfErr(waitErr)
			if code == 0 {
				t.Errorf("exit code = 0, want non-zero")
			}
			logs := out.String()
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
	moto := rootkmsStartMoto(t)
	kmsKeyID := moto.createKMSKey(t)
	proxy := rootkmsStartProxy(t, moto.addr())
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
`, cachedKey, proxy.endpoint(), kmsKeyID)
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

	proxy.down(t)

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

	proxy.up(t)
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
	kes := rootkmsStartDevKES(t)
	backend := harness.StartMinIO(t)
	config := fmt.Sprintf(`version: v1
kms:
  keys:
  - name: kes-startup-key
  keystore:
    kes:
      endpoint: [%s]
      apikey: ${KES_API_KEY}
      tls:
        ca: %s
`, kes.endpoint, kes.caFile)
	gw := rootkmsStartGateway(t, backend, config, "KES_API_KEY", kes.apiKey)
	mc := harness.MC(t, t.TempDir())
	mc.AliasSet(t, alias, gw.Endpoint, gw.AccessKey, gw.SecretKey)

	rootkmsMCFlow(t, mc, alias, backend, bucket, key, "kes-startup-key")

	t.Run("logs never carry the API key", func(t *testing.T) {
		if strings.Contains(gw.Logs(), kes.apiKey) {
			t.Errorf("gateway log contains the KES API key")
		}
	})

	t.Run("KES stopped: readiness 503, SSE-KMS PUT 503 and nothing stored", func(t *testing.T) {
		kes.stop()
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
	kes := rootkmsStartConfiguredKES(t, identity)
	backend := harness.StartMinIO(t)
	config := fmt.Sprintf(`version: v1
kms:
  keys:
  - name: %s
  keystore:
    kes:
      endpoint: [%s]
      apikey: ${KES_API_KEY}
      tls:
        ca: %s
`, firstKey, kes.endpoint, kes.caFile)
	gw := rootkmsStartGateway(t, backend, config, "KES_API_KEY", apiKey)
	s3c := gw.S3(t, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	direct := backend.Client(t)
	ctx := t.Context()

	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	before := harness.RandomBytes(t, 50*1024+9)
	rootkmsPutKMS(t, s3c, bucket, "before", firstKey, before)

	kes.stop()

	t.Run("readiness answers 503 while KES is down", func(t *testing.T) {
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusServiceUnavailable, time.Minute)
	})

	t.Run("an SSE-KMS PUT is 503 and stores nothing", func(t *testing.T) {
		rootkmsAssertRefusedDuringOutage(t, s3c, direct, bucket, "during-outage", firstKey)
	})

	kes.restart(t)
	rootkmsAssertRecovery(t, gw, s3c, direct, bucket, laterKey)

	t.Run("an object written before the outage reads back", func(t *testing.T) {
		assertSameBytes(t, "GET of the object written before the outage", rootkmsGet(t, s3c, bucket, "before"), before)
	})
}

// rootkmsMCFlow runs, with mc against alias, the flow of a user who creates
// a KMS key and makes it a bucket's default: admin kms key
// create/status/list, mb, encrypt set SSE-KMS, cp, stat, cat, ls. It checks
// that the backend holds ciphertext and returns what it uploaded.
// alsoListed are keys `mc admin kms key list` must show besides key.
func rootkmsMCFlow(t *testing.T, mc *harness.MCClient, alias string, backend *harness.MinIO, bucket, key string, alsoListed ...string) map[string][]byte {
	t.Helper()
	target := alias + "/" + bucket
	t.Run("admin kms key create", func(t *testing.T) {
		mc.Must(t, "admin", "kms", "key", "create", alias, key)
	})
	t.Run("admin kms key status", func(t *testing.T) {
		assertKMSKeyStatusOK(t, mc, alias, key)
	})
	t.Run("admin kms key list", func(t *testing.T) {
		var got struct {
			Status string   `json:"status"`
			Keys   []string `json:"keys"`
		}
		mcflowJSON(t, mc.JSON(t, "admin", "kms", "key", "list", alias), &got)
		for _, want := range append([]string{key}, alsoListed...) {
			if !slices.Contains(got.Keys, want) {
				t.Errorf("mc admin kms key list --json keys = %v, want %s among them", got.Keys, want)
			}
		}
	})
	t.Run("mb and encrypt set SSE-KMS", func(t *testing.T) {
		mc.Must(t, "mb", target)
		var got struct{ Status string }
		mcflowJSON(t, mc.JSON(t, "encrypt", "set", "SSE-KMS", key, target), &got)
		if got.Status != "success" {
			t.Errorf("mc encrypt set --json status = %q, want success", got.Status)
		}
	})

	objects := map[string][]byte{"file": harness.RandomBytes(t, 100*1024+3), "one-byte": {0x5a}}
	dir := t.TempDir()
	for name, data := range objects {
		t.Run("cp stat cat ls of "+name, func(t *testing.T) {
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			mc.Must(t, "cp", file, target+"/"+name)
			st := mcflowStat(t, mc, target+"/"+name)
			if st.Size != int64(len(data)) {
				t.Errorf("mc stat size = %d, want %d", st.Size, len(data))
			}
			for header, want := range map[string]string{
				"X-Amz-Server-Side-Encryption":                "aws:kms",
				"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "arn:aws:kms:" + key,
			} {
				if got := st.Metadata[header]; got != want {
					t.Errorf("mc stat --json metadata %s = %q, want %q", header, got, want)
				}
			}
			if got, want := mcflowEncryptionLine(t, mc, target+"/"+name), "SSE-KMS (arn:aws:kms:"+key+")"; got != want {
				t.Errorf("mc stat Encryption line = %q, want %q", got, want)
			}
			assertSameBytes(t, "mc cat "+name, mc.Must(t, "cat", target+"/"+name).Stdout, data)
			if size, ok := mcListSizes(t, mc, target+"/")[name]; !ok || size != int64(len(data)) {
				t.Errorf("mc ls --json size of %s = %d (listed %v), want %d", name, size, ok, len(data))
			}
			mcflowAssertDARE(t, backend.Client(t), bucket, name, data)
		})
	}
	return objects
}

// rootkmsStartGateway starts the gateway with config as its config file
// and no S3SEAL_KMS_DIR (an empty value counts as unset), so the file's key
// store is the only one. env holds extra variables as name, value pairs,
// e.g. what the file's ${VAR} references name.
func rootkmsStartGateway(t *testing.T, backend *harness.MinIO, config string, env ...string) *harness.Gateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s3seal.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := []harness.GatewayOption{
		harness.WithGatewayEnv("S3SEAL_KMS_DIR", ""),
		harness.WithGatewayEnv("S3SEAL_CONFIG", path),
	}
	for i := 0; i+1 < len(env); i += 2 {
		opts = append(opts, harness.WithGatewayEnv(env[i], env[i+1]))
	}
	return harness.StartGateway(t, backend, opts...)
}

// rootkmsPutKMS uploads data with SSE-KMS under key and fails on error.
func rootkmsPutKMS(t *testing.T, c *s3.Client, bucket, name, key string, data []byte) {
	t.Helper()
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(name),
		Body:                 bytes.NewReader(data),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          aws.String(key),
	})
	if err != nil {
		t.Fatalf("PUT %s/%s with SSE-KMS key %s: %v", bucket, name, key, err)
	}
}

// rootkmsGet reads bucket/name through c and fails on error.
func rootkmsGet(t *testing.T, c *s3.Client, bucket, name string) []byte {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(name)})
	if err != nil {
		t.Fatalf("GET %s/%s: %v", bucket, name, err)
	}
	defer out.Body.Close()
	return readAllOrFatal(t, bucket+"/"+name, out.Body)
}

// rootkmsWantS3Error fails unless err is an S3 error with the HTTP status
// and code.
func rootkmsWantS3Error(t *testing.T, what string, err error, wantStatus int, wantCode string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want %d %s", what, wantStatus, wantCode)
		return
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if code := apiErrorCode(err); status != wantStatus || code != wantCode {
		t.Errorf("%s: got %d %s (%v), want %d %s", what, status, code, err, wantStatus, wantCode)
	}
}

// rootkmsAssertNotOnBackend fails unless bucket/name is absent from the
// backend and no multipart upload of it is pending.
func rootkmsAssertNotOnBackend(t *testing.T, direct *minio.Client, bucket, name string) {
	t.Helper()
	info, err := direct.StatObject(t.Context(), bucket, name, minio.StatObjectOptions{})
	if err == nil {
		t.Errorf("backend has %s/%s (%d bytes), want no object", bucket, name, info.Size)
	} else if code := minio.ToErrorResponse(err).Code; code != "NoSuchKey" {
		t.Errorf("backend StatObject %s/%s: %v, want NoSuchKey", bucket, name, err)
	}
	for u := range direct.ListIncompleteUploads(t.Context(), bucket, name, false) {
		if u.Err != nil {
			t.Errorf("backend ListIncompleteUploads %s/%s: %v", bucket, name, u.Err)
			break
		}
		t.Errorf("backend has a pending multipart upload %s of %s/%s, want none", u.UploadID, bucket, u.Key)
	}
}

// rootkmsWaitReadiness polls the gateway's readiness probe until it answers
// want, and fails the test if it does not within timeout.
func rootkmsWaitReadiness(t *testing.T, endpoint string, want int, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, endpoint+"/minio/health/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness of %s: got %s for %v, want %d", endpoint, last, timeout, want)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rootkmsProc is a peer process started by PID and killed by PID.
type rootkmsProc struct {
	cmd  *exec.Cmd
	out  *rootkmsBuffer
	done chan struct{}
}

func rootkmsStart(t *testing.T, env []string, bin string, args ...string) *rootkmsProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	out := &rootkmsBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", filepath.Base(bin), err)
	}
	p := &rootkmsProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p
}

// stop kills the process and waits for it. Safe to call more than once.
func (p *rootkmsProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *rootkmsProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// rootkmsPeerEnv is the environment of a peer: ours without AWS_*
// settings (AWS_CA_BUNDLE among them).
func rootkmsPeerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// rootkmsMoto is a moto_server (AWS Secrets Manager and KMS) for one test.
type rootkmsMoto struct {
	endpoint string
	proc     *rootkmsProc
}

func (m *rootkmsMoto) addr() string { return strings.TrimPrefix(m.endpoint, "http://") }

// rootkmsStartMoto starts moto_server on a free port, waits until it
// answers and kills it when the test ends.
func rootkmsStartMoto(t *testing.T) *rootkmsMoto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is required (it comes with the machine image's pyenv Python; install it with: pip install 'moto[server]==5.2.1'): %v", err)
	}
	for attempt := 1; ; attempt++ {
		port := harness.FreePort(t)
		m := &rootkmsMoto{endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
		m.proc = rootkmsStart(t, rootkmsPeerEnv(), bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		t.Cleanup(func() {
			m.proc.stop()
			if t.Failed() {
				t.Logf("--- moto_server output (%s) ---\n%s", m.endpoint, rootkmsTail(m.proc.out.String(), 40))
			}
		})
		client := &http.Client{Timeout: 2 * time.Second}
		deadline := time.Now().Add(time.Minute)
		for {
			resp, err := client.Get(m.endpoint + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return m
				}
			}
			if m.proc.exited() || time.Now().After(deadline) {
				break
			}
			select {
			case <-m.proc.done:
			case <-time.After(50 * time.Millisecond):
			}
		}
		if attempt == 3 || !m.proc.exited() {
			t.Fatalf("moto_server on %s did not answer:\n%s", m.endpoint, m.proc.out.String())
		}
		t.Logf("moto_server attempt %d exited early; retrying on another port", attempt)
	}
}

// sdkConfig is an explicit AWS config for calls from the test to moto: no
// environment, no shared files, no AWS_CA_BUNDLE.
func (m *rootkmsMoto) sdkConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(m.endpoint),
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// createKMSKey creates a symmetric KMS key in moto and returns its id.
func (m *rootkmsMoto) createKMSKey(t *testing.T) string {
	t.Helper()
	out, err := kms.NewFromConfig(m.sdkConfig()).CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("create KMS key in moto: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// rootkmsProxy forwards TCP connections from a loopback port to a target.
// down closes the listener and every forwarded connection, so the port
// refuses connections; up listens on the same port again.
type rootkmsProxy struct {
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func rootkmsStartProxy(t *testing.T, target string) *rootkmsProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &rootkmsProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() { p.down(t) })
	return p
}

func (p *rootkmsProxy) endpoint() string { return "http://" + p.addr }

func (p *rootkmsProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	}()
}

func (p *rootkmsProxy) forward(client net.Conn) {
	p.mu.Lock()
	if p.ln == nil { // going down
		p.mu.Unlock()
		client.Close()
		return
	}
	p.conns[client] = struct{}{}
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.drop(client)
		upstream, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[upstream] = struct{}{}
		p.mu.Unlock()
		defer p.drop(upstream)
		copied := make(chan struct{}, 2)
		go func() { io.Copy(upstream, client); copied <- struct{}{} }()
		go func() { io.Copy(client, upstream); copied <- struct{}{} }()
		<-copied // either side closing ends both
	}()
}

func (p *rootkmsProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// down stops accepting and cuts every open connection.
func (p *rootkmsProxy) down(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	if ln != nil {
		ln.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// up listens on the same port again.
func (p *rootkmsProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// rootkmsKES is a KES server for one test.
type rootkmsKES struct {
	endpoint string // https://127.0.0.1:PORT
	caFile   string // PEM of the server certificate
	apiKey   string // dev mode: the API key it printed
	args     []string
	proc     *rootkmsProc
	t        *testing.T
}

// rootkmsStartDevKES starts `kes server --dev` on a free port and reads the
// API key it prints and the certificate it presents.
func rootkmsStartDevKES(t *testing.T) *rootkmsKES {
	t.Helper()
	port := harness.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	k := &rootkmsKES{endpoint: "https://" + addr, args: []string{"server", "--dev", "--addr", addr}, t: t}
	k.start(t)
	banner := k.waitOutput(t, regexp.MustCompile(`API Key\s+(kes:v1:\S+)`))
	k.apiKey = banner[1]
	certs := k.waitTLS(t)
	k.caFile = filepath.Join(t.TempDir(), "kes-ca.pem")
	if err := os.WriteFile(k.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// rootkmsStartConfiguredKES starts a KES server from a config file: admin
// identity admin, a self-signed certificate for 127.0.0.1, and an fs key
// store in a directory of the test, so keys outlive a restart.
func rootkmsStartConfiguredKES(t *testing.T, admin string) *rootkmsKES {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := rootkmsWriteServerCert(t, dir)
	port := harness.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	config := fmt.Sprintf("version: v1\naddress: %s\nadmin:\n  identity: %s\ntls:\n  key: %s\n  cert: %s\nkeystore:\n  fs:\n    path: %s\n",
		addr, admin, keyFile, certFile, filepath.Join(dir, "keys"))
	configFile := filepath.Join(dir, "kes.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &rootkmsKES{endpoint: "https://" + addr, caFile: certFile, args: []string{"server", "--config", configFile}, t: t}
	k.start(t)
	k.waitTLS(t)
	return k
}

func (k *rootkmsKES) start(t *testing.T) {
	t.Helper()
	bin := harness.Tools(t, "kes").KES
	k.proc = rootkmsStart(t, rootkmsPeerEnv(), bin, k.args...)
	p := k.proc
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- kes output (%s) ---\n%s", k.endpoint, rootkmsTail(p.out.String(), 40))
		}
	})
}

// stop kills the server.
func (k *rootkmsKES) stop() { k.proc.stop() }

// restart starts the server again with the same arguments, on the same
// port, and waits until it accepts TLS connections.
func (k *rootkmsKES) restart(t *testing.T) {
	t.Helper()
	k.stop()
	k.start(t)
	k.waitTLS(t)
}

func (k *rootkmsKES) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(k.proc.out.String()); m != nil {
			return m
		}
		if k.proc.exited() || time.Now().After(deadline) {
			t.Fatalf("kes did not print %v (exited %v):\n%s", re, k.proc.exited(), k.proc.out.String())
		}
		select {
		case <-k.proc.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitTLS polls until the server completes a TLS handshake and returns its
// certificate chain.
func (k *rootkmsKES) waitTLS(t *testing.T) []*x509.Certificate {
	t.Helper()
	host := strings.TrimPrefix(k.endpoint, "https://")
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Only to learn the server's certificate; the gateway verifies it.
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", host, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
		if err == nil {
			certs := conn.ConnectionState().PeerCertificates
			conn.Close()
			return certs
		}
		if k.proc.exited() || time.Now().After(deadline) {
			t.Fatalf("kes did not accept TLS connections on %s (%v, exited %v):\n%s", host, err, k.proc.exited(), k.proc.out.String())
		}
		select {
		case <-k.proc.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rootkmsWriteServerCert writes a self-signed server certificate for
// 127.0.0.1.
func rootkmsWriteServerCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kes-rootkms-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.cert"), filepath.Join(dir, "server.key")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: pkcs8}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
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

func rootkmsHex(t *testing.T, n int) string {
	t.Helper()
	return hex.EncodeToString(harness.RandomBytes(t, n))
}

func rootkmsTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exitCodeOfErr returns the exit code carried by an exec error: 0 for
// nil, -1 when the process did not exit normally.
func exitCodeOfErr(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// rootkmsBuffer collects a child process's output.
type rootkmsBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *rootkmsBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *rootkmsBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rootkmsAssertRefusedDuringOutage: an SSE-KMS PUT that needs the
// unreachable key store is refused with 503 and stores nothing.
func rootkmsAssertRefusedDuringOutage(t *testing.T, s3c *s3.Client, direct *minio.Client, bucket, key, kmsKey string) {
	t.Helper()
	_, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(harness.RandomBytes(t, 4096)),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          aws.String(kmsKey),
	})
	rootkmsWantS3Error(t, "PUT SSE-KMS during the outage", err, http.StatusServiceUnavailable, "KMS.KMSInternalException")
	rootkmsAssertNotOnBackend(t, direct, bucket, key)
}

// rootkmsAssertRecovery: once the key store is back, readiness returns to
// 200 in the same gateway process and a freshly created key works.
func rootkmsAssertRecovery(t *testing.T, gw *harness.Gateway, s3c *s3.Client, direct *minio.Client, bucket, newKey string) {
	t.Run("readiness returns to 200 without restarting the gateway", func(t *testing.T) {
		rootkmsWaitReadiness(t, gw.Endpoint, http.StatusOK, time.Minute)
		if gw.Exited() {
			t.Errorf("the gateway process exited during the outage, want it to keep running")
		}
	})
	t.Run("a freshly created key works", func(t *testing.T) {
		mc := harness.MC(t, t.TempDir())
		mc.AliasSet(t, "gw", gw.Endpoint, gw.AccessKey, gw.SecretKey)
		mc.Must(t, "admin", "kms", "key", "create", "gw", newKey)
		data := harness.RandomBytes(t, 20*1024+3)
		rootkmsPutKMS(t, s3c, bucket, "after-recovery", newKey, data)
		assertSameBytes(t, "GET after recovery", rootkmsGet(t, s3c, bucket, "after-recovery"), data)
		mcflowAssertDARE(t, direct, bucket, "after-recovery", data)
	})
}
