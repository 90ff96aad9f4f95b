package gateway

// Edge cases of reads and uploads, each as S3 (or s3seal's own
// documentation) says it should behave; each failed before its fix.

import (
	"net/http"
	"testing"
)

// A ranged or part GET HEADs the backend first; when that HEAD is not a
// 200 the client still gets S3's error document (NoSuchKey, NoSuchBucket,
// PreconditionFailed), not the HEAD's bodiless answer.
func TestRangeAndPartReadsOfMissingObjectsAnswerAnErrorDocument(t *testing.T) {
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

// "bytes=-n" on an empty object answers 200 with the empty object (as
// crypto.ParseRange documents), never 206 "bytes 0--1/0".
func TestSuffixRangeOfAnEmptyObjectAnswersTheEmptyObject(t *testing.T) {
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

// An upload id belongs to one object, whether its record is cached or
// read from the backend: a part naming another object is NoSuchUpload.
func TestAnotherObjectsUploadIDIsNoSuchUpload(t *testing.T) {
	g := newTestGateway(t, nil)
	id := g.createUpload(testBucket, "k")
	g.uploadParts(testBucket, "k", id, [][]byte{[]byte("first part")}) // caches the upload state
	res := g.do(http.MethodPut, objectTarget(testBucket, "other", partQuery(id, 1)), []byte("x"))
	if res.status != http.StatusNotFound || res.code() != "NoSuchUpload" {
		t.Errorf("UploadPart naming another object's upload: %v (code %q), want 404 NoSuchUpload", res, res.code())
	}
}

// GET and HEAD both answer a partNumber outside 1..10000 with 400
// InvalidArgument, as S3 does.
func TestHeadAndGetAgreeOnPartNumbersOutOfRange(t *testing.T) {
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
