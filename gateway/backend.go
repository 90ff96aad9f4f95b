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
	"github.com/minio/minio-go/v7/pkg/signer"

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
	// Transport overrides the HTTP transport (tests); nil: a tuned transport.
	Transport http.RoundTripper
}

// backend sends re-signed requests to the backing S3 store.
type backend struct {
	base      *url.URL
	accessKey string
	secretKey string
	region    string
	client    *http.Client
	observe   func(method string, status int, err error, d time.Duration)
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
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
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
		region:    region,
		client: &http.Client{
			Transport: rt,
			// S3 answers redirects only for wrong regions; pass them on.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
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
	u.RawPath = s3utils.EncodePath(p)
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
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req.Header.Del("Authorization")
	req.Header.Del("X-Amz-Date")
	req.Header.Del("X-Amz-Security-Token")
	req = signer.SignV4(*req, b.accessKey, b.secretKey, "", b.region)
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

// hopHeaders are connection-level headers a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
}

// forwardHeader returns the client headers to send to the backend: without
// hop-by-hop headers, without those the gateway consumes, and without
// server-side-encryption headers (the backend must never encrypt or be asked
// for a customer key; s3seal does the encryption).
func forwardHeader(in http.Header) http.Header {
	out := in.Clone()
	for _, h := range hopHeaders {
		out.Del(h)
	}
	if c := in.Get("Connection"); c != "" {
		for _, f := range strings.Split(c, ",") {
			out.Del(strings.TrimSpace(f))
		}
	}
	for k := range out {
		lk := strings.ToLower(k)
		switch {
		case strings.HasPrefix(lk, "x-amz-server-side-encryption"),
			strings.HasPrefix(lk, "x-amz-copy-source-server-side-encryption"),
			strings.HasPrefix(lk, "x-forwarded-"),
			lk == "host", lk == "user-agent", lk == "accept-encoding", lk == "content-length":
			delete(out, k)
		}
	}
	return out
}

// forwardEncryptedHeader is forwardHeader for a request whose payload the
// gateway encrypts: the client's checksums describe plaintext and must not
// reach the backend, not even as the announcement of an algorithm.
func forwardEncryptedHeader(in http.Header) http.Header {
	out := forwardHeader(in)
	for k := range out {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-checksum") || strings.HasPrefix(lk, "x-amz-sdk-checksum") || lk == "content-md5" {
			delete(out, k)
		}
	}
	return out
}

// copyResponseHeader copies backend response headers to w, dropping
// hop-by-hop headers and anything s3seal owns or must not reveal.
func copyResponseHeader(dst, src http.Header) {
	for k, vv := range src {
		lk := strings.ToLower(k)
		switch {
		case lk == "x-amz-request-id", lk == "x-amz-id-2", lk == "content-length", lk == "server",
			strings.HasPrefix(lk, "x-ratelimit-"),
			lk == "connection", lk == "keep-alive", lk == "transfer-encoding", lk == "trailer",
			strings.HasPrefix(lk, "x-amz-server-side-encryption"),
			crypto.IsReservedHeader(lk):
			continue
		}
		dst[k] = append([]string(nil), vv...)
	}
}
