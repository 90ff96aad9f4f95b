package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// stallingBody yields its data, then blocks until release is closed.
type stallingBody struct {
	data    *strings.Reader
	release chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if b.data.Len() > 0 {
		return b.data.Read(p)
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// sendRaw writes a signed request with body to a new connection to srv and
// returns the connection; the body is written in the background.
func sendRaw(t *testing.T, srv *httptest.Server, method, target string, size int64, body io.Reader) (net.Conn, *http.Request) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r, err := http.NewRequest(method, srv.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = size
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	r = signer.SignV4(*r, testRoot, testPassword, "", "us-east-1")
	go func() { _ = r.Write(conn) }()
	return conn, r
}

// TestStalledUploadsTimeOut: a client that stops sending its body gets 400
// RequestTimeout once no byte arrived for the idle timeout, while one that
// keeps sending, however slowly, is not cut off.
func TestStalledUploadsTimeOut(t *testing.T) {
	// Generous against a loaded machine: the steady sender's gaps are a
	// quarter of it.
	const idle = time.Second
	s := newStoreServer(t, &storeBackend{}, func(c *Config) { c.BodyReadIdleTimeout = idle })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	t.Run("a stalled body", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		conn, r := sendRaw(t, srv, http.MethodPut, "/bkt/stalled", 100, &stallingBody{data: strings.NewReader("0123456789"), release: release})
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		resp, err := http.ReadResponse(bufio.NewReader(conn), r)
		if err != nil {
			t.Fatalf("no answer to a stalled upload: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, string(body)) != "RequestTimeout" {
			t.Errorf("status %d body %s, want 400 RequestTimeout", resp.StatusCode, body)
		}
		if d := time.Since(start); d > 8*idle {
			t.Errorf("answered after %v, want about %v", d, idle)
		}
	})

	t.Run("a slow but steady body", func(t *testing.T) {
		pr, pw := io.Pipe()
		const chunks = 8
		go func() {
			for range chunks {
				time.Sleep(idle / 4)
				if _, err := pw.Write([]byte("0123456789")); err != nil {
					return
				}
			}
			pw.Close()
		}()
		conn, r := sendRaw(t, srv, http.MethodPut, "/bkt/slow", 10*chunks, pr)
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d body %s after %v of steady sending, want 200", resp.StatusCode, body, chunks*idle/4)
		}
	})
}

// TestStalledReadersAreCutOff: a GET whose client stops reading is ended
// once no write made progress for the write idle timeout, instead of
// holding the handler (and its backend connection) forever.
func TestStalledReadersAreCutOff(t *testing.T) {
	const idle = 300 * time.Millisecond
	finished := make(chan RequestInfo, 16)
	backend := &storeBackend{}
	s := newStoreServer(t, backend, func(c *Config) {
		c.WriteIdleTimeout = idle
		c.Observe = func(info RequestInfo) { finished <- info }
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	const size = 48 << 20
	w := httptest.NewRecorder()
	put := signedRequest(t, http.MethodPut, "/bkt/big", nil)
	put.Body = io.NopCloser(bytes.NewReader(make([]byte, size)))
	put.ContentLength = size
	s.ServeHTTP(w, put)
	if w.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", w.Code, w.Body.String())
	}
	<-finished

	conn, r := sendRaw(t, srv, http.MethodGet, "/bkt/big", 0, nil)
	br := bufio.NewReaderSize(conn, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != strconv.Itoa(size) {
		t.Fatalf("GET: status %d length %s", resp.StatusCode, resp.Header.Get("Content-Length"))
	}
	// Read nothing more: the gateway must give up on its own.
	select {
	case info := <-finished:
		if info.BytesOut >= size {
			t.Errorf("the handler wrote all %d bytes to a client that read none of them", info.BytesOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the GET handler still runs 10s after its client stopped reading (write idle timeout %v)", idle)
	}
}
