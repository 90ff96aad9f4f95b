package console

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The in-process transport hands the response over as soon as the handler
// writes its headers and streams the body: a handler that is still writing
// does not hold the whole body in memory or keep the caller waiting.
func TestInProcessTransportStreamsTheResponse(t *testing.T) {
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RemoteAddr != "192.0.2.7:1234" || r.RequestURI != "/b/k?x=1" || r.Host != apiHost {
			t.Errorf("handler saw RemoteAddr %q, RequestURI %q, Host %q", r.RemoteAddr, r.RequestURI, r.Host)
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-S3seal-Key-Version", "2")
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(append([]byte("first:"), body...))
		<-release // the caller must be able to read "first" before this
		_, _ = io.WriteString(w, ":second")
	})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://"+apiHost+"/b/k?x=1", strings.NewReader("upload"))
	req = req.WithContext(withClientAddr(req, "192.0.2.7:1234"))
	resp, err := inProcess{handler: handler}.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("X-S3seal-Key-Version") != "2" {
		t.Errorf("status %d, version %q; want 206, 2", resp.StatusCode, resp.Header.Get("X-S3seal-Key-Version"))
	}
	first := make([]byte, len("first:upload"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first:upload" {
		t.Fatalf("first part = %q, %v", first, err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != ":second" {
		t.Errorf("rest = %q, %v; want :second", rest, err)
	}
}

func TestInProcessTransportSurvivesAPanickingHandler(t *testing.T) {
	handler := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+apiHost+"/", nil)
	if _, err := (inProcess{handler: handler}).RoundTrip(req); err == nil {
		t.Error("RoundTrip succeeded, want an error")
	}
}

func withClientAddr(r *http.Request, addr string) context.Context {
	return context.WithValue(r.Context(), clientKey{}, clientInfo{remoteAddr: addr})
}
