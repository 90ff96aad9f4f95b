package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/kes"
	"github.com/s3seal/s3seal/kmsclient/mem"
)

// runKMS serves `s3seal kms SUBCOMMAND`.
func runKMS(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && args[0] == "migrate":
		return runMigrate(args[1:], getenv, stdout, stderr)
	case len(args) > 0 && args[0] == "key":
		return runKMSKey(args[1:], getenv, stdout, stderr)
	}
	fmt.Fprintln(stderr, "usage: s3seal kms migrate --from FILE --to FILE [--dry-run] [--prefix P]\n       s3seal kms key rotate|status KEY [--endpoint URL]")
	return 2
}

// runMigrate copies External Keys from the key store one config file names
// to the one another names, as `kes migrate` does: each key that the
// destination lacks is created with the same key material, so a gateway
// switched to the destination opens every object and record sealed under
// the source. It is idempotent and so resumable: a key already present with
// the same material is skipped, one present with other material is refused
// (never overwritten) and makes the run fail.
func runMigrate(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("kms migrate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	from := fl.String("from", "", "config file whose kms.keystore holds the keys")
	to := fl.String("to", "", "config file whose kms.keystore receives them")
	dryRun := fl.Bool("dry-run", false, "only say what would be copied")
	prefix := fl.String("prefix", "", "only keys whose names start with this")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *from == "" || *to == "" || fl.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: s3seal kms migrate --from FILE --to FILE [--dry-run] [--prefix P]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	src, err := openMigrationSource(ctx, *from, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal kms migrate: --from:", err)
		return 1
	}
	defer src.Close()
	dst, err := openMigrationTarget(ctx, *to, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal kms migrate: --to:", err)
		return 1
	}
	defer dst.Close()
	sum, err := migrateKeys(ctx, src, dst, *prefix, *dryRun, stdout)
	verb := "copied"
	if *dryRun {
		verb = "would copy"
	}
	fmt.Fprintf(stdout, "%s %d, already present %d, conflicting %d\n", verb, sum.copied, sum.present, sum.conflicts)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal kms migrate:", err)
		return 1
	}
	if sum.conflicts > 0 {
		fmt.Fprintln(stderr, "s3seal kms migrate: some keys were not copied (the lines marked CONFLICT or REFUSED say why); nothing in the destination was overwritten")
		return 1
	}
	return 0
}

// openMigrationSource opens the key store a config file's kms.keystore
// names. Environment overrides of the gateway (S3SEAL_KMS_DIR) do not
// apply: the file alone says which store is meant.
func openMigrationSource(ctx context.Context, path string, getenv func(string) string) (kmsclient.KeyStore, error) {
	section, err := migrationSection(path, getenv)
	if err != nil {
		return nil, err
	}
	s, ok := section.(storeSection)
	if !ok {
		return nil, fmt.Errorf("%s: a KES server never hands out its keys, so it cannot be the source of a migration", path)
	}
	return s.OpenStore(ctx)
}

// openMigrationTarget opens the destination a config file's kms.keystore
// names: a key store, or a KES server, into which keys are imported.
func openMigrationTarget(ctx context.Context, path string, getenv func(string) string) (keyTarget, error) {
	section, err := migrationSection(path, getenv)
	if err != nil {
		return nil, err
	}
	if k, ok := section.(*kesKeystoreConfig); ok {
		client, err := k.client()
		if err != nil {
			return nil, err
		}
		return kesTarget{client}, nil
	}
	store, err := section.(storeSection).OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	return storeTarget{store}, nil
}

func migrationSection(path string, getenv func(string) string) (keyStoreSection, error) {
	cfg, err := loadConfigFile(path, getenv)
	if err != nil {
		return nil, err
	}
	sections := cfg.KMS.Keystore.sections()
	if len(sections) != 1 {
		return nil, fmt.Errorf("%s: kms.keystore must name exactly one key store", path)
	}
	return sections[0], nil
}

// keyTarget is where a migration puts keys.
type keyTarget interface {
	// copyKey makes the destination hold the External Key name, whose
	// stored record is value, unless it does, and says what it did.
	copyKey(ctx context.Context, name string, value []byte, dryRun bool) (string, error)
	Close() error
}

type migration struct{ copied, present, conflicts int }

// migrateKeys copies the keys of src under prefix that dst lacks, one
// progress line per key.
func migrateKeys(ctx context.Context, src kmsclient.KeyStore, dst keyTarget, prefix string, dryRun bool, out io.Writer) (migration, error) {
	var sum migration
	start := ""
	for {
		names, next, err := src.List(ctx, prefix, start, 100)
		if err != nil {
			return sum, fmt.Errorf("list source keys: %w", err)
		}
		for _, name := range names {
			value, err := src.Get(ctx, name)
			if err != nil {
				return sum, fmt.Errorf("read %s: %w", name, err)
			}
			state, err := dst.copyKey(ctx, name, value, dryRun)
			clear(value)
			if err != nil {
				return sum, err
			}
			switch state {
			case "copied", "would copy", "added the newer key versions", "would add the newer key versions", "imported", "would import":
				sum.copied++
			case "already present":
				sum.present++
			default:
				sum.conflicts++
			}
			fmt.Fprintf(out, "%s: %s\n", name, state)
		}
		if next == "" {
			return sum, nil
		}
		start = next
	}
}

// storeTarget is a key store as migration destination: records are
// copied as they are, versions included.
type storeTarget struct{ kmsclient.KeyStore }

func (t storeTarget) copyKey(ctx context.Context, name string, value []byte, dryRun bool) (string, error) {
	return copyKey(ctx, t.KeyStore, name, value, dryRun)
}

// copyKey creates name in dst unless it is there, and says what it did.
func copyKey(ctx context.Context, dst kmsclient.KeyStore, name string, value []byte, dryRun bool) (string, error) {
	existing, err := dst.Get(ctx, name)
	switch {
	case err == nil:
		defer clear(existing)
		if bytes.Equal(existing, value) {
			return "already present", nil
		}
		if !kmsclient.KeyRecordExtends(existing, value) {
			return "CONFLICT: present with other key material, not overwritten", nil
		}
		// The destination holds the key as it was before rotations.
		updater, ok := dst.(kmsclient.KeyUpdater)
		switch {
		case !ok:
			return "CONFLICT: present without the source's newer key versions, and the destination cannot update keys", nil
		case dryRun:
			return "would add the newer key versions", nil
		}
		switch err := updater.Update(ctx, name, existing, value); {
		case err == nil:
			return "added the newer key versions", nil
		case errors.Is(err, kmsclient.ErrKeyChanged):
			return copyKey(ctx, dst, name, value, dryRun)
		default:
			return "", fmt.Errorf("update %s in the destination: %w", name, err)
		}
	case !errors.Is(err, kmsclient.ErrKeyNotFound):
		return "", fmt.Errorf("read %s in the destination: %w", name, err)
	case dryRun:
		return "would copy", nil
	}
	switch err := dst.Create(ctx, name, value); {
	case err == nil:
		return "copied", nil
	case errors.Is(err, kmsclient.ErrKeyExists):
		// Created concurrently: compare again.
		return copyKey(ctx, dst, name, value, dryRun)
	default:
		return "", fmt.Errorf("create %s in the destination: %w", name, err)
	}
}

// kesTarget is a KES server as migration destination. Its keys cannot be
// read, so a key is imported (KES's /v1/key/import) when the server lacks
// it, and an existing one is compared by asking the server to open a data
// key sealed locally under the source's key material. Data keys the
// embedded KMS seals under key version 1 are in KES's layout, so the
// server opens them; a rotated key is refused, as KES has no versions and
// could not open what versions 2 and later sealed.
type kesTarget struct{ client *kes.Client }

func (t kesTarget) Close() error { return t.client.Close() }

func (t kesTarget) copyKey(ctx context.Context, name string, value []byte, dryRun bool) (string, error) {
	key, versions, err := kmsclient.KeyRecordMaterial(name, value)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	defer clear(key)
	if versions > 1 {
		return fmt.Sprintf("REFUSED: rotated (%d versions); a KES server keeps one version per key and could not open data keys sealed under the later ones", versions), nil
	}
	switch same, err := t.holds(ctx, name, value); {
	case err == nil && same:
		return "already present", nil
	case err == nil:
		return "CONFLICT: present with other key material, not overwritten", nil
	case !errors.Is(err, kmsclient.ErrKeyNotFound):
		return "", fmt.Errorf("check %s on the KES server: %w", name, err)
	case dryRun:
		return "would import", nil
	}
	switch err := t.client.ImportKey(ctx, name, key); {
	case err == nil:
		return "imported", nil
	case errors.Is(err, kmsclient.ErrKeyExists):
		return t.copyKey(ctx, name, value, dryRun) // imported concurrently
	default:
		return "", fmt.Errorf("import %s into the KES server: %w", name, err)
	}
}

// holds reports whether the server's key name is the key of the record
// value: a data key sealed locally under value must open there to the same
// bytes. It returns kmsclient.ErrKeyNotFound when the server has no such
// key.
func (t kesTarget) holds(ctx context.Context, name string, value []byte) (bool, error) {
	local := new(mem.Store)
	if err := local.Create(ctx, name, value); err != nil {
		return false, err
	}
	kms := kmsclient.New(local, kmsclient.Config{})
	defer kms.Close()
	probeContext := []byte("s3seal kms migrate probe")
	dek, err := kms.GenerateKey(ctx, name, probeContext)
	if err != nil {
		return false, err
	}
	defer clear(dek.Plaintext)
	got, err := t.client.Decrypt(ctx, name, dek.Ciphertext, probeContext)
	defer clear(got)
	switch {
	case errors.Is(err, kmsclient.ErrDecrypt):
		return false, nil
	case err != nil:
		return false, err
	}
	return bytes.Equal(got, dek.Plaintext), nil
}
