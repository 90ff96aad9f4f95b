package gateway

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// Idle deadlines bound how long a connection may make no progress, not how
// long a request may take: a multi-GiB upload over a slow link is fine as
// long as bytes keep arriving, and so is a download to a slow reader.
// http.Server's ReadTimeout and WriteTimeout would cut both off. Instead
// every body read and every response write moves the connection's
// deadline (http.ResponseController) to now+idle, at most every idle/4 so
// that a busy stream does not pay a deadline update per buffer.

const (
	defaultBodyReadIdleTimeout = 60 * time.Second
	defaultWriteIdleTimeout    = 2 * time.Minute
)

var errRequestTimeout = s3err.New(s3err.RequestTimeout, "")

// idleDeadlines installs the idle deadlines on every request.
func (s *Server) idleDeadlines(next http.Handler) http.Handler {
	readIdle := durationOr(s.cfg.BodyReadIdleTimeout, defaultBodyReadIdleTimeout)
	writeIdle := durationOr(s.cfg.WriteIdleTimeout, defaultWriteIdleTimeout)
	if readIdle <= 0 && writeIdle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if writeIdle > 0 {
			// A deadline from an earlier request on this connection
			// must not hit this one.
			_ = rc.SetWriteDeadline(time.Time{})
			w = &idleWriter{ResponseWriter: w, rc: rc, idle: writeIdle}
		}
		// Requests without a body get none: on HTTP/1 the connection's
		// background read (which watches for the client going away)
		// would trip over it and cancel the request.
		if readIdle > 0 && r.Body != nil && r.Body != http.NoBody {
			// On a shallow copy: net/http judges whether the connection
			// can serve another request by the body of its own Request.
			// Replacing that one made a body the handler closed unread
			// look consumed, and its bytes were parsed as the next
			// requests on the connection (a request desync).
			r = r.WithContext(r.Context())
			r.Body = &idleBody{ReadCloser: r.Body, rc: rc, idle: readIdle}
		}
		next.ServeHTTP(w, r)
	})
}

// durationOr returns d, or def for zero.
func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// idleBody fails a read that gets no byte within idle with
// errRequestTimeout.
type idleBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	idle     time.Duration
	extended time.Time // when the deadline was last moved
	err      error     // sticky errRequestTimeout
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Moved before the read, not at the start of the request: time the
	// gateway spends elsewhere (KMS, backend back-pressure) is not the
	// client's idleness.
	if now := time.Now(); now.Sub(b.extended) > b.idle/4 {
		_ = b.rc.SetReadDeadline(now.Add(b.idle))
		b.extended = now
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.err = errRequestTimeout
		return n, b.err
	case errors.Is(err, io.EOF):
		// The body is done: the connection's background read for the
		// next request must not inherit the deadline.
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// idleWriter fails a write that makes no progress within idle.
type idleWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	idle     time.Duration
	extended time.Time
}

func (w *idleWriter) extend() {
	if now := time.Now(); now.Sub(w.extended) > w.idle/4 {
		_ = w.rc.SetWriteDeadline(now.Add(w.idle))
		w.extended = now
	}
}

func (w *idleWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *idleWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

func (w *idleWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
