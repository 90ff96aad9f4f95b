package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// inProcess is an http.RoundTripper that serves requests with the gateway's
// own handler, in this process: the console's S3 and admin requests are
// authenticated (SigV4) and authorised (operationAccess, policies) exactly
// as any client's, without a network hop, a second TLS handshake or a
// loopback listener to trust. Response bodies stream through a pipe, so an
// upload or a download is never held in memory.
type inProcess struct {
	handler http.Handler
}

// clientKey carries what the gateway should see of the browser's request:
// its address (logs) and its connection (idle deadlines).
type clientKey struct{}

type clientInfo struct {
	remoteAddr string
	rc         *http.ResponseController // the browser's connection; nil: none
}

func withClient(ctx context.Context, r *http.Request, w http.ResponseWriter) context.Context {
	return context.WithValue(ctx, clientKey{}, clientInfo{remoteAddr: r.RemoteAddr, rc: http.NewResponseController(w)})
}

// RoundTrip implements http.RoundTripper.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	in := req.Clone(ctx)
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	info, _ := ctx.Value(clientKey{}).(clientInfo)
	in.RemoteAddr = info.remoteAddr
	if in.RemoteAddr == "" {
		in.RemoteAddr = "127.0.0.1:0"
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, rc: info.rc, ready: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				w.fail(errors.New("console: the gateway handler panicked"))
				return
			}
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing
			_ = pw.Close()
		}()
		t.handler.ServeHTTP(w, in)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		cancel()
		_ = pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	if w.err != nil {
		cancel()
		return nil, w.err
	}
	resp := &http.Response{
		Status:     strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode: w.status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        w.sent,
		Body:          &cancelBody{ReadCloser: pr, cancel: cancel},
		ContentLength: -1,
		Request:       req,
	}
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = n
	}
	return resp, nil
}

// cancelBody ends the handler's request when the caller closes the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// pipeWriter is the gateway handler's http.ResponseWriter: headers are
// handed to RoundTrip on the first write, the body goes through the pipe.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	body   *io.PipeWriter
	rc     *http.ResponseController
	status int
	err    error
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		return // 100 Continue: the body is already ours to read
	}
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *pipeWriter) fail(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.ready)
	})
	_ = w.body.CloseWithError(err)
}

// Flush implements http.Flusher: the pipe has no buffer.
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }

// SetReadDeadline and SetWriteDeadline pass the gateway's idle deadlines on
// to the browser's connection, which is where the bytes come from and go.
func (w *pipeWriter) SetReadDeadline(t time.Time) error {
	if w.rc == nil {
		return http.ErrNotSupported
	}
	return w.rc.SetReadDeadline(t)
}

func (w *pipeWriter) SetWriteDeadline(t time.Time) error {
	if w.rc == nil {
		return http.ErrNotSupported
	}
	return w.rc.SetWriteDeadline(t)
}
