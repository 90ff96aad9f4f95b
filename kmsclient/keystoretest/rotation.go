package keystoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/s3seal/s3seal/kmsclient"
)

// RunRotation checks that a key store supports key rotation: the
// kmsclient.KeyUpdater contract, and an embedded KMS over the store that
// rotates keys, seals under the newest version and keeps opening the
// older ones. newStore is as for Run; the store must implement
// kmsclient.KeyUpdater.
func RunRotation(t *testing.T, newStore func(t *testing.T) kmsclient.KeyStore) {
	tests := []struct {
		name string
		test func(t *testing.T, s kmsclient.KeyStore, u kmsclient.KeyUpdater)
	}{
		{"UpdateReplacesValue", testUpdate},
		{"UpdateFromStaleValueFailsAndKeepsValue", testUpdateStale},
		{"UpdateMissingIsNotFound", testUpdateMissing},
		{"UpdateInvalidNameIsRejected", testUpdateInvalid},
		{"ConcurrentUpdatesFromOneValueHaveOneWinner", testConcurrentUpdate},
		{"RotatedKeySealsUnderNewestAndOpensEveryVersion", testRotate},
		{"RotationIsSeenByAnotherKMSOverTheStore", testRotateShared},
		{"RotatingAMissingKeyIsNotFound", testRotateMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			u, ok := s.(kmsclient.KeyUpdater)
			if !ok {
				s.Close()
				t.Fatalf("%T does not implement kmsclient.KeyUpdater", s)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.test(t, s, u)
		})
	}
}

func testUpdate(t *testing.T, s kmsclient.KeyStore, u kmsclient.KeyUpdater) {
	mustCreate(t, s, "key-1", record("one"))
	mustCreate(t, s, "key-2", record("two"))
	value := record("one, rotated")
	if err := u.Update(t.Context(), "key-1", record("one"), value); err != nil {
		t.Fatalf("Update: %v", err)
	}
	copy(value, "XXXXXXXX")
	if got, want := mustGet(t, s, "key-1"), record("one, rotated"); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want %q", got, want)
	}
	if got, want := mustGet(t, s, "key-2"), record("two"); !bytes.Equal(got, want) {
		t.Errorf("Get(key-2) = %q, want %q untouched", got, want)
	}
}

func testUpdateStale(t *testing.T, s kmsclient.KeyStore, u kmsclient.KeyUpdater) {
	mustCreate(t, s, "key-1", record("one"))
	if err := u.Update(t.Context(), "key-1", record("one"), record("two")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	for _, old := range [][]byte{record("one"), record("never stored")} {
		if err := u.Update(t.Context(), "key-1", old, record("three")); !errors.Is(err, kmsclient.ErrKeyChanged) {
			t.Errorf("Update from %q = %v, want %v", old, err, kmsclient.ErrKeyChanged)
		}
	}
	if got, want := mustGet(t, s, "key-1"), record("two"); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want %q", got, want)
	}
}

func testUpdateMissing(t *testing.T, _ kmsclient.KeyStore, u kmsclient.KeyUpdater) {
	if err := u.Update(t.Context(), "missing", record("a"), record("b")); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("Update(missing) = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
}

func testUpdateInvalid(t *testing.T, _ kmsclient.KeyStore, u kmsclient.KeyUpdater) {
	for _, name := range InvalidNames {
		if err := u.Update(t.Context(), name, record("a"), record("b")); !errors.Is(err, kmsclient.ErrInvalidKeyName) {
			t.Errorf("Update(%q) = %v, want %v", name, err, kmsclient.ErrInvalidKeyName)
		}
	}
}

func testConcurrentUpdate(t *testing.T, s kmsclient.KeyStore, u kmsclient.KeyUpdater) {
	mustCreate(t, s, "contended", record("base"))
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = u.Update(t.Context(), "contended", record("base"), record(fmt.Sprint(i))) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both updated the key", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, kmsclient.ErrKeyChanged):
			t.Errorf("writer %d: Update = %v, want nil or %v", i, err, kmsclient.ErrKeyChanged)
		}
	}
	if winner < 0 {
		t.Fatal("no writer updated the key")
	}
	if got, want := mustGet(t, s, "contended"), record(fmt.Sprint(winner)); !bytes.Equal(got, want) {
		t.Errorf("Get = %q, want the winner's value %q", got, want)
	}
}

// sealed is a data key and the context it was generated with.
type sealed struct {
	dek     kmsclient.DEK
	context []byte
}

func generate(t *testing.T, k *kmsclient.KMS, name string, i int) sealed {
	t.Helper()
	ctx := fmt.Appendf(nil, `{"object":"%d"}`, i)
	dek, err := k.GenerateKey(t.Context(), name, ctx)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return sealed{dek, ctx}
}

func checkOpens(t *testing.T, k *kmsclient.KMS, name string, all []sealed) {
	t.Helper()
	for i, s := range all {
		plain, err := k.Decrypt(t.Context(), name, s.dek.Ciphertext, s.context)
		if err != nil {
			t.Errorf("Decrypt of data key %d (key version %d): %v", i, kmsclient.CiphertextKeyVersion(s.dek.Ciphertext), err)
			continue
		}
		if !bytes.Equal(plain, s.dek.Plaintext) {
			t.Errorf("Decrypt of data key %d returned another key", i)
		}
	}
}

// nocache makes every KMS call read the store, as a KMS on another
// machine that has not cached the key would.
var nocache = kmsclient.Config{CacheExpiry: kmsclient.CacheExpiry{Any: 1, Unused: 1}}

func testRotate(t *testing.T, s kmsclient.KeyStore, _ kmsclient.KeyUpdater) {
	k := kmsclient.New(nonClosing{s}, kmsclient.Config{CreatedBy: "admin"})
	defer k.Close()
	if err := k.CreateKey(t.Context(), "rotating"); err != nil {
		t.Fatal(err)
	}
	var all []sealed
	for version := 1; version <= 3; version++ {
		if version > 1 {
			got, err := k.RotateKey(t.Context(), "rotating")
			if err != nil || got != version {
				t.Fatalf("RotateKey = %d, %v; want %d, nil", got, err, version)
			}
		}
		for i := range 2 {
			s := generate(t, k, "rotating", len(all)+i)
			if got := kmsclient.CiphertextKeyVersion(s.dek.Ciphertext); got != version {
				t.Errorf("data key generated after %d rotations names key version %d, want %d", version-1, got, version)
			}
			all = append(all, s)
		}
		checkOpens(t, k, "rotating", all)
	}
	info, err := k.DescribeKey(t.Context(), "rotating")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "rotating" || info.LatestVersion() != 3 || len(info.Versions) != 3 {
		t.Fatalf("DescribeKey = %+v, want 3 versions", info)
	}
	for i, v := range info.Versions {
		if v.Version != i+1 || v.CreatedBy != "admin" || v.CreatedAt.IsZero() {
			t.Errorf("version %d = %+v", i+1, v)
		}
	}

	// Key version 1 must not open data keys of version 2: the versions are
	// distinct keys, and a ciphertext cannot be relabelled.
	v2 := all[2].dek.Ciphertext
	relabelled := append([]byte{1}, v2[5:]...)[:77]
	if _, err := k.Decrypt(t.Context(), "rotating", relabelled, all[2].context); !errors.Is(err, kmsclient.ErrDecrypt) {
		t.Errorf("Decrypt of a version 2 ciphertext relabelled as version 1 = %v, want %v", err, kmsclient.ErrDecrypt)
	}
	future := bytes.Clone(v2)
	future[4] = 9 // key version 9 does not exist
	if _, err := k.Decrypt(t.Context(), "rotating", future, all[2].context); !errors.Is(err, kmsclient.ErrDecrypt) {
		t.Errorf("Decrypt naming a key version that does not exist = %v, want %v", err, kmsclient.ErrDecrypt)
	}
}

func testRotateShared(t *testing.T, s kmsclient.KeyStore, _ kmsclient.KeyUpdater) {
	a := kmsclient.New(nonClosing{s}, kmsclient.Config{CacheExpiry: kmsclient.CacheExpiry{Any: -1, Unused: -1}})
	defer a.Close()
	b := kmsclient.New(nonClosing{s}, nocache)
	defer b.Close()
	if err := a.CreateKey(t.Context(), "shared"); err != nil {
		t.Fatal(err)
	}
	before := generate(t, a, "shared", 0) // a caches version 1 for good
	if _, err := b.RotateKey(t.Context(), "shared"); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	after := generate(t, b, "shared", 1)
	if got := kmsclient.CiphertextKeyVersion(after.dek.Ciphertext); got != 2 {
		t.Fatalf("data key after rotation names key version %d, want 2", got)
	}
	// a has version 1 cached and never expires it: a data key of version 2
	// makes it reload the key.
	checkOpens(t, a, "shared", []sealed{before, after})
	checkOpens(t, b, "shared", []sealed{before, after})
}

func testRotateMissing(t *testing.T, s kmsclient.KeyStore, _ kmsclient.KeyUpdater) {
	k := kmsclient.New(nonClosing{s}, kmsclient.Config{})
	defer k.Close()
	if _, err := k.RotateKey(t.Context(), "missing"); !errors.Is(err, kmsclient.ErrKeyNotFound) {
		t.Errorf("RotateKey(missing) = %v, want %v", err, kmsclient.ErrKeyNotFound)
	}
}

// nonClosing keeps a KMS from closing the store RunRotation closes, while
// passing Update through.
type nonClosing struct{ kmsclient.KeyStore }

func (nonClosing) Close() error { return nil }

func (n nonClosing) Update(ctx context.Context, name string, old, value []byte) error {
	return n.KeyStore.(kmsclient.KeyUpdater).Update(ctx, name, old, value)
}
