package aws

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.uber.org/goleak"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/keystoretest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMoto.stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestStoreConformance(t *testing.T) {
	m := startMoto(t)
	keystoretest.Run(t, func(t *testing.T) kmsclient.KeyStore {
		m.reset(t)
		return m.newStore(t, "")
	})
}

func TestStoreConformanceWithKMSKey(t *testing.T) {
	m := startMoto(t)
	keystoretest.Run(t, func(t *testing.T) kmsclient.KeyStore {
		m.reset(t)
		return m.newStore(t, m.createKMSKey(t))
	})
}

func TestSecretsAreCreatedWithTheKMSKey(t *testing.T) {
	m := startMoto(t)
	keyID := m.createKMSKey(t)
	s := m.newStore(t, keyID)
	if err := s.Create(t.Context(), "my-key", []byte(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	out, err := m.secrets().DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: awssdk.String("my-key")})
	if err != nil {
		t.Fatal(err)
	}
	if got := awssdk.ToString(out.KmsKeyId); got != keyID {
		t.Errorf("secret's KmsKeyId = %q, want %q", got, keyID)
	}
}

func TestTextValuesAreSecretStrings(t *testing.T) {
	// A KES server reads SecretString, so text records must land there.
	m := startMoto(t)
	s := m.newStore(t, "")
	record := `{"version":1,"algorithm":"AES256","bytes":"AAEC"}`
	if err := s.Create(t.Context(), "my-key", []byte(record)); err != nil {
		t.Fatal(err)
	}
	out, err := m.secrets().GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: awssdk.String("my-key")})
	if err != nil {
		t.Fatal(err)
	}
	if got := awssdk.ToString(out.SecretString); got != record {
		t.Errorf("SecretString = %q, want %q", got, record)
	}
}

func TestNewStoreReadsKeysOfAnEarlierOne(t *testing.T) {
	m := startMoto(t)
	keyID := m.createKMSKey(t)

	first := kmsclient.New(m.newStore(t, keyID), kmsclient.Config{})
	if err := first.CreateKey(t.Context(), "my-key"); err != nil {
		t.Fatal(err)
	}
	dek, err := first.GenerateKey(t.Context(), "my-key", []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := kmsclient.New(m.newStore(t, keyID), kmsclient.Config{})
	defer second.Close()
	got, err := second.Decrypt(t.Context(), "my-key", dek.Ciphertext, []byte("ctx"))
	if err != nil || !bytes.Equal(got, dek.Plaintext) {
		t.Errorf("Decrypt by a new store = %x, %v; want %x", got, err, dek.Plaintext)
	}
	infos, err := second.ListKeys(t.Context(), "*")
	if err != nil || len(infos) != 1 || infos[0].Name != "my-key" || infos[0].CreatedAt.IsZero() {
		t.Errorf("ListKeys = %+v, %v; want my-key with its creation time", infos, err)
	}
}

func TestUnusableKMSKeyFailsClearly(t *testing.T) {
	m := startMoto(t)
	keyID := m.createKMSKey(t)
	s := m.newStore(t, keyID)
	value := []byte(`{"version":1}`)
	if err := s.Create(t.Context(), "my-key", value); err != nil {
		t.Fatal(err)
	}

	if _, err := m.kms().DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: awssdk.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(t.Context(), "my-key")
	if !errors.Is(err, ErrKMSKeyUnusable) || errors.Is(err, kmsclient.ErrUnavailable) || !strings.Contains(err.Error(), "Disabled") {
		t.Errorf("Get with a disabled KMS key = %v, want %v saying Disabled", err, ErrKMSKeyUnusable)
	}
	if err := s.Create(t.Context(), "other", value); !errors.Is(err, ErrKMSKeyUnusable) {
		t.Errorf("Create with a disabled KMS key = %v, want %v", err, ErrKMSKeyUnusable)
	}
	if _, err := s.Status(t.Context()); !errors.Is(err, ErrKMSKeyUnusable) {
		t.Errorf("Status with a disabled KMS key = %v, want %v", err, ErrKMSKeyUnusable)
	}

	// Through the KMS: an error, never a DEK under some other key.
	k := kmsclient.New(s, kmsclient.Config{})
	defer k.Close()
	if dek, err := k.GenerateKey(t.Context(), "my-key", nil); !errors.Is(err, ErrKMSKeyUnusable) {
		t.Errorf("GenerateKey with a disabled KMS key = %x, %v; want %v", dek.Ciphertext, err, ErrKMSKeyUnusable)
	}

	if _, err := m.kms().EnableKey(t.Context(), &kms.EnableKeyInput{KeyId: awssdk.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(t.Context(), "my-key"); err != nil || !bytes.Equal(got, value) {
		t.Errorf("Get after re-enabling = %q, %v; want %q", got, err, value)
	}

	if _, err := m.kms().ScheduleKeyDeletion(t.Context(), &kms.ScheduleKeyDeletionInput{KeyId: awssdk.String(keyID), PendingWindowInDays: awssdk.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "my-key"); !errors.Is(err, ErrKMSKeyUnusable) || !strings.Contains(err.Error(), "PendingDeletion") {
		t.Errorf("Get with a KMS key pending deletion = %v, want %v saying PendingDeletion", err, ErrKMSKeyUnusable)
	}
}

func TestMissingKMSKeyFailsClearly(t *testing.T) {
	m := startMoto(t)
	s := m.newStore(t, "alias/does-not-exist")
	if err := s.Create(t.Context(), "my-key", []byte("v")); !errors.Is(err, ErrKMSKeyUnusable) {
		t.Errorf("Create = %v, want %v", err, ErrKMSKeyUnusable)
	}
}

func TestUnreachableEndpointIsUnavailable(t *testing.T) {
	s, err := New(t.Context(), Config{
		Endpoint:    fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		Region:      testRegion,
		AccessKey:   "testing",
		SecretKey:   "testing",
		MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Status(t.Context()); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("Status = %v, want %v", err, kmsclient.ErrUnavailable)
	}
	if _, err := s.Get(t.Context(), "my-key"); !errors.Is(err, kmsclient.ErrUnavailable) {
		t.Errorf("Get = %v, want %v", err, kmsclient.ErrUnavailable)
	}
}

func TestDefaultCredentialChainWorksWithAPlainHTTPEndpoint(t *testing.T) {
	m := startMoto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// A CA bundle, as this machine sets, must not get in the way of http.
	t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	s, err := New(t.Context(), Config{Endpoint: m.endpoint, Region: testRegion})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	if err := s.Create(t.Context(), "my-key", []byte("v")); err != nil {
		t.Errorf("Create: %v", err)
	}
}

func TestForeignSecretsAreNotListed(t *testing.T) {
	m := startMoto(t)
	s := m.newStore(t, "")
	for _, name := range []string{"app/db-password", "my.secret"} {
		if _, err := m.secrets().CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: awssdk.String(name), SecretString: awssdk.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(t.Context(), "my-key", []byte("v")); err != nil {
		t.Fatal(err)
	}
	names, _, err := s.List(t.Context(), "", "", 0)
	if err != nil || !slices.Equal(names, []string{"my-key"}) {
		t.Errorf("List = %q, %v; want [my-key]", names, err)
	}
}

func TestNewRejectsHalfStaticCredentials(t *testing.T) {
	for _, cfg := range []Config{
		{Region: testRegion, AccessKey: "a"},
		{Region: testRegion, SecretKey: "s"},
		{Region: testRegion, SessionToken: "t"},
	} {
		if _, err := New(t.Context(), cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestStoreRotation(t *testing.T) {
	m := startMoto(t)
	keystoretest.RunRotation(t, func(t *testing.T) kmsclient.KeyStore {
		m.reset(t)
		return m.newStore(t, m.createKMSKey(t))
	})
}
