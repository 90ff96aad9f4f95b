package gateway

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/gateway/sigv4"
)

// TestSignBackendV4MatchesMinioGo signs many requests, with awkward paths,
// queries and headers, both with minio-go's signer.SignV4 (which the
// gateway used before and whose signatures MinIO and S3 accept) and with
// signBackendV4 at the same instant: every header and the query sent must
// come out identical.
func TestSignBackendV4MatchesMinioGo(t *testing.T) {
	paths := []string{"/", "/bucket", "/bucket/key", "/bucket/a b/c+d%e", "/bucket/ünï/ço dé", "/bucket/x~y_z-.!*'()",
		"/bucket/dir/", "/bucket/a//b", "/bucket/=&?#;:@$,"}
	queries := []string{"", "uploads", "uploadId=abc&partNumber=3", "list-type=2&prefix=a b&delimiter=/",
		"prefix=a+b%2Bc&max-keys=10", "versionId=&tagging", "b=2&a=1&a=0", "x-id=GetObject&encoding-type=url", "k=%E2%82%AC"}
	headerSets := []map[string][]string{
		{},
		{"Content-Type": {"application/octet-stream"}, "Content-Md5": {"1B2M2Y8AsgTpgAmY7PhCfg=="}},
		{"X-Amz-Meta-Name": {"  spaced   out  "}, "X-Amz-Meta-Multi": {"one", "two"}, "User-Agent": {"ignored"}, "Accept-Encoding": {"gzip"}},
		{"X-Amz-Meta-Unicode": {"é\u00a0ü\u2003x"}, "X-Amz-Server-Side-Encryption": {"AES256"}, "Range": {"bytes=0-99"}},
		{"If-Match": {`"etag"`}, "X-Amz-Copy-Source": {"/src/key%20x"}, "X-Amz-Meta-Tabs": {"a\tb"}},
		{"X-Amz-S3session-Token": {"express"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var keys sigv4.SigningKeys
	for i := range 400 {
		method := []string{http.MethodGet, http.MethodPut, http.MethodHead, http.MethodPost, http.MethodDelete}[rng.IntN(5)]
		path, query := paths[rng.IntN(len(paths))], queries[rng.IntN(len(queries))]
		headers := headerSets[rng.IntN(len(headerSets))]
		token := []string{"", "session-token/with+chars="}[rng.IntN(2)]
		region := []string{"us-east-1", "eu-central-1"}[rng.IntN(2)]
		host := []string{"127.0.0.1:9000", "s3.example.com"}[rng.IntN(2)]
		build := func() *http.Request {
			u := &url.URL{Scheme: "http", Host: host, Path: path, RawQuery: query}
			u.RawPath = pathEscape(path)
			req, err := http.NewRequest(method, u.String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL = u
			for k, vv := range headers {
				for _, v := range vv {
					req.Header.Add(k, v)
				}
			}
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return req
		}
		want := signer.SignV4(*build(), "AKIDEXAMPLE", "secret/key+value", token, region)
		at, err := time.Parse("20060102T150405Z", want.Header.Get("X-Amz-Date"))
		if err != nil {
			t.Fatal(err)
		}
		got := build()
		signBackendV4(got, &keys, "AKIDEXAMPLE", "secret/key+value", token, region, at)
		desc := fmt.Sprintf("#%d %s %s?%s %v token=%q region=%s", i, method, path, query, headers, token, region)
		if got.URL.RawQuery != want.URL.RawQuery {
			t.Errorf("%s: query %q, minio-go %q", desc, got.URL.RawQuery, want.URL.RawQuery)
		}
		if fmt.Sprint(got.Header) != fmt.Sprint(want.Header) {
			t.Errorf("%s:\n headers   %v\n minio-go %v", desc, got.Header, want.Header)
		}
	}
}

func TestSignBackendV4Anonymous(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/b/k", nil)
	signBackendV4(req, &sigv4.SigningKeys{}, "", "", "", "us-east-1", time.Now())
	if len(req.Header) != 0 {
		t.Errorf("anonymous request got headers %v", req.Header)
	}
}

func pathEscape(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// BenchmarkBackendSign compares minio-go's signer with signBackendV4 on a
// typical backend GET.
func BenchmarkBackendSign(b *testing.B) {
	build := func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/bench-sse-kms/small/0001", nil)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req.Header.Set("Range", "bytes=0-4127")
		return req
	}
	b.Run("minio-go SignV4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			signer.SignV4(*build(), "AKIDEXAMPLE", "secret", "", "us-east-1")
		}
	})
	b.Run("signBackendV4", func(b *testing.B) {
		var keys sigv4.SigningKeys
		b.ReportAllocs()
		for b.Loop() {
			signBackendV4(build(), &keys, "AKIDEXAMPLE", "secret", "", "us-east-1", time.Now())
		}
	})
}

// TestEncodePathMatchesS3utils holds encodePath's fast path to
// s3utils.EncodePath: every byte alone and between safe characters, and
// random strings.
func TestEncodePathMatchesS3utils(t *testing.T) {
	var inputs []string
	for c := range 256 {
		inputs = append(inputs, string(rune(c)), string([]byte{byte(c)}), "/b/k"+string([]byte{byte(c)})+"x", string([]byte{byte(c)})+"/")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("aZ09-_.~/ +%?#&=é€\u00a0\x00\xff")
	for range 2000 {
		r := make([]rune, rng.IntN(12))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(r))
	}
	inputs = append(inputs, "", "/", "/bench-sse-kms/small/0001")
	for _, in := range inputs {
		if got, want := encodePath(in), s3utils.EncodePath(in); got != want {
			t.Errorf("encodePath(%q) = %q, s3utils.EncodePath %q", in, got, want)
		}
	}
}

// BenchmarkEncodePath: a backend request encodes its path twice (URL and
// signature).
func BenchmarkEncodePath(b *testing.B) {
	const p = "/bench-sse-kms/small/0001"
	b.Run("s3utils.EncodePath", func(b *testing.B) {
		for b.Loop() {
			_ = s3utils.EncodePath(p)
		}
	})
	b.Run("encodePath", func(b *testing.B) {
		for b.Loop() {
			_ = encodePath(p)
		}
	})
}
