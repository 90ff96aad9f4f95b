package test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

// TestRefusedBodyIsNeverParsedAsARequest sends authenticated requests that
// the gateway refuses before reading their bodies, each body holding a
// complete HTTP request of its own, and reads everything that comes back
// on the connection. The body must be discarded or the connection closed:
// if the gateway parsed the leftover body as the next request, a client
// (or a load balancer that shares connections between users) would get
// answers to requests nobody sent — an HTTP request desync.
func TestRefusedBodyIsNeverParsedAsARequest(t *testing.T) {
	t.Parallel()
	backend := harness.StartMinIO(t)
	gw := harness.StartGateway(t, backend)
	if err := gw.Client(t).MakeBucket(t.Context(), "desync", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	smuggled := "GET /minio/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	tests := []struct {
		name, method, path string
		body               []byte
	}{
		{"UploadPart with an invalid part number, small body", http.MethodPut, "/desync/obj?partNumber=0&uploadId=x", []byte(smuggled)},
		{"UploadPart of an unknown upload, small body", http.MethodPut, "/desync/obj?partNumber=1&uploadId=unknown", []byte(smuggled)},
		{"UploadPart with an invalid part number, body over 256 KiB", http.MethodPut, "/desync/obj?partNumber=0&uploadId=x",
			append([]byte(smuggled), bytes.Repeat([]byte(smuggled), 300<<10/len(smuggled))...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			responses := rawExchange(t, gw, tc.method, tc.path, tc.body)
			if len(responses) == 0 {
				t.Fatalf("no response at all")
			}
			if responses[0] < 400 {
				t.Errorf("first answer %d, want a refusal (4xx/5xx)", responses[0])
			}
			if len(responses) > 1 {
				t.Errorf("the connection carried %d answers (first %v) to one request: the refused body was parsed as requests", len(responses), responses[:min(len(responses), 5)])
			}
		})
	}
}

// rawExchange writes one signed request (UNSIGNED-PAYLOAD) on a fresh
// connection and returns the status of every response that arrives until
// the gateway closes the connection or goes quiet for a few seconds.
func rawExchange(t *testing.T, gw *harness.Gateway, method, path string, body []byte) []int {
	t.Helper()
	req, err := http.NewRequest(method, gw.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, gw.AccessKey, gw.SecretKey, "", "us-east-1")
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(gw.Endpoint, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	written := make(chan error, 1)
	go func() { written <- req.Write(conn) }()
	br := bufio.NewReader(conn)
	var statuses []int
	for {
		// A deadline, not a wait: it only ends a connection the gateway
		// keeps open without answering further.
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			var ne net.Error
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !(errors.As(err, &ne) && ne.Timeout()) && !strings.Contains(err.Error(), "connection reset") {
				t.Logf("reading answers: %v", err)
			}
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	conn.Close()
	<-written
	return statuses
}
