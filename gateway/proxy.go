package gateway

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// copyBuffers are the pooled buffers every streamed body goes through.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyBody streams src to dst through a pooled buffer. A failure to write
// means the client went away and is not an error of the request: only read
// (backend or decryption) errors are returned.
func copyBody(dst io.Writer, src io.Reader) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return copyWith(dst, src, *bp)
}

func copyWith(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	cw := &clientWriter{w: dst}
	n, err := io.CopyBuffer(onlyWriter{cw}, onlyReader{src}, buf)
	if cw.err != nil {
		return n, nil
	}
	return n, err
}

// clientWriter remembers whether writing to the client failed.
type clientWriter struct {
	w   io.Writer
	err error
}

func (c *clientWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// onlyWriter and onlyReader hide ReadFrom/WriteTo so io.CopyBuffer really
// uses the pooled buffer instead of allocating its own.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

// forwardPayload returns the client's verified payload as the body of a
// backend request that does not change it, restoring the integrity headers
// the verifier consumed so the backend can check them too.
func forwardPayload(req *s3Request, h http.Header) (io.Reader, int64, error) {
	p := req.payload
	if p == nil {
		return nil, 0, nil
	}
	if p.Size < 0 {
		return nil, 0, s3err.New(s3err.MissingContentLength, "")
	}
	if p.ContentMD5 != "" {
		h.Set("Content-Md5", p.ContentMD5)
	}
	if p.Checksum.Algorithm != "" {
		h.Set("X-Amz-Checksum-"+p.Checksum.Algorithm, p.Checksum.Value)
	}
	return p.Body, p.Size, nil
}

// passthrough forwards an operation the backend can execute as the client
// asked, re-signed: the operation's query parameters (the rest were dropped
// when it was routed), the headers its route names, and a body within the
// route's limit. Handlers call it only for requests that involve no
// encryption (plaintext buckets, configuration, deletes).
func (s *Server) passthrough(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	rt := req.route
	if rt == nil {
		return s3err.Wrap(s3err.InternalError, errors.New("passthrough of a request without a route"))
	}
	h := allowHeaders(r.Header, rt.headers, passthroughForward)
	body, size, err := forwardPayload(req, h)
	if err != nil {
		return err
	}
	if rt.maxBody != dataBody && size > rt.maxBody {
		return s3err.New(s3err.MaxMessageLengthExceeded, "")
	}
	resp, err := s.backend.do(r.Context(), backendRequest{
		Method: r.Method, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: h, Body: body, Size: size,
	})
	if err != nil {
		return backendError(err)
	}
	defer resp.Body.Close()
	return relay(w, r, resp)
}

// maxRelayedError bounds a backend error document s3seal rewrites.
const maxRelayedError = 64 << 10

var requestIDElement = regexp.MustCompile(`<RequestId>[^<]*</RequestId>`)

// relay copies a backend response to the client unchanged apart from the
// headers s3seal owns, and the request id in an error document, which is
// s3seal's (the one in the X-Amz-Request-Id header, logs and audit record).
func relay(w http.ResponseWriter, r *http.Request, resp *http.Response) error {
	if resp.StatusCode >= 300 && r.Method != http.MethodHead && resp.ContentLength <= maxRelayedError &&
		strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		return relayError(w, resp)
	}
	copyResponseHeader(w.Header(), resp.Header)
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := copyBody(w, resp.Body); err != nil {
		return s3err.Wrap(s3err.InternalError, err)
	}
	return nil
}

func relayError(w http.ResponseWriter, resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRelayedError+1))
	if err != nil {
		return backendError(err)
	}
	if len(body) > maxRelayedError {
		return s3err.Wrap(s3err.InternalError, errors.New("backend error document too large"))
	}
	id := w.Header().Get("X-Amz-Request-Id")
	body = requestIDElement.ReplaceAllLiteral(body, []byte("<RequestId>"+id+"</RequestId>"))
	copyResponseHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}

// backendError turns a failure to talk to the backend into an S3 error.
// Errors that are already S3 errors (from the client's payload) are kept.
func backendError(err error) error {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se
	}
	return &s3err.Error{Code: s3err.ServiceUnavailable, Message: "The backend store is unavailable.", Err: err}
}
