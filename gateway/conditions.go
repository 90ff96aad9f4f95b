package gateway

import (
	"net/http"
	"strings"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// Read preconditions (If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since) are evaluated by s3seal, never forwarded: the ETag a
// client knows of a multipart object is the one CompleteMultipartUpload
// answered, not the backend's ETag of the ciphertext.

// preconditionStatus evaluates the read preconditions of r, in RFC 9110's
// order (13.2.2), against the object as the client sees it: 0 to proceed,
// else http.StatusPreconditionFailed or http.StatusNotModified. etags are
// the ETags the object version is known by (see objectETags).
func preconditionStatus(r *http.Request, etags []string, lastModified string) int {
	lm, lmErr := http.ParseTime(lastModified)
	if v := r.Header.Values("If-Match"); len(v) > 0 {
		if !etagListMatches(v, etags) {
			return http.StatusPreconditionFailed
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && lmErr == nil && lm.After(t) {
		return http.StatusPreconditionFailed
	}
	if v := r.Header.Values("If-None-Match"); len(v) > 0 {
		if etagListMatches(v, etags) {
			return http.StatusNotModified
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && lmErr == nil && !lm.After(t) {
		return http.StatusNotModified
	}
	return 0
}

// etagListMatches reports whether any entity tag of the header values
// (comma-separated, quoted or not, "*" for any) is one of etags.
func etagListMatches(values []string, etags []string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.Trim(strings.TrimPrefix(strings.TrimSpace(t), "W/"), `"`)
			if t == "*" {
				return true
			}
			for _, etag := range etags {
				if t == strings.Trim(etag, `"`) {
					return true
				}
			}
		}
	}
	return false
}

// checkPreconditions answers a read whose preconditions do not hold and
// reports whether it did: 412 as an S3 error, 304 with the ETag and
// Last-Modified and no body.
func checkPreconditions(w http.ResponseWriter, r *http.Request, etags []string, lastModified string) (answered bool, err error) {
	switch preconditionStatus(r, etags, lastModified) {
	case http.StatusPreconditionFailed:
		return true, s3err.New(s3err.PreconditionFailed, "")
	case http.StatusNotModified:
		h := w.Header()
		h.Set("ETag", `"`+strings.Trim(etags[0], `"`)+`"`)
		if lastModified != "" {
			h.Set("Last-Modified", lastModified)
		}
		w.WriteHeader(http.StatusNotModified)
		return true, nil
	}
	return false, nil
}

// objectETags are the ETags a client may know a stored object version by,
// the one reads answer first: for a multipart object completed with part
// records the one Complete answered, and the backend's, which listings
// show until the listing index carries client ETags (clients such as the
// AWS CLI send a listed ETag as If-Match); else the backend's.
func objectETags(backendETag string, layout partLayout) []string {
	if layout.etag != "" {
		return []string{`"` + layout.etag + `"`, backendETag}
	}
	return []string{backendETag}
}
