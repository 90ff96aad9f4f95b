package kmsclient_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/keystoretest"
)

func TestValidateKeyNameFollowsKES(t *testing.T) {
	for _, name := range []string{"a", "0", "my-key", "MY_KEY", "_a", "a_", "__", "a-b-c", strings.Repeat("k", 80)} {
		if err := kmsclient.ValidateKeyName(name); err != nil {
			t.Errorf("ValidateKeyName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range keystoretest.InvalidNames {
		if err := kmsclient.ValidateKeyName(name); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("ValidateKeyName(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
	}
}

func TestValidateKeyPrefix(t *testing.T) {
	for _, prefix := range []string{"", "a", "a-", "-", "_", strings.Repeat("k", 80)} {
		if err := kmsclient.ValidateKeyPrefix(prefix); err != nil {
			t.Errorf("ValidateKeyPrefix(%q) = %v, want nil", prefix, err)
		}
	}
	for _, prefix := range []string{"*", "a*", "a/", ".", "ä", strings.Repeat("k", 81)} {
		if err := kmsclient.ValidateKeyPrefix(prefix); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("ValidateKeyPrefix(%q) = %v, want %v", prefix, err, kmsclient.ErrInvalidKeyName)
		}
	}
}
