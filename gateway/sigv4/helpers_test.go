package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3seal/s3seal/gateway/s3err"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The credentials of the AWS S3 documentation examples.
const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// exampleTime is the request time of the AWS S3 documentation examples.
var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// newVerifier returns a Verifier for region us-east-1 whose clock reads now
// and which knows the given access key / secret pairs.
func newVerifier(now time.Time, keys ...string) *Verifier {
	secrets := map[string]string{}
	for i := 0; i+1 < len(keys); i += 2 {
		secrets[keys[i]] = keys[i+1]
	}
	return &Verifier{
		Region: "us-east-1",
		Secret: func(ak string) (string, bool) {
			s, ok := secrets[ak]
			return s, ok
		},
		Now: func() time.Time { return now },
	}
}

// wire returns r in HTTP/1.1 wire format, as a client sends it.
func wire(t testing.TB, r *http.Request) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatalf("write request: %v", err)
	}
	return b.Bytes()
}

// parseWire parses a wire-format request the way net/http's server does, so
// tests see exactly what a gateway handler sees.
func parseWire(t testing.TB, w []byte) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(w)))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	return r
}

// toServer turns a client request into the request a server handler gets.
func toServer(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	return parseWire(t, wire(t, r))
}

// splitWire splits a wire-format request into its head (with the blank line)
// and its body.
func splitWire(t testing.TB, w []byte) (head, body []byte) {
	t.Helper()
	i := bytes.Index(w, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatal("no end of headers in request")
	}
	return w[:i+4], w[i+4:]
}

// wantCode fails unless err is an *s3err.Error of the given code.
func wantCode(t testing.TB, err error, code s3err.Code) {
	t.Helper()
	var e *s3err.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *s3err.Error %s", err, err, code.Name)
	}
	if e.Code.Name != code.Name || e.Code.Status != code.Status {
		t.Fatalf("error code = %s (%d) %q, want %s (%d)", e.Code.Name, e.Code.Status, e.Error(), code.Name, code.Status)
	}
}

// readPayload reads a verified payload to its end.
func readPayload(t testing.TB, res *Result) ([]byte, error) {
	t.Helper()
	if res.Payload == nil {
		return nil, nil
	}
	defer res.Payload.Body.Close()
	return io.ReadAll(res.Payload.Body)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// payloadOf returns n deterministic, non-repeating-looking bytes.
func payloadOf(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// alterHex changes one digit of a hex string, keeping it valid hex.
func alterHex(s string) string {
	b := []byte(s)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return string(b)
}
