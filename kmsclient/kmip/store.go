package kmip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	ovh "github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/s3seal/s3seal/kmsclient"
)

// DefaultTimeout bounds each call to the KMIP server (connecting
// included) when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// listBatch is how many GetAttributes requests List sends in one KMIP
// message.
const listBatch = 64

// versions are the protocol versions the store speaks, newest first:
// KMIP 1.x, whose Register, Locate, Get and Destroy it uses.
var versions = []ovh.ProtocolVersion{ovh.V1_4, ovh.V1_3, ovh.V1_2, ovh.V1_1, ovh.V1_0}

// Config configures a Store.
type Config struct {
	// Endpoint is the KMIP server's host:port (port 5696 is KMIP's).
	Endpoint string

	// CertFile and KeyFile are the client's TLS certificate and key
	// (PEM): a KMIP server authenticates its clients with mutual TLS.
	CertFile string
	KeyFile  string

	// CAFile holds the PEM certificates that verify the server's
	// certificate. Empty means the system's roots.
	CAFile string

	// Timeout bounds each call, connecting included. Zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Store keeps keys as KMIP Secret Data objects named after the key. It is
// safe for concurrent use; it holds one connection to the server, made on
// first use and made again after a failure.
type Store struct {
	endpoint string
	tls      *tls.Config
	timeout  time.Duration

	// beforeRegister, if set, runs in Create between its first Locate
	// and its Register (tests race a second Create there).
	beforeRegister func()

	mu     sync.Mutex // guards client and closed
	client *kmipclient.Client
	closed bool
}

var _ kmsclient.KeyStore = (*Store)(nil)

// New returns a Store for cfg. It reads the certificate files but makes no
// network call; use Status to check that the server is reachable.
func New(cfg Config) (*Store, error) {
	host, _, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("kmip: endpoint %q: want host:port: %w", cfg.Endpoint, err)
	}
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, errors.New("kmip: a client certificate and key are required (mutual TLS)")
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("kmip: client certificate: %w", err)
	}
	tlsCfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ServerName:   host,
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kmip: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kmip: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Store{endpoint: cfg.Endpoint, tls: tlsCfg, timeout: cfg.Timeout}, nil
}

// Create registers value as a Secret Data object named name.
//
// KMIP has no "create if absent": many servers (PyKMIP among them) accept
// two objects of one name. Create registers its object, then locates the
// name: the object with the lowest unique identifier owns it, and a
// Create whose object does not is ErrKeyExists and destroys its object
// again. Get answers with the same owner. So of concurrent Creates
// exactly one succeeds on a server that hands out increasing identifiers,
// as PyKMIP does; on a server with random identifiers (UUIDs), two
// Creates racing within one round trip may both succeed, and the later
// winner's value is the one Get returns.
func (s *Store) Create(ctx context.Context, name string, value []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	ids, err := s.locate(ctx, name)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		return kmsclient.ErrKeyExists
	}
	if s.beforeRegister != nil {
		s.beforeRegister()
	}
	material := append([]byte(nil), value...)
	resp, err := s.request(ctx, &payloads.RegisterRequestPayload{
		ObjectType: ovh.ObjectTypeSecretData,
		TemplateAttribute: ovh.TemplateAttribute{Attribute: []ovh.Attribute{
			{AttributeName: ovh.AttributeNameName, AttributeValue: ovh.Name{NameValue: name, NameType: ovh.NameTypeUninterpretedTextString}},
		}},
		Object: &ovh.SecretData{
			SecretDataType: ovh.SecretDataTypePassword,
			KeyBlock: ovh.KeyBlock{
				KeyFormatType: ovh.KeyFormatTypeOpaque,
				KeyValue:      &ovh.KeyValue{Plain: &ovh.PlainKeyValue{KeyMaterial: ovh.KeyMaterial{Bytes: &material}}},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("kmip: register %s: %w", name, err)
	}
	id := resp.(*payloads.RegisterResponsePayload).UniqueIdentifier
	ids, err = s.locate(ctx, name)
	if err != nil {
		return err
	}
	if owner, ok := lowest(ids); !ok || owner != id {
		// Another Create of this name came first: withdraw ours. A
		// failure here leaves an object no Get returns.
		_, _ = s.request(ctx, &payloads.DestroyRequestPayload{UniqueIdentifier: id})
		return kmsclient.ErrKeyExists
	}
	return nil
}

// Get returns the value of the object that owns name (see Create).
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return nil, err
	}
	ids, err := s.locate(ctx, name)
	if err != nil {
		return nil, err
	}
	id, ok := lowest(ids)
	if !ok {
		return nil, kmsclient.ErrKeyNotFound
	}
	resp, err := s.request(ctx, &payloads.GetRequestPayload{UniqueIdentifier: id})
	if isReason(err, ovh.ResultReasonItemNotFound) {
		return nil, kmsclient.ErrKeyNotFound // deleted since the Locate
	}
	if err != nil {
		return nil, fmt.Errorf("kmip: get %s: %w", name, err)
	}
	secret, ok := resp.(*payloads.GetResponsePayload).Object.(*ovh.SecretData)
	if !ok {
		return nil, fmt.Errorf("kmip: get %s: object %s is a %T, not Secret Data", name, id, resp.(*payloads.GetResponsePayload).Object)
	}
	value, err := secret.KeyBlock.GetBytes()
	if err != nil {
		return nil, fmt.Errorf("kmip: get %s: %w", name, err)
	}
	return append([]byte(nil), value...), nil
}

// Delete destroys every object named name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	ids, err := s.locate(ctx, name)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return kmsclient.ErrKeyNotFound
	}
	for _, id := range ids {
		_, err := s.request(ctx, &payloads.DestroyRequestPayload{UniqueIdentifier: id})
		if err != nil && !isReason(err, ovh.ResultReasonItemNotFound) {
			return fmt.Errorf("kmip: destroy %s: %w", name, err)
		}
	}
	return nil
}

// List locates every Secret Data object and reads their names, in
// batches. KMIP 1.x cannot match a name prefix, so List costs a round
// trip per listBatch objects the client can see.
func (s *Store) List(ctx context.Context, prefix, start string, n int) ([]string, string, error) {
	if err := kmsclient.ValidateKeyPrefix(prefix); err != nil {
		return nil, "", err
	}
	resp, err := s.request(ctx, &payloads.LocateRequestPayload{Attribute: []ovh.Attribute{
		{AttributeName: ovh.AttributeNameObjectType, AttributeValue: ovh.ObjectTypeSecretData},
	}})
	if err != nil {
		return nil, "", fmt.Errorf("kmip: locate: %w", err)
	}
	ids := resp.(*payloads.LocateResponsePayload).UniqueIdentifier
	var names []string
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), listBatch)]
		ids = ids[len(chunk):]
		reqs := make([]ovh.OperationPayload, len(chunk))
		for i, id := range chunk {
			reqs[i] = &payloads.GetAttributesRequestPayload{UniqueIdentifier: id, AttributeName: []ovh.AttributeName{ovh.AttributeNameName}}
		}
		items, err := s.batch(ctx, reqs...)
		if err != nil {
			return nil, "", fmt.Errorf("kmip: get attributes: %w", err)
		}
		for _, item := range items {
			if item.ResultStatus != ovh.ResultStatusSuccess {
				continue // destroyed since the Locate
			}
			attrs, _ := item.ResponsePayload.(*payloads.GetAttributesResponsePayload)
			if attrs == nil {
				continue
			}
			for _, a := range attrs.Attribute {
				if v, ok := a.AttributeValue.(ovh.Name); ok {
					names = append(names, v.NameValue)
				}
			}
		}
	}
	page, next := kmsclient.ListNames(names, prefix, start, n)
	return page, next, nil
}

// Status times a Discover Versions round trip.
func (s *Store) Status(ctx context.Context) (kmsclient.StoreState, error) {
	began := time.Now()
	if _, err := s.request(ctx, &payloads.DiscoverVersionsRequestPayload{ProtocolVersion: versions}); err != nil {
		if errors.Is(err, kmsclient.ErrUnavailable) {
			return kmsclient.StoreState{}, err
		}
		return kmsclient.StoreState{}, fmt.Errorf("%w: kmip: %v", kmsclient.ErrUnavailable, err)
	}
	return kmsclient.StoreState{Latency: time.Since(began)}, nil
}

// Close closes the connection; later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.client == nil {
		return nil
	}
	err := closeClient(s.client)
	s.client = nil
	return err
}

// locate returns the ids of the Secret Data objects named name.
func (s *Store) locate(ctx context.Context, name string) ([]string, error) {
	resp, err := s.request(ctx, &payloads.LocateRequestPayload{Attribute: []ovh.Attribute{
		{AttributeName: ovh.AttributeNameObjectType, AttributeValue: ovh.ObjectTypeSecretData},
		{AttributeName: ovh.AttributeNameName, AttributeValue: ovh.Name{NameValue: name, NameType: ovh.NameTypeUninterpretedTextString}},
	}})
	if err != nil {
		return nil, fmt.Errorf("kmip: locate %s: %w", name, err)
	}
	return resp.(*payloads.LocateResponsePayload).UniqueIdentifier, nil
}

// resultError is an operation the server answered with a failure.
type resultError struct {
	op     ovh.Operation
	reason ovh.ResultReason
	msg    string
}

func (e *resultError) Error() string {
	return fmt.Sprintf("%s failed: %s: %s", ttlv.EnumStr(e.op), ttlv.EnumStr(e.reason), e.msg)
}

func isReason(err error, reason ovh.ResultReason) bool {
	var re *resultError
	return errors.As(err, &re) && re.reason == reason
}

// request sends one operation and returns its answer, or a *resultError.
func (s *Store) request(ctx context.Context, req ovh.OperationPayload) (ovh.OperationPayload, error) {
	items, err := s.batch(ctx, req)
	if err != nil {
		return nil, err
	}
	item := items[0]
	if item.ResultStatus != ovh.ResultStatusSuccess {
		return nil, &resultError{op: req.Operation(), reason: item.ResultReason, msg: item.ResultMessage}
	}
	return item.ResponsePayload, nil
}

// batch sends reqs in one message, within the store's timeout, and
// returns one item per request. A failure to talk to the server wraps
// kmsclient.ErrUnavailable and drops the connection.
func (s *Store) batch(ctx context.Context, reqs ...ovh.OperationPayload) ([]ovh.ResponseBatchItem, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	client, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	items, err := sendBatch(ctx, client, reqs)
	if err == nil && len(items) != len(reqs) {
		err = fmt.Errorf("%d answers to %d requests", len(items), len(reqs))
	}
	if err != nil {
		s.drop(client)
		return nil, fmt.Errorf("%w: kmip %s: %v", kmsclient.ErrUnavailable, s.endpoint, err)
	}
	return items, nil
}

// sendBatch is client.Batch with its panics returned as errors.
// kmipclient v0.3.3 closes a connection's send channel when its read loop
// fails (the server went away) while a request may be sending on it: a
// send on a closed channel, which panics. The store then drops the
// connection like any other broken one.
func sendBatch(ctx context.Context, client *kmipclient.Client, reqs []ovh.OperationPayload) (items []ovh.ResponseBatchItem, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("connection failed: %v", p)
		}
	}()
	return client.Batch(ctx, reqs...)
}

// connect returns the connection, dialling one if there is none.
func (s *Store) connect(ctx context.Context) (*kmipclient.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("kmip: store is closed")
	}
	if s.client != nil {
		return s.client, nil
	}
	client, err := kmipclient.DialContext(ctx, s.endpoint,
		kmipclient.WithTlsConfig(s.tls.Clone()), kmipclient.WithKmipVersions(versions...))
	if err != nil {
		return nil, fmt.Errorf("%w: kmip %s: %v", kmsclient.ErrUnavailable, s.endpoint, err)
	}
	s.client = client
	return client, nil
}

// drop closes client if it is still the store's connection.
func (s *Store) drop(client *kmipclient.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == client {
		s.client = nil
	}
	closeClient(client)
}

// closeClient closes client. kmipclient.Client.Close (v0.3.3) dereferences
// a nil connection when the client's own reconnect after a broken
// connection failed, which is exactly when the store drops it: that panic
// is recovered here, as there is nothing left to close.
func closeClient(client *kmipclient.Client) (err error) {
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	return client.Close()
}

// lowest returns the id that owns a name among ids: the lowest, numbers
// compared as numbers (PyKMIP's ids are decimal counters), anything else
// as strings after every number.
func lowest(ids []string) (string, bool) {
	if len(ids) == 0 {
		return "", false
	}
	best := ids[0]
	for _, id := range ids[1:] {
		if idLess(id, best) {
			best = id
		}
	}
	return best, true
}

func idLess(a, b string) bool {
	na, errA := strconv.ParseUint(a, 10, 64)
	nb, errB := strconv.ParseUint(b, 10, 64)
	switch {
	case errA == nil && errB == nil:
		return na < nb
	case errA == nil:
		return true
	case errB == nil:
		return false
	}
	return a < b
}
