package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/s3seal/s3seal/crypto"
)

// BenchmarkDecryptFromBackend measures the GET path's read side on a 64 MiB
// object: a DARE stream fetched over a loopback HTTP connection with the
// backend transport's buffer sizes, decrypted and copied out as
// writePlaintext does, with and without the ciphertext buffered in a
// backendReader. Besides ns/op it reports the process's CPU time per
// operation (the in-process backend's share is the same in both).
func BenchmarkDecryptFromBackend(b *testing.B) {
	const size = 64 << 20
	var key crypto.ObjectKey
	copy(key[:], "a benchmark key, 32 bytes long..")
	enc, err := crypto.EncryptReader(bytes.NewReader(make([]byte, size)), key)
	if err != nil {
		b.Fatal(err)
	}
	ciphertext, err := io.ReadAll(enc)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(ciphertext)))
		w.Write(ciphertext)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{WriteBufferSize: 64 << 10, ReadBufferSize: 64 << 10}}
	for _, buffered := range []bool{false, true} {
		name := "transport-buffer"
		if buffered {
			name = "backend-reader"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			cpu0 := processCPU(b)
			for b.Loop() {
				resp, err := client.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				var body io.Reader = resp.Body
				var br *bufio.Reader
				if buffered {
					br = getBackendReader(resp.Body)
					body = br
				}
				plain, err := crypto.DecryptReader(body, key, 0)
				if err != nil {
					b.Fatal(err)
				}
				n, err := copyReadAhead(discardWriter{}, plain, copyBuffers.Get().(*[]byte))
				if err != nil || n != size {
					b.Fatalf("copied %d bytes, %v; want %d", n, err, size)
				}
				resp.Body.Close()
				if br != nil {
					putBackendReader(br)
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// discardWriter is io.Discard without ReadFrom.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEncryptToBackend measures the PUT path's write side on a 64 MiB
// object: a DARE stream sent as a request body to a loopback HTTP server,
// over connections as net.Dialer makes them and as the backend's
// dialBulkWrites does. cpu-µs/op includes the in-process server, the same
// in both.
func BenchmarkEncryptToBackend(b *testing.B) {
	const size = 64 << 20
	var key crypto.ObjectKey
	copy(key[:], "a benchmark key, 32 bytes long..")
	plaintext := make([]byte, size)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 256<<10) // as MinIO reads, not 8 KiB at a time
		if n, err := io.CopyBuffer(discardWriter{}, onlyReader{r.Body}, buf); err != nil || n != crypto.EncryptedSize(size) {
			http.Error(w, "short body", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	for _, bulk := range []bool{false, true} {
		name := "net-dialer"
		dial := (&net.Dialer{}).DialContext
		if bulk {
			name = "bulk-writes"
			dial = dialBulkWrites(&net.Dialer{})
		}
		client := &http.Client{Transport: &http.Transport{DialContext: dial, WriteBufferSize: 64 << 10, ReadBufferSize: 64 << 10}}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			cpu0 := processCPU(b)
			for b.Loop() {
				enc, err := crypto.EncryptReader(bytes.NewReader(plaintext), key)
				if err != nil {
					b.Fatal(err)
				}
				req, err := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(enc))
				if err != nil {
					b.Fatal(err)
				}
				req.ContentLength = crypto.EncryptedSize(size)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatal(resp.Status)
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
