package gateway

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// completeDocument is a CompleteMultipartUpload document of n parts with
// the CRC32 and SHA256 checksums current AWS SDKs put in each.
func completeDocument(n int) string {
	var b strings.Builder
	b.WriteString(`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\n  <Part>\n    <ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n    <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>\n    <ETag>\"0123456789abcdef0123456789abcdef\"</ETag>\n    <PartNumber>%d</PartNumber>\n  </Part>", i)
	}
	b.WriteString("\n</CompleteMultipartUpload>")
	return b.String()
}

func TestXMLBodyLimits(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		declared int64 // -1: undeclared
		limit    int64
		wantErr  bool
	}{
		{"the largest legal CompleteMultipartUpload", completeDocument(10000), -2, maxCompleteBody, false},
		{"beyond the limit, declared", strings.Repeat(" ", 100), 2 * maxCompleteBody, maxCompleteBody, true},
		{"beyond the limit, undeclared", strings.Repeat(" ", maxXMLBody+1), -1, maxXMLBody, true},
		{"a bucket encryption document", `<ServerSideEncryptionConfiguration/>`, -2, maxXMLBody, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(tc.body)}
			size := tc.declared
			if size == -2 {
				size = int64(len(tc.body))
			}
			req := &s3Request{payload: &sigv4.Payload{Body: io.NopCloser(body), Size: size}}
			data, err := readXMLBody(req, tc.limit)
			if tc.wantErr {
				if !s3err.HasCode(err, s3err.MaxMessageLengthExceeded) {
					t.Fatalf("got %v, want MaxMessageLengthExceeded", err)
				}
				if tc.declared > tc.limit && body.n != 0 {
					t.Errorf("read %d bytes of a body declared too long, want none", body.n)
				}
				return
			}
			if err != nil || string(data) != tc.body {
				t.Errorf("got %d bytes, %v; want the %d-byte document", len(data), err, len(tc.body))
			}
		})
	}
}
