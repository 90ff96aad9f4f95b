package kes

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/s3seal/s3seal/kmsclient"
)

// DefaultTimeout bounds one request, failover included, when
// Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// maxResponseSize bounds the response bodies the client reads.
const maxResponseSize = 1 << 20

// Config configures a Client.
type Config struct {
	// Endpoints are the URLs of KES servers that share one key store,
	// e.g. https://kes.example.net:7373. A request goes to the server
	// that answered last and fails over to the others when one cannot be
	// reached. At least one is required.
	Endpoints []string

	// APIKey is a KES API key ("kes:v1:..."); the client derives its TLS
	// client certificate from it. Set either APIKey or CertFile and
	// KeyFile.
	APIKey string

	// CertFile and KeyFile are PEM files of a TLS client certificate and
	// its private key. CertFile may hold CA certificates after the
	// client's, and nothing else.
	CertFile string
	KeyFile  string

	// CAFile is a PEM file of the certificates that verify the servers'
	// certificates. Empty means the system roots.
	CAFile string

	// Timeout bounds each call. Zero means DefaultTimeout.
	Timeout time.Duration
}

// Client talks to KES servers. It is safe for concurrent use.
type Client struct {
	endpoints []string
	identity  string
	timeout   time.Duration
	http      *http.Client
	transport *http.Transport
	preferred atomic.Int32 // index of the endpoint that answered last
}

// New returns a Client for cfg. It reads the certificate files but makes
// no network call; use Status to check the servers.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("kes: no endpoint configured")
	}
	endpoints := make([]string, 0, len(cfg.Endpoints))
	for _, e := range cfg.Endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("kes: endpoint %q is not an https://host[:port] URL", e)
		}
		endpoints = append(endpoints, "https://"+u.Host)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kes: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kes: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	var identity string
	switch {
	case cfg.APIKey != "" && (cfg.CertFile != "" || cfg.KeyFile != ""):
		return nil, errors.New("kes: set either an API key or a client certificate, not both")
	case cfg.APIKey != "":
		key, err := parseAPIKey(cfg.APIKey)
		if err != nil {
			return nil, fmt.Errorf("kes: %w", err)
		}
		if identity, err = identityOf(key.Public()); err != nil {
			return nil, fmt.Errorf("kes: %w", err)
		}
		certs := &derivedCert{key: key, identity: identity}
		tlsConfig.GetClientCertificate = certs.get
	case cfg.CertFile != "" && cfg.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kes: load client certificate: %w", err)
		}
		if err := checkClientChain(cert); err != nil {
			return nil, fmt.Errorf("kes: client certificate %s: %w", cfg.CertFile, err)
		}
		if identity, err = identityOf(cert.Leaf.PublicKey); err != nil {
			return nil, fmt.Errorf("kes: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	default:
		return nil, errors.New("kes: no client credentials: set an API key, or a certificate and key file")
	}

	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{
		endpoints: endpoints,
		identity:  identity,
		timeout:   cfg.Timeout,
		http: &http.Client{
			Transport: transport,
			// KES does not redirect the requests the client sends. A
			// redirect would take request bodies, and the trust placed
			// in the answer (a data key), to a server that is not an
			// endpoint: it is answered as an error instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		transport: transport,
	}, nil
}

// checkClientChain reports whether a client certificate chain names one
// client as KES servers identify it: the certificate of its private key
// first, and no other certificate that is not a CA's. KES v0.24 skips CA
// certificates and takes the one that is left, wherever it is; s3seal's
// KES API takes the first and refuses the rest. Either way Identity is
// then what the server sees.
func checkClientChain(cert tls.Certificate) error {
	if cert.Leaf.IsCA {
		return errors.New("the first certificate (that of the key) is a CA certificate: KES servers do not identify clients by one")
	}
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("parse certificate: %w", err)
		}
		if !c.IsCA {
			return errors.New("the file holds more than one certificate that is not a CA's: KES servers refuse such a chain")
		}
	}
	return nil
}

// Identity returns the client's KES identity, the name to put in a KES
// policy or admin setting.
func (c *Client) Identity() string { return c.identity }

// Close releases idle connections.
func (c *Client) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}

// CreateKey asks the server to create a key called name. It returns
// kmsclient.ErrKeyExists, kmsclient.ErrInvalidKeyName,
// kmsclient.ErrNotAllowed, or an error wrapping kmsclient.ErrUnavailable.
func (c *Client) CreateKey(ctx context.Context, name string) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, "/v1/key/create/"+name, nil, nil, false)
}

// ImportKey asks the server to create a key called name holding the given
// 32-byte AES-256 key material (KES's /v1/key/import API; the server's
// policy must allow it). It returns kmsclient.ErrKeyExists,
// kmsclient.ErrInvalidKeyName, kmsclient.ErrNotAllowed, or an error
// wrapping kmsclient.ErrUnavailable. The key material never appears in an
// error.
func (c *Client) ImportKey(ctx context.Context, name string, key []byte) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	if len(key) != 32 {
		return fmt.Errorf("kes: import key %q: key material is %d bytes, want 32", name, len(key))
	}
	req := struct {
		Key    []byte `json:"key"`
		Cipher string `json:"cipher"`
	}{key, "AES256"}
	return c.do(ctx, http.MethodPut, "/v1/key/import/"+name, req, nil, false)
}

// GenerateKey returns a fresh DEK sealed under the key called name, with
// keyContext bound as associated data. It returns kmsclient.ErrKeyNotFound,
// kmsclient.ErrInvalidKeyName, kmsclient.ErrNotAllowed, or an error
// wrapping kmsclient.ErrUnavailable.
func (c *Client) GenerateKey(ctx context.Context, name string, keyContext []byte) (kmsclient.DEK, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return kmsclient.DEK{}, err
	}
	req := struct {
		Context []byte `json:"context,omitempty"`
	}{keyContext}
	var resp struct {
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	}
	if err := c.do(ctx, http.MethodPut, "/v1/key/generate/"+name, req, &resp, true); err != nil {
		return kmsclient.DEK{}, err
	}
	if len(resp.Plaintext) != 32 || len(resp.Ciphertext) == 0 {
		clear(resp.Plaintext)
		return kmsclient.DEK{}, fmt.Errorf("kes: generate key with %q: server returned a %d-byte key, want 32", name, len(resp.Plaintext))
	}
	return kmsclient.DEK{KeyID: name, Plaintext: resp.Plaintext, Ciphertext: resp.Ciphertext}, nil
}

// Decrypt returns the plaintext of a DEK ciphertext sealed under the key
// called name with keyContext. It returns kmsclient.ErrDecrypt,
// kmsclient.ErrKeyNotFound, kmsclient.ErrInvalidKeyName,
// kmsclient.ErrNotAllowed, or an error wrapping kmsclient.ErrUnavailable.
func (c *Client) Decrypt(ctx context.Context, name string, ciphertext, keyContext []byte) ([]byte, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return nil, err
	}
	req := struct {
		Ciphertext []byte `json:"ciphertext"`
		Context    []byte `json:"context,omitempty"`
	}{ciphertext, keyContext}
	var resp struct {
		Plaintext []byte `json:"plaintext"`
	}
	if err := c.do(ctx, http.MethodPut, "/v1/key/decrypt/"+name, req, &resp, true); err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}

// RotateKey returns kmsclient.ErrRotationUnsupported: KES (as of v0.24)
// has no key versions, so a key on a KES server cannot be rotated without
// changing its name.
func (c *Client) RotateKey(context.Context, string) (int, error) {
	return 0, kmsclient.ErrRotationUnsupported
}

// DescribeKey returns the metadata of the key called name. It returns
// kmsclient.ErrKeyNotFound, kmsclient.ErrInvalidKeyName,
// kmsclient.ErrNotAllowed, or an error wrapping kmsclient.ErrUnavailable.
func (c *Client) DescribeKey(ctx context.Context, name string) (kmsclient.KeyInfo, error) {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return kmsclient.KeyInfo{}, err
	}
	var resp struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/key/describe/"+name, nil, &resp, true); err != nil {
		return kmsclient.KeyInfo{}, err
	}
	return kmsclient.KeyInfo{Name: name, CreatedAt: resp.CreatedAt, CreatedBy: resp.CreatedBy}, nil
}

// DeleteKey deletes the key called name. It returns
// kmsclient.ErrKeyNotFound, kmsclient.ErrInvalidKeyName,
// kmsclient.ErrNotAllowed, or an error wrapping kmsclient.ErrUnavailable.
func (c *Client) DeleteKey(ctx context.Context, name string) error {
	if err := kmsclient.ValidateKeyName(name); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/key/delete/"+name, nil, nil, false)
}

// listConcurrency bounds the describe calls ListKeys makes at once.
const listConcurrency = 8

// ListKeys describes the keys that match pattern, sorted by name: "*" (or
// "") for every key, a prefix followed by "*", or an exact name. A
// malformed pattern is kmsclient.ErrInvalidKeyName. A key the client may
// list but not describe is listed by name only.
func (c *Client) ListKeys(ctx context.Context, pattern string) ([]kmsclient.KeyInfo, error) {
	prefix, isPrefix := strings.CutSuffix(pattern, "*")
	if pattern != "" && !isPrefix {
		if err := kmsclient.ValidateKeyName(pattern); err != nil {
			return nil, err
		}
		info, err := c.DescribeKey(ctx, pattern)
		if errors.Is(err, kmsclient.ErrKeyNotFound) {
			return []kmsclient.KeyInfo{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []kmsclient.KeyInfo{info}, nil
	}
	if err := kmsclient.ValidateKeyPrefix(prefix); err != nil {
		return nil, err
	}
	names, err := c.listNames(ctx, prefix)
	if err != nil {
		return nil, err
	}

	infos := make([]kmsclient.KeyInfo, len(names))
	found := make([]bool, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for i, name := range names {
		g.Go(func() error {
			info, err := c.DescribeKey(gctx, name)
			switch {
			case err == nil:
			case errors.Is(err, kmsclient.ErrKeyNotFound):
				return nil // deleted since it was listed
			case errors.Is(err, kmsclient.ErrUnavailable) || gctx.Err() != nil:
				return err
			default:
				info = kmsclient.KeyInfo{Name: name}
			}
			infos[i], found[i] = info, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("kes: list keys: %w", err)
	}
	list := make([]kmsclient.KeyInfo, 0, len(infos))
	for i, info := range infos {
		if found[i] {
			list = append(list, info)
		}
	}
	return list, nil
}

// listNames returns the sorted names with prefix.
func (c *Client) listNames(ctx context.Context, prefix string) ([]string, error) {
	// KES takes the path as a listing prefix but rejects a trailing
	// hyphen, and v0.24 matches "abc*" literally; so it gets the prefix
	// without trailing hyphens, and the exact prefix is applied here.
	query := strings.TrimRight(prefix, "-")
	if query == "" {
		query = "*"
	}
	seen := make(map[string]bool)
	var names []string
	for at := query; at != ""; {
		var resp struct {
			Names      []string `json:"names"`
			ContinueAt string   `json:"continue_at"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/key/list/"+at, nil, &resp, true); err != nil {
			return nil, fmt.Errorf("kes: list keys: %w", err)
		}
		progress := false
		for _, name := range resp.Names {
			if !seen[name] {
				seen[name], progress = true, true
				if strings.HasPrefix(name, prefix) {
					names = append(names, name)
				}
			}
		}
		if !progress || resp.ContinueAt == at || kmsclient.ValidateKeyPrefix(resp.ContinueAt) != nil {
			break
		}
		at = resp.ContinueAt
	}
	slices.Sort(names)
	return names, nil
}

// Status asks every endpoint for its state. The returned Status always
// lists every endpoint; its State is the first reachable server's. The
// error wraps kmsclient.ErrUnavailable when no endpoint answers.
func (c *Client) Status(ctx context.Context) (kmsclient.Status, error) {
	status := kmsclient.Status{Name: "KES", Endpoints: make(map[string]kmsclient.EndpointState, len(c.endpoints))}
	var firstErr error
	answered := false
	for _, endpoint := range c.endpoints {
		var resp struct {
			Version             string `json:"version"`
			OS                  string `json:"os"`
			Arch                string `json:"arch"`
			UpTime              uint64 `json:"uptime"` // seconds
			CPUs                int    `json:"num_cpu"`
			UsableCPUs          int    `json:"num_cpu_used"`
			HeapAlloc           uint64 `json:"mem_heap_used"`
			StackAlloc          uint64 `json:"mem_stack_used"`
			KeyStoreLatency     int64  `json:"keystore_latency"` // milliseconds
			KeyStoreUnreachable bool   `json:"keystore_unreachable"`
		}
		callCtx, cancel := context.WithTimeout(ctx, c.timeout)
		err := c.request(callCtx, endpoint, http.MethodGet, "/v1/status", nil, &resp)
		cancel()
		if err != nil {
			status.Endpoints[endpoint] = kmsclient.EndpointOffline
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		status.Endpoints[endpoint] = kmsclient.EndpointOnline
		if answered {
			continue
		}
		answered = true
		status.State = kmsclient.State{
			Version:           resp.Version,
			KeyStoreLatency:   time.Duration(resp.KeyStoreLatency) * time.Millisecond,
			KeyStoreReachable: !resp.KeyStoreUnreachable,
			KeystoreAvailable: !resp.KeyStoreUnreachable,
			OS:                resp.OS,
			Arch:              resp.Arch,
			UpTime:            time.Duration(resp.UpTime) * time.Second,
			CPUs:              resp.CPUs,
			UsableCPUs:        resp.UsableCPUs,
			HeapAlloc:         resp.HeapAlloc,
			StackAlloc:        resp.StackAlloc,
		}
	}
	if !answered {
		return status, fmt.Errorf("kes: status: %w", firstErr)
	}
	return status, nil
}

// do sends a request to the preferred endpoint, failing over to the others
// when one cannot be reached. A request that may have reached a server is
// sent again only if repeatable.
func (c *Client) do(ctx context.Context, method, path string, in, out any, repeatable bool) error {
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	first := int(c.preferred.Load())
	var err error
	for i := range c.endpoints {
		idx := (first + i) % len(c.endpoints)
		err = c.request(callCtx, c.endpoints[idx], method, path, in, out)
		if !errors.Is(err, kmsclient.ErrUnavailable) {
			c.preferred.Store(int32(idx)) // it answered
			return err
		}
		if ctx.Err() != nil || !(repeatable || errors.Is(err, errDial)) {
			break
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("kes: %s %s: %w", method, path, ctx.Err())
	}
	return err
}

// Transport failures, both wrapped together with kmsclient.ErrUnavailable:
// errDial when no connection could be made (the request never left),
// errTransport for any failure to get an answer.
var (
	errTransport = errors.New("no answer")
	errDial      = errors.New("cannot connect")
)

// request sends one request to endpoint and decodes a 200 answer into out
// (when not nil) or translates an error answer.
func (c *Client) request(ctx context.Context, endpoint, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("kes: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint+path, body)
	if err != nil {
		return fmt.Errorf("kes: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			return fmt.Errorf("kes: %s: %w", endpoint, err) // misconfigured, not down
		}
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			kind := errTransport
			if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "dial" {
				kind = errDial
			}
			return fmt.Errorf("kes: %s: %w: %w: %w", endpoint, kmsclient.ErrUnavailable, kind, err)
		}
		return fmt.Errorf("kes: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	limited := io.LimitReader(resp.Body, maxResponseSize)
	if resp.StatusCode != http.StatusOK {
		return translateError(resp.StatusCode, limited)
	}
	if out == nil {
		io.Copy(io.Discard, limited)
		return nil
	}
	if err := json.NewDecoder(limited).Decode(out); err != nil {
		return fmt.Errorf("kes: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// translateError maps a KES error answer to kmsclient's sentinels. KES
// clients match on status and exact message, and so does this.
func translateError(status int, body io.Reader) error {
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	msg := strings.TrimSpace(string(b))
	var answer struct {
		Message string `json:"message"`
		Error   string `json:"error"` // older servers
	}
	if json.Unmarshal(b, &answer) == nil {
		msg = answer.Message
		if answer.Error != "" {
			msg = answer.Error
		}
	}
	switch {
	case status == http.StatusNotFound && msg == kmsclient.ErrKeyNotFound.Error():
		return kmsclient.ErrKeyNotFound
	case status == http.StatusBadRequest && (msg == kmsclient.ErrKeyExists.Error() || msg == "key does already exist"):
		return kmsclient.ErrKeyExists
	case status == http.StatusBadRequest && msg == kmsclient.ErrDecrypt.Error():
		return kmsclient.ErrDecrypt
	case status == http.StatusForbidden && (msg == kmsclient.ErrNotAllowed.Error() || msg == "prohibited by policy"):
		return kmsclient.ErrNotAllowed
	case status == http.StatusForbidden:
		return fmt.Errorf("kes: %w: %s", kmsclient.ErrNotAllowed, msg)
	case status >= http.StatusInternalServerError:
		return fmt.Errorf("kes: %w: %d %s", kmsclient.ErrUnavailable, status, msg)
	default:
		return fmt.Errorf("kes: %d %s", status, msg)
	}
}

// derivedCert hands out the self-signed certificate of an API key,
// renewing it before it expires.
type derivedCert struct {
	key      ed25519.PrivateKey
	identity string

	mu   sync.Mutex
	cert *tls.Certificate
}

func (d *derivedCert) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.cert == nil || d.cert.Leaf.NotAfter.Sub(now) < clientCertLifetime/3 {
		cert, err := selfSignedClientCert(d.key, d.identity, now)
		if err != nil {
			return nil, err
		}
		d.cert = cert
	}
	return d.cert, nil
}
