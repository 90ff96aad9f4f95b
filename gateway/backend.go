package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// BackendConfig says how to reach the backing S3 store.
type BackendConfig struct {
	URL       *url.URL // scheme and host of the store; path-style requests are sent to it
	AccessKey string
	SecretKey string
	Region    string // zero: sigv4.DefaultRegion
	CAFile    string // PEM file of CAs to trust for an https backend; empty: the system pool
	// SessionToken is sent with temporary static credentials; empty: none.
	SessionToken string
	// Credentials, if set, is asked for the credentials before each backend
	// request and overrides AccessKey, SecretKey and SessionToken: a
	// provider that caches and refreshes them (the AWS SDK's default chain:
	// environment, shared config, web identity, instance roles). An error
	// fails the request as the backend being unavailable.
	Credentials func(ctx context.Context) (accessKey, secretKey, sessionToken string, err error)
	// Transport overrides the HTTP transport (tests); nil: a tuned transport.
	Transport http.RoundTripper
}

// backend sends re-signed requests to the backing S3 store.
type backend struct {
	base      *url.URL
	accessKey string
	secretKey string
	token     string
	creds     func(ctx context.Context) (accessKey, secretKey, sessionToken string, err error)
	region    string
	client    *http.Client
	observe   func(method string, status int, err error, d time.Duration)
	keys      sigv4.SigningKeys // the last signing key, reused until the date or the credentials change
}

func newBackend(cfg BackendConfig) (*backend, error) {
	if cfg.URL == nil || cfg.URL.Host == "" {
		return nil, errors.New("backend URL is required")
	}
	region := cfg.Region
	if region == "" {
		region = sigv4.DefaultRegion
	}
	rt := cfg.Transport
	if rt == nil {
		t := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialBulkWrites(&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}),
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: 5 * time.Minute,
			// Bodies pass through byte for byte: never let the transport
			// negotiate and undo gzip behind our back.
			DisableCompression: true,
			WriteBufferSize:    64 << 10,
			ReadBufferSize:     64 << 10,
		}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read backend CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("backend CA file %s: no PEM certificates", cfg.CAFile)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		rt = t
	}
	base := *cfg.URL
	base.Path, base.RawPath, base.RawQuery = "", "", ""
	return &backend{
		base:      &base,
		accessKey: cfg.AccessKey,
		secretKey: cfg.SecretKey,
		token:     cfg.SessionToken,
		creds:     cfg.Credentials,
		region:    region,
		client: &http.Client{
			Transport: rt,
			// S3 answers redirects only for wrong regions; pass them on.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// dialBulkWrites dials with d and wraps each connection in a
// bulkWriteConn.
func dialBulkWrites(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return bulkWriteConn{c}, nil
	}
}

// bulkWriteConn writes request bodies to the store through a pooled copy
// buffer. net/http hands a request body to its connection's ReadFrom,
// which for a plain TCP connection copies through 32 KiB (one write(2)
// per 32 KiB of ciphertext); through copyBuffers it is one per 256 KiB.
// Over TLS the transport writes to its tls.Conn instead, which ReadFrom
// does not see.
type bulkWriteConn struct{ net.Conn }

func (c bulkWriteConn) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(onlyWriter{c.Conn}, onlyReader{r}, *bp)
}

// backendRequest is one request to the store, path-style.
type backendRequest struct {
	Method   string
	Bucket   string
	Object   string
	RawQuery string
	Header   http.Header // forwarded headers; nil: none
	Body     io.Reader   // nil: empty
	Size     int64       // body length; -1 unknown (chunked)
}

// do signs req with the backend's credentials and sends it. Payloads are
// sent as UNSIGNED-PAYLOAD: the gateway has already verified (and usually
// transformed) them, and hashing twice would halve throughput.
func (b *backend) do(ctx context.Context, br backendRequest) (*http.Response, error) {
	u := *b.base
	p := "/"
	if br.Bucket != "" {
		p += br.Bucket
		if br.Object != "" {
			p += "/" + br.Object
		}
	}
	u.Path = p
	u.RawPath = encodePath(p)
	u.RawQuery = br.RawQuery

	var body io.Reader = br.Body
	var tracked *trackingReader
	if body != nil {
		tracked = &trackingReader{r: body}
		body = tracked
	}
	req, err := http.NewRequestWithContext(ctx, br.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build backend request: %w", err)
	}
	req.URL = &u
	if br.Header != nil {
		req.Header = br.Header.Clone()
	}
	switch {
	case body == nil || br.Size == 0:
		req.ContentLength = 0
		req.Body = http.NoBody
	default:
		req.ContentLength = br.Size
	}
	for k := range req.Header {
		if backendForbidden(sigv4.LowerHeaderName(k)) {
			delete(req.Header, k)
		}
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req.Header.Del("Authorization")
	req.Header.Del("X-Amz-Date")
	req.Header.Del("X-Amz-Security-Token")
	ak, sk, token := b.accessKey, b.secretKey, b.token
	if b.creds != nil {
		if ak, sk, token, err = b.creds(ctx); err != nil {
			return nil, fmt.Errorf("backend credentials: %w", err)
		}
	}
	signBackendV4(req, &b.keys, ak, sk, token, b.region, time.Now())
	start := time.Now()
	resp, err := b.client.Do(req)
	if b.observe != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		b.observe(br.Method, status, err, time.Since(start))
	}
	if err != nil {
		// A failed read of the client's payload (bad signature, digest,
		// truncation) is the client's error, not the backend's.
		if tracked != nil && tracked.err != nil {
			return nil, tracked.err
		}
		return nil, fmt.Errorf("backend %s: %w", br.Method, err)
	}
	return resp, nil
}

// trackingReader remembers the first error its source returned other than
// io.EOF, so a transport error can be traced back to the payload.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// handledForward are the client headers a handler that transforms the
// request may pass on to the backend: what describes the object it stores,
// and request options that cannot change which operation the backend runs.
// Copy sources, directives and SSE headers are never among them; a handler
// that needs one sets its own value.
var handledForward = append([]string{
	"x-amz-tagging-directive", "x-amz-expected-bucket-owner", "x-amz-request-payer",
}, objectHeaders...)

// passthroughForward are the headers every passed-through operation may
// forward besides its own.
var passthroughForward = []string{"x-amz-expected-bucket-owner", "x-amz-request-payer"}

// forwardHeader returns the client headers a handler may send to the
// backend (handledForward).
func forwardHeader(in http.Header) http.Header {
	return allowHeaders(in, handledForward)
}

// allowHeaders returns the headers of in that one of the lists names (lower
// case, a trailing '*' matching a prefix), never s3seal's reserved metadata
// nor a header a backend reads as a different operation.
func allowHeaders(in http.Header, lists ...[]string) http.Header {
	out := make(http.Header, 8)
	for k, vv := range in {
		lk := sigv4.LowerHeaderName(k)
		if neverForwarded(lk) || !headerListed(lk, lists) {
			continue
		}
		out[k] = append([]string(nil), vv...)
	}
	return out
}

func headerListed(lk string, lists [][]string) bool {
	for _, list := range lists {
		for _, name := range list {
			if prefix, ok := strings.CutSuffix(name, "*"); ok {
				if strings.HasPrefix(lk, prefix) {
					return true
				}
			} else if lk == name {
				return true
			}
		}
	}
	return false
}

// neverForwarded reports client headers never passed on: s3seal's own
// reserved metadata (set only from what it sealed) and backendForbidden.
func neverForwarded(lk string) bool {
	return crypto.IsReservedHeader(lk) || backendForbidden(lk)
}

// backendForbidden reports headers no request s3seal sends may carry,
// whoever set them: with them a MinIO backend would extract an archive,
// append at an offset, or take the request for one of its internal ones.
func backendForbidden(lk string) bool {
	return strings.HasPrefix(lk, "x-amz-meta-snowball-") || strings.HasPrefix(lk, "x-minio-") || lk == "x-amz-write-offset-bytes"
}

// forwardEncryptedHeader is forwardHeader for a request whose payload the
// gateway encrypts: the client's checksums describe plaintext and must not
// reach the backend, not even as the announcement of an algorithm.
func forwardEncryptedHeader(in http.Header) http.Header {
	out := forwardHeader(in)
	for k := range out {
		lk := sigv4.LowerHeaderName(k)
		if strings.HasPrefix(lk, "x-amz-checksum") || strings.HasPrefix(lk, "x-amz-sdk-checksum") || lk == "content-md5" {
			delete(out, k)
		}
	}
	return out
}

// copyResponseHeader copies backend response headers to w, dropping
// hop-by-hop headers and anything s3seal owns or must not reveal. User
// metadata keys are written in lower case (not canonicalised: read them
// from dst by that key, not with Get).
func copyResponseHeader(dst, src http.Header) {
	for k, vv := range src {
		if crypto.IsReservedHeader(k) {
			continue
		}
		lk := sigv4.LowerHeaderName(k)
		switch {
		case lk == "x-amz-request-id", lk == "x-amz-id-2", lk == "content-length", lk == "server",
			strings.HasPrefix(lk, "x-ratelimit-"),
			lk == "connection", lk == "keep-alive", lk == "transfer-encoding", lk == "trailer",
			strings.HasPrefix(lk, "x-amz-server-side-encryption"):
			continue
		}
		if strings.HasPrefix(lk, "x-amz-meta-") {
			// User metadata names go out in lower case, as S3 and MinIO
			// send them: SDKs keep the name as received (boto3's
			// Metadata["ver"]), and Go's client canonicalised it.
			k = lk
		}
		dst[k] = append([]string(nil), vv...)
	}
}

// encodePath is s3utils.EncodePath without its regular expression for the
// common path that has nothing to encode.
func encodePath(p string) string {
	if p == "" {
		return s3utils.EncodePath(p)
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~', c == '/':
		default:
			return s3utils.EncodePath(p)
		}
	}
	return p
}
