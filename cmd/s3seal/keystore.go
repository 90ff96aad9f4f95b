package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/kmsclient"
	awsstore "github.com/s3seal/s3seal/kmsclient/aws"
	"github.com/s3seal/s3seal/kmsclient/fs"
	"github.com/s3seal/s3seal/kmsclient/kes"
	"github.com/s3seal/s3seal/kmsclient/kmip"
)

// keyStoreSection is a section of kms.keystore. Open returns the KMS over
// the store it configures: a key store gets s3seal's embedded KMS,
// configured by kms, in front of it; an external KES server is a KMS
// itself and ignores kms. wrap, when not nil, decorates a key store
// before the KMS gets it (call metrics); an external KES server has no
// store to wrap. Errors name the section. Adding a key store is
// adding a section type and its field in keystoreConfig.
type keyStoreSection interface {
	Open(ctx context.Context, kms kmsclient.Config, wrap storeWrapper) (closableKMS, error)
}

// storeWrapper decorates a key store; nil leaves it as it is.
type storeWrapper func(kmsclient.KeyStore) kmsclient.KeyStore

func (w storeWrapper) apply(s kmsclient.KeyStore) kmsclient.KeyStore {
	if w == nil {
		return s
	}
	return w(s)
}

// closableKMS is a KMS that holds resources until it is closed.
type closableKMS interface {
	gateway.KMS
	Close() error
}

var (
	_ keyStoreSection = (*fsKeystoreConfig)(nil)
	_ keyStoreSection = (*awsKeystoreConfig)(nil)
	_ keyStoreSection = (*kesKeystoreConfig)(nil)
	_ keyStoreSection = (*kmipKeystoreConfig)(nil)
	_ closableKMS     = (*kmsclient.KMS)(nil)
	_ closableKMS     = (*kes.Client)(nil)
)

// sections returns the sections that are set, in the order of the fields
// of keystoreConfig (validate allows only one).
func (ks keystoreConfig) sections() []keyStoreSection {
	var sections []keyStoreSection
	if ks.FS != nil {
		sections = append(sections, ks.FS)
	}
	if ks.AWS != nil {
		sections = append(sections, ks.AWS)
	}
	if ks.KES != nil {
		sections = append(sections, ks.KES)
	}
	if ks.KMIP != nil {
		sections = append(sections, ks.KMIP)
	}
	return sections
}

// storeSection is a section whose keys s3seal holds itself, in a
// KeyStore: its External Keys can be copied to another such store
// (s3seal kms migrate).
type storeSection interface {
	OpenStore(ctx context.Context) (kmsclient.KeyStore, error)
}

var (
	_ storeSection = (*fsKeystoreConfig)(nil)
	_ storeSection = (*awsKeystoreConfig)(nil)
	_ storeSection = (*kmipKeystoreConfig)(nil)
)

// OpenStore opens the key directory.
func (c *fsKeystoreConfig) OpenStore(context.Context) (kmsclient.KeyStore, error) {
	store, err := fs.New(c.Path)
	if err != nil {
		return nil, fmt.Errorf("kms.keystore.fs: %w", err)
	}
	return store, nil
}

// Open opens the key directory behind the embedded KMS.
func (c *fsKeystoreConfig) Open(ctx context.Context, kms kmsclient.Config, wrap storeWrapper) (closableKMS, error) {
	store, err := c.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	return kmsclient.New(wrap.apply(store), kms), nil
}

// OpenStore makes no call to AWS: the first request checks the
// credentials.
func (c *awsKeystoreConfig) OpenStore(ctx context.Context) (kmsclient.KeyStore, error) {
	sm := c.SecretsManager
	if sm == nil {
		return nil, errors.New("kms.keystore.aws: secretsmanager is required")
	}
	store, err := awsstore.New(ctx, awsstore.Config{
		Endpoint: sm.Endpoint, Region: sm.Region, KMSKey: sm.KMSKey,
		AccessKey: sm.Credentials.AccessKey, SecretKey: sm.Credentials.SecretKey, SessionToken: sm.Credentials.SessionToken,
	})
	if err != nil {
		return nil, fmt.Errorf("kms.keystore.aws.secretsmanager: %w", err)
	}
	return store, nil
}

// Open opens Secrets Manager behind the embedded KMS.
func (c *awsKeystoreConfig) Open(ctx context.Context, kms kmsclient.Config, wrap storeWrapper) (closableKMS, error) {
	store, err := c.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	return kmsclient.New(wrap.apply(store), kms), nil
}

// OpenStore reads the certificates; it makes no call to the KMIP server:
// the first request connects.
func (c *kmipKeystoreConfig) OpenStore(context.Context) (kmsclient.KeyStore, error) {
	store, err := kmip.New(kmip.Config{
		Endpoint: c.Endpoint,
		CertFile: c.TLS.Client.Cert, KeyFile: c.TLS.Client.Key, CAFile: c.TLS.CA,
	})
	if err != nil {
		return nil, fmt.Errorf("kms.keystore.kmip: %w", err)
	}
	return store, nil
}

// Open opens the KMIP server behind the embedded KMS. KMIP cannot replace
// a stored value, so its keys cannot be rotated (ErrRotationUnsupported).
func (c *kmipKeystoreConfig) Open(ctx context.Context, kms kmsclient.Config, wrap storeWrapper) (closableKMS, error) {
	store, err := c.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	return kmsclient.New(wrap.apply(store), kms), nil
}

// remote reports whether the configured KMS is an external KES server,
// whose every data-key decryption is a network round trip.
func (ks keystoreConfig) remote() bool {
	sections := ks.sections()
	if len(sections) != 1 {
		return false
	}
	_, ok := sections[0].(*kesKeystoreConfig)
	return ok
}

// Open returns a client of the KES servers. An external KES server is the
// KMS itself: it generates and decrypts data keys; s3seal never sees its
// keys. It makes no network call.
func (c *kesKeystoreConfig) Open(_ context.Context, _ kmsclient.Config, _ storeWrapper) (closableKMS, error) {
	return c.client()
}

func (c *kesKeystoreConfig) client() (*kes.Client, error) {
	client, err := kes.New(kes.Config{
		Endpoints: c.Endpoint, APIKey: c.APIKey,
		CertFile: c.TLS.Cert, KeyFile: c.TLS.Key, CAFile: c.TLS.CA,
	})
	if err != nil {
		return nil, fmt.Errorf("kms.keystore.kes: %w", err)
	}
	return client, nil
}
