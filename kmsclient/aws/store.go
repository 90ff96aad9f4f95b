package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/s3seal/s3seal/kmsclient"
)

// Defaults for Config's zero values.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 3
)

// ErrKMSKeyUnusable is returned, wrapped with the key and the reason, when
// the KMS key protecting the secrets cannot be used: it does not exist, is
// disabled or pending deletion, or Secrets Manager failed to encrypt or
// decrypt with it.
var ErrKMSKeyUnusable = errors.New("KMS key cannot protect secrets")

// Config configures a Store.
type Config struct {
	// Endpoint is the Secrets Manager (and KMS) endpoint URL, e.g.
	// http://127.0.0.1:5000 for moto. Empty means AWS's endpoint for
	// Region. Plain http is allowed.
	Endpoint string

	// Region is the AWS region. Required unless credentials come from
	// the SDK's default chain, which may supply one.
	Region string

	// KMSKey is the id, ARN or alias of the KMS key new secrets are
	// encrypted with. Empty means the account's default key for Secrets
	// Manager (aws/secretsmanager) and no key-state checks.
	KMSKey string

	// AccessKey, SecretKey and SessionToken are static credentials. All
	// empty means the SDK's default chain (environment, shared files, web
	// identity, container and instance roles).
	AccessKey    string
	SecretKey    string
	SessionToken string

	// Timeout bounds each call, retries included. Zero means
	// DefaultTimeout.
	Timeout time.Duration

	// MaxAttempts bounds the tries of one call, including the first.
	// Zero means DefaultMaxAttempts.
	MaxAttempts int
}

// Store keeps keys as secrets in AWS Secrets Manager. It is safe for
// concurrent use.
type Store struct {
	secrets   *secretsmanager.Client
	kms       *kms.Client
	kmsKey    string
	endpoint  string
	timeout   time.Duration
	transport *http.Transport
}

var (
	_ kmsclient.KeyStore   = (*Store)(nil)
	_ kmsclient.KeyUpdater = (*Store)(nil)
)

// New returns a Store for cfg. It makes no network call; use Status to
// check that the store is reachable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	static := cfg.AccessKey != "" || cfg.SecretKey != "" || cfg.SessionToken != ""
	if static && (cfg.AccessKey == "" || cfg.SecretKey == "") {
		return nil, errors.New("aws secrets manager: static credentials need both an access key and a secret key")
	}

	// The SDK clients get a transport of their own, not one from
	// LoadDefaultConfig: that one would carry settings such as
	// AWS_CA_BUNDLE into calls to an explicitly configured endpoint, and
	// this one can be closed.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16
	awsCfg := awssdk.Config{
		Region:     cfg.Region,
		HTTPClient: &http.Client{Transport: transport},
		Retryer: func() awssdk.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxAttempts
				o.MaxBackoff = 2 * time.Second
			})
		},
	}
	if static {
		awsCfg.Credentials = awssdk.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken))
	} else {
		opts := []func(*config.LoadOptions) error{config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(cfg.Timeout))}
		if cfg.Region != "" {
			opts = append(opts, config.WithRegion(cfg.Region))
		}
		base, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("aws secrets manager: load default credentials: %w", err)
		}
		awsCfg.Credentials = base.Credentials
		awsCfg.Region = base.Region
	}
	if awsCfg.Region == "" {
		return nil, errors.New("aws secrets manager: no region configured")
	}

	var endpoint *string
	if cfg.Endpoint != "" {
		endpoint = awssdk.String(cfg.Endpoint)
	}
	s := &Store{
		secrets: secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) { o.BaseEndpoint = endpoint }),
		kms:     kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = endpoint }),
		kmsKey:  cfg.KMSKey,
		timeout: cfg.Timeout,
		endpoint: func() string {
			if cfg.Endpoint != "" {
				return cfg.Endpoint
			}
			return "https://secretsmanager." + awsCfg.Region + ".amazonaws.com"
		}(),
		transport: transport,
	}
	return s, nil
}

// String names the store in status reports.
func (s *Store) String() string { return s.endpoint }

// Create stores value as a new secret, or returns kmsclient.ErrKeyExists,
// kmsclient.ErrInvalidKeyName or ErrKMSKeyUnusable.
func (s *Store) Create(ctx context.Context, name string, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.checkKMSKey(ctx); err != nil {
		return fmt.Errorf("aws secrets manager: create %q: %w", name, err)
	}
	in := &secretsmanager.CreateSecretInput{Name: awssdk.String(name)}
	if utf8.Valid(value) {
		in.SecretString = awssdk.String(string(value))
	} else {
		in.SecretBinary = value
	}
	if s.kmsKey != "" {
		in.KmsKeyId = awssdk.String(s.kmsKey)
	}
	if _, err := s.secrets.CreateSecret(ctx, in); err != nil {
		if _, ok := errors.AsType[*smtypes.ResourceExistsException](err); ok {
			return kmsclient.ErrKeyExists
		}
		return s.fail(ctx, "create", name, err)
	}
	return nil
}

// Get returns the secret's value, or kmsclient.ErrKeyNotFound,
// kmsclient.ErrInvalidKeyName or ErrKMSKeyUnusable.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.checkKMSKey(ctx); err != nil {
		return nil, fmt.Errorf("aws secrets manager: get %q: %w", name, err)
	}
	out, err := s.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(name)})
	if err != nil {
		if _, ok := errors.AsType[*smtypes.ResourceNotFoundException](err); ok {
			return nil, kmsclient.ErrKeyNotFound
		}
		return nil, s.fail(ctx, "get", name, err)
	}
	if out.SecretString != nil {
		return []byte(*out.SecretString), nil
	}
	return out.SecretBinary, nil
}

// Update stores value as the secret's new current version if the current
// one is still old, or returns kmsclient.ErrKeyChanged,
// kmsclient.ErrKeyNotFound or kmsclient.ErrInvalidKeyName.
//
// Secrets Manager has no compare-and-swap, but it refuses a
// ClientRequestToken (the new version's id) that names an existing version
// with other content. The token is derived from old, so of concurrent
// Updates from one value only the first lands, and an Update from a value
// that was ever replaced fails. The token is a SHA-256 of a label and the
// old record, which holds a 256-bit random key: it reveals nothing about
// the key.
func (s *Store) Update(ctx context.Context, name string, old, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	current, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	defer clear(current)
	if !bytes.Equal(current, old) {
		return kmsclient.ErrKeyChanged
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	sum := sha256.Sum256(append([]byte("s3seal key update\x00"), old...))
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           awssdk.String(name),
		ClientRequestToken: awssdk.String(hex.EncodeToString(sum[:])),
	}
	if utf8.Valid(value) {
		in.SecretString = awssdk.String(string(value))
	} else {
		in.SecretBinary = value
	}
	if _, err := s.secrets.PutSecretValue(ctx, in); err != nil {
		switch {
		case isType[*smtypes.ResourceExistsException](err):
			return kmsclient.ErrKeyChanged
		case isType[*smtypes.ResourceNotFoundException](err):
			return kmsclient.ErrKeyNotFound
		}
		return s.fail(ctx, "update", name, err)
	}
	return nil
}

func isType[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// Delete deletes the secret at once, without a recovery window, or returns
// kmsclient.ErrKeyNotFound or kmsclient.ErrInvalidKeyName.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// Force-deleting a missing secret succeeds without an error, so look
	// first.
	names, err := s.listNames(ctx, name)
	if err != nil {
		return s.fail(ctx, "delete", name, err)
	}
	if !slices.Contains(names, name) {
		return kmsclient.ErrKeyNotFound
	}
	_, err = s.secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId:                   awssdk.String(name),
		ForceDeleteWithoutRecovery: awssdk.Bool(true),
	})
	if err != nil {
		if _, ok := errors.AsType[*smtypes.ResourceNotFoundException](err); ok {
			return kmsclient.ErrKeyNotFound
		}
		return s.fail(ctx, "delete", name, err)
	}
	return nil
}

// List implements kmsclient.KeyStore.List. Secrets whose names are not
// valid key names (other applications' secrets) are left out.
func (s *Store) List(ctx context.Context, prefix, start string, n int) ([]string, string, error) {
	if err := kmsclient.ValidateKeyPrefix(prefix); err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	names, err := s.listNames(ctx, prefix)
	if err != nil {
		return nil, "", s.fail(ctx, "list", prefix, err)
	}
	names, next := kmsclient.ListNames(names, prefix, start, n)
	return names, next, nil
}

// listNames returns the names of the secrets, not scheduled for deletion,
// whose names start with prefix, and maybe more.
func (s *Store) listNames(ctx context.Context, prefix string) ([]string, error) {
	in := &secretsmanager.ListSecretsInput{MaxResults: awssdk.Int32(100)}
	if prefix != "" {
		// The name filter matches prefixes, ignoring case; callers
		// apply the exact prefix.
		in.Filters = []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}}
	}
	var names []string
	for pages := secretsmanager.NewListSecretsPaginator(s.secrets, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, secret := range page.SecretList {
			if secret.Name != nil && secret.DeletedDate == nil {
				names = append(names, *secret.Name)
			}
		}
	}
	return names, nil
}

// Status lists at most one secret to prove the endpoint answers and the
// credentials work, and checks the KMS key's state if one is configured.
// An unreachable endpoint is kmsclient.ErrUnavailable.
func (s *Store) Status(ctx context.Context) (kmsclient.StoreState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	if _, err := s.secrets.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: awssdk.Int32(1)}); err != nil {
		return kmsclient.StoreState{}, s.fail(ctx, "status", "", err)
	}
	latency := time.Since(start)
	if err := s.checkKMSKey(ctx); err != nil {
		return kmsclient.StoreState{}, fmt.Errorf("aws secrets manager: status: %w", err)
	}
	return kmsclient.StoreState{Latency: latency}, nil
}

// Close releases idle connections.
func (s *Store) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// checkKMSKey returns ErrKMSKeyUnusable if the configured KMS key is
// missing or not enabled. A caller not allowed to describe the key passes:
// Secrets Manager then decides.
func (s *Store) checkKMSKey(ctx context.Context) error {
	if s.kmsKey == "" {
		return nil
	}
	out, err := s.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: awssdk.String(s.kmsKey)})
	if err != nil {
		if _, ok := errors.AsType[*kmstypes.NotFoundException](err); ok {
			return fmt.Errorf("%w: %q does not exist", ErrKMSKeyUnusable, s.kmsKey)
		}
		if apiErr, ok := errors.AsType[smithy.APIError](err); ok && apiErr.ErrorCode() == "AccessDeniedException" {
			return nil
		}
		if isUnavailable(ctx, err) {
			return fmt.Errorf("describe KMS key %q: %w: %w", s.kmsKey, kmsclient.ErrUnavailable, err)
		}
		return fmt.Errorf("describe KMS key %q: %w", s.kmsKey, err)
	}
	if md := out.KeyMetadata; md != nil && md.KeyState != kmstypes.KeyStateEnabled {
		return fmt.Errorf("%w: %q is %s", ErrKMSKeyUnusable, s.kmsKey, md.KeyState)
	}
	return nil
}

// fail translates an SDK error of op on name.
func (s *Store) fail(ctx context.Context, op, name string, err error) error {
	if _, ok := errors.AsType[*smtypes.DecryptionFailure](err); ok {
		return fmt.Errorf("aws secrets manager: %s %q: %w: %w", op, name, ErrKMSKeyUnusable, err)
	}
	if _, ok := errors.AsType[*smtypes.EncryptionFailure](err); ok {
		return fmt.Errorf("aws secrets manager: %s %q: %w: %w", op, name, ErrKMSKeyUnusable, err)
	}
	if isUnavailable(ctx, err) {
		return fmt.Errorf("aws secrets manager: %s %q: %w: %w", op, name, kmsclient.ErrUnavailable, err)
	}
	return fmt.Errorf("aws secrets manager: %s %q: %w", op, name, err)
}

// isUnavailable reports whether err means the service could not be
// reached or is temporarily failing, as opposed to refusing the request.
// ctx is the per-call context: its deadline passing is unavailability,
// the caller's cancellation is not.
func isUnavailable(ctx context.Context, err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if _, ok := errors.AsType[*smtypes.InternalServiceError](err); ok {
		return true
	}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		if code := re.HTTPStatusCode(); code >= 500 || code == http.StatusTooManyRequests {
			return true
		}
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "Throttling", "RequestLimitExceeded", "ServiceUnavailable", "RequestTimeout":
			return true
		}
	}
	return false
}
