package test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/test/harness"
)

// Copies of encrypted objects: CopyObject between every encryption, onto
// itself (key rotation), UploadPartCopy and copy-source conditions. They
// run as subtests of TestObjectAPI.

// objectAPICopiesBetweenEncryptions: copies between every encryption.
func objectAPICopiesBetweenEncryptions(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	enc := o.bucket(t, "copy-enc")
	plain := o.bucket(t, "plain-objectapi")
	for _, k := range []string{"copy-key-1", "copy-key-2"} {
		o.gw.CreateKMSKey(t, k)
	}
	ssecKey := make([]byte, 32)
	_, _ = rand.Read(ssecKey)
	ssec, _ := encrypt.NewSSEC(ssecKey)
	kms1, _ := encrypt.NewSSEKMS("copy-key-1", nil)
	kms2, _ := encrypt.NewSSEKMS("copy-key-2", map[string]string{"purpose": "copy"})
	type side struct {
		name   string
		bucket string
		sse    encrypt.ServerSide
		header string // x-amz-server-side-encryption or SSE-C algorithm expected on the target
	}
	sources := []side{
		{"plaintext", plain, nil, ""},
		{"SSE-S3", enc, encrypt.NewSSE(), "AES256"},
		{"SSE-KMS", enc, kms1, "aws:kms"},
		{"SSE-C", enc, ssec, "SSE-C"},
	}
	targets := []side{
		{"plaintext", plain, nil, ""},
		{"SSE-S3", enc, encrypt.NewSSE(), "AES256"},
		{"SSE-KMS same key", enc, kms1, "aws:kms"},
		{"SSE-KMS other key", enc, kms2, "aws:kms"},
		{"SSE-C", enc, ssec, "SSE-C"},
	}
	for _, src := range sources {
		data := harness.RandomBytes(t, 70000+mrand.IntN(200000))
		srcKey := "src-" + strings.ReplaceAll(src.name, " ", "-")
		if _, err := o.mc.PutObject(ctx, src.bucket, srcKey, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: src.sse, UserMetadata: map[string]string{"origin": src.name}}); err != nil {
			t.Fatalf("put %s: %v", src.name, err)
		}
		for _, dst := range targets {
			t.Run(src.name+" to "+dst.name, func(t *testing.T) {
				dstKey := "dst-" + srcKey + "-" + strings.ReplaceAll(dst.name, " ", "-")
				var srcSSE encrypt.ServerSide
				if src.header == "SSE-C" {
					srcSSE = encrypt.SSECopy(ssec)
				}
				_, err := o.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: dst.bucket, Object: dstKey, Encryption: dst.sse},
					minio.CopySrcOptions{Bucket: src.bucket, Object: srcKey, Encryption: srcSSE})
				if err != nil {
					t.Fatalf("CopyObject: %v", err)
				}
				var getSSE encrypt.ServerSide
				if dst.header == "SSE-C" {
					getSSE = ssec
				}
				if got := o.get(t, dst.bucket, dstKey, minio.GetObjectOptions{ServerSideEncryption: getSSE}); !bytes.Equal(got, data) {
					t.Fatalf("copy content differs: %d bytes, want %d", len(got), len(data))
				}
				st, err := o.mc.StatObject(ctx, dst.bucket, dstKey, minio.StatObjectOptions{ServerSideEncryption: getSSE})
				if err != nil {
					t.Fatal(err)
				}
				gotSSE := st.Metadata.Get("X-Amz-Server-Side-Encryption")
				if dst.header == "SSE-C" {
					gotSSE = map[bool]string{true: "SSE-C"}[st.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") == "AES256"]
				}
				if dst.bucket == plain && dst.sse == nil {
					if gotSSE != "" {
						t.Errorf("target SSE = %q, want none (plaintext bucket)", gotSSE)
					}
				} else if gotSSE != dst.header {
					t.Errorf("target SSE = %q, want %q", gotSSE, dst.header)
				}
				if st.Size != int64(len(data)) {
					t.Errorf("target size %d, want %d", st.Size, len(data))
				}
				if got := st.UserMetadata["Origin"]; got != src.name {
					t.Errorf("copied metadata origin = %q, want %q", got, src.name)
				}
				stored := o.backendObject(t, dst.bucket, dstKey)
				_, _, found := harness.FindPlaintextRun(stored, data)
				if wantPlain := dst.bucket == plain && dst.sse == nil; found != wantPlain {
					t.Errorf("plaintext on backend = %v, want %v", found, wantPlain)
				}
			})
		}
	}
}

// objectAPICopyOntoItselfRotatesKey: copy onto itself rotates the key without re-encrypting.
func objectAPICopyOntoItselfRotatesKey(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "rotate")
	for _, k := range []string{"rotate-old", "rotate-new"} {
		o.gw.CreateKMSKey(t, k)
	}
	old, _ := encrypt.NewSSEKMS("rotate-old", nil)
	nw, _ := encrypt.NewSSEKMS("rotate-new", nil)
	data := harness.RandomBytes(t, 300_000)
	if _, err := o.mc.PutObject(ctx, b, "r", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: old}); err != nil {
		t.Fatal(err)
	}
	before := o.backendObject(t, b, "r")
	// Without any change a self-copy is refused, as S3 does.
	_, err := o.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "r"}, minio.CopySrcOptions{Bucket: b, Object: "r"})
	if got := minio.ToErrorResponse(err).Code; got != "InvalidRequest" {
		t.Errorf("self-copy without change: code %q, want InvalidRequest", got)
	}
	if _, err := o.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "r", Encryption: nw}, minio.CopySrcOptions{Bucket: b, Object: "r"}); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	st, err := o.mc.StatObject(ctx, b, "r", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != "arn:aws:kms:rotate-new" {
		t.Errorf("key after rotation = %q, want arn:aws:kms:rotate-new", got)
	}
	if !bytes.Equal(o.backendObject(t, b, "r"), before) {
		t.Errorf("rotation re-encrypted the data; only the key should be re-sealed")
	}
	if got := o.get(t, b, "r", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Errorf("content after rotation differs")
	}
}

// objectAPIUploadPartCopy: UploadPartCopy re-encrypts ragged ranges of encrypted sources.
func objectAPIUploadPartCopy(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "partcopy")
	src := harness.RandomBytes(t, 5*mib+1+7*mib+13+100)
	o.putParts(t, b, "src", src, []int{5*mib + 1, 7*mib + 13, 100}, encrypt.NewSSE())
	id, err := o.core.NewMultipartUpload(ctx, b, "dst", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ranges := [][2]int64{{3, 5*mib + 3}, {5*mib - 10, 5*mib - 10 + 5*mib + 99}, {int64(len(src)) - 4321, int64(len(src)) - 1}}
	var want []byte
	var parts []minio.CompletePart
	for i, r := range ranges {
		p, err := o.core.CopyObjectPart(ctx, b, "src", b, "dst", id, i+1, r[0], r[1]-r[0]+1, nil)
		if err != nil {
			t.Fatalf("CopyObjectPart %d %v: %v", i+1, r, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: i + 1, ETag: p.ETag})
		want = append(want, src[r[0]:r[1]+1]...)
	}
	if _, err := o.core.CompleteMultipartUpload(ctx, b, "dst", id, parts, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := o.get(t, b, "dst", minio.GetObjectOptions{}); !bytes.Equal(got, want) {
		t.Fatalf("part-copied object: %d bytes, want %d identical", len(got), len(want))
	}
	if sz := listedSizes(t, o, b)["dst"]; sz != int64(len(want)) {
		t.Errorf("listed size %d, want %d", sz, len(want))
	}
}

// objectAPICopySourceConditions: copy-source conditions are evaluated.
func objectAPICopySourceConditions(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "copycond")
	info, err := o.mc.PutObject(ctx, b, "src", strings.NewReader("copy me"), 7, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		src  minio.CopySrcOptions
		want int
	}{
		{"if-match current", minio.CopySrcOptions{MatchETag: info.ETag}, 200},
		{"if-match other", minio.CopySrcOptions{MatchETag: "0123456789abcdef0123456789abcdef"}, 412},
		{"if-none-match current", minio.CopySrcOptions{NoMatchETag: info.ETag}, 412},
		{"if-unmodified-since past", minio.CopySrcOptions{MatchUnmodifiedSince: time.Now().Add(-24 * time.Hour)}, 412},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.src.Bucket, c.src.Object = b, "src"
			_, err := o.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: fmt.Sprintf("dst-%d", i)}, c.src)
			got := 200
			if err != nil {
				got = minio.ToErrorResponse(err).StatusCode
			}
			if got != c.want {
				t.Errorf("status %d (%v), want %d", got, err, c.want)
			}
		})
	}
}
