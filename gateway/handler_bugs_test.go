package gateway

// Tests of handler behaviour that looks wrong. Each fails today; each
// names what S3 (or s3seal's own documentation) says should happen.

import (
	"net/http"
	"testing"
)

// BUG: a ranged or part GET HEADs the backend first and, when that HEAD is
// not a 200, relays the HEAD's answer (object.go statEncrypted → relay),
// which has no body: the client gets a bare 404 instead of S3's NoSuchKey
// (or NoSuchBucket, or PreconditionFailed) error document.
func TestBugRangeAndPartReadsOfMissingObjectsAnswerAnErrorDocument(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "k", []byte("data"))
	tests := []struct {
		name       string
		target     string
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"a range of a missing key", objectTarget(testBucket, "missing", ""), []string{"Range", "bytes=0-1"}, http.StatusNotFound, "NoSuchKey"},
		{"a part of a missing key", objectTarget(testBucket, "missing", "partNumber=1"), nil, http.StatusNotFound, "NoSuchKey"},
		{"a range in a missing bucket", objectTarget("nobucket", "k", ""), []string{"Range", "bytes=0-1"}, http.StatusNotFound, "NoSuchBucket"},
		{"a range with a failed If-Match", objectTarget(testBucket, "k", ""), []string{"Range", "bytes=0-1", "If-Match", `"nope"`}, http.StatusPreconditionFailed, "PreconditionFailed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodGet, tc.target, nil, tc.header...)
			if res.status != tc.wantStatus || res.code() != tc.wantCode {
				t.Errorf("GET: %v (code %q), want %d with an error document %s", res, res.code(), tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// BUG: crypto.ParseRange documents that "bytes=-n" on an empty object
// yields a zero length "so the gateway answers 200 with the empty object";
// getObject (writeRange with n == 0) and headObject answer 206 with the
// malformed Content-Range "bytes 0--1/0" instead.
func TestBugSuffixRangeOfAnEmptyObjectAnswersTheEmptyObject(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "empty", nil)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			res := g.do(method, objectTarget(testBucket, "empty", ""), nil, "Range", "bytes=-1")
			if res.status != http.StatusOK || len(res.body) != 0 {
				t.Errorf("%s Range bytes=-1 of an empty object: %v, want 200 with the empty object", method, res)
			}
			if got := res.header.Get("Content-Range"); got != "" {
				t.Errorf("%s Content-Range %q, want none", method, got)
			}
		})
	}
}

// BUG: upload() checks that an upload id belongs to the object named in the
// request only when it loads the upload record; a cached upload state is
// returned for any object of the bucket. A part for another object then
// fails to unseal and answers 500 ObjectTampered (after a restart, with a
// cold cache, the same request answers 404 NoSuchUpload).
func TestBugAnotherObjectsUploadIDIsNoSuchUpload(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k")
	g.uploadParts(testBucket, "k", id, [][]byte{[]byte("first part")}) // caches the upload state
	res := g.do(http.MethodPut, objectTarget(testBucket, "other", partQuery(id, 1)), []byte("x"))
	if res.status != http.StatusNotFound || res.code() != "NoSuchUpload" {
		t.Errorf("UploadPart naming another object's upload: %v (code %q), want 404 NoSuchUpload", res, res.code())
	}
}

// BUG: GET ?partNumber=0 (or 10001) answers 400 InvalidArgument, as S3
// does, but HEAD ?partNumber=0 answers 416 InvalidPartNumber: headObject
// parses the number without getObjectPart's 1..10000 check.
func TestBugHeadAndGetAgreeOnPartNumbersOutOfRange(t *testing.T) {
	g := newTestGateway(t, nil)
	g.put(testBucket, "k", []byte("data"))
	for _, part := range []string{"0", "10001", "-1"} {
		t.Run("partNumber="+part, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				res := g.do(method, objectTarget(testBucket, "k", "partNumber="+part), nil)
				if res.status != http.StatusBadRequest {
					t.Errorf("%s: status %d, want 400 (InvalidArgument)", method, res.status)
				}
			}
		})
	}
}
