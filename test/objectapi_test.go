package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/test/harness"
)

// objectAPI is one gateway (SSE-C allowed over http for the test) with
// clients, shared by the object API tests.
type objectAPI struct {
	*stack
	mc   *minio.Client
	core *minio.Core
	sdk  *s3.Client
}

func newObjectAPI(t *testing.T, backend harness.Backend) *objectAPI {
	t.Helper()
	s := newStackOn(t, backend, harness.WithPlaintextBuckets("plain-objectapi"), harness.WithGatewayEnv("S3SEAL_ALLOW_INSECURE_SSEC", "true"))
	c := s.gw.Client(t)
	return &objectAPI{stack: s, mc: c, core: &minio.Core{Client: c}, sdk: s.gw.S3(t)}
}

func (o *objectAPI) bucket(t *testing.T, name string) string {
	t.Helper()
	if err := o.mc.MakeBucket(t.Context(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket %s: %v", name, err)
	}
	return name
}

func (o *objectAPI) get(t *testing.T, bucket, key string, opts minio.GetObjectOptions) []byte {
	t.Helper()
	return harness.ReadObject(t, o.mc, bucket, key, opts)
}

// putParts uploads data as a multipart object with exactly the given part
// sizes (their sum must be len(data)).
func (o *objectAPI) putParts(t *testing.T, bucket, key string, data []byte, parts []int, sse encrypt.ServerSide) {
	t.Helper()
	ctx := t.Context()
	id, err := o.core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{ServerSideEncryption: sse})
	if err != nil {
		t.Fatalf("NewMultipartUpload: %v", err)
	}
	var done []minio.CompletePart
	off := 0
	for i, n := range parts {
		p, err := o.core.PutObjectPart(ctx, bucket, key, id, i+1, bytes.NewReader(data[off:off+n]), int64(n), minio.PutObjectPartOptions{SSE: sse})
		if err != nil {
			t.Fatalf("PutObjectPart %d (%d bytes): %v", i+1, n, err)
		}
		done = append(done, minio.CompletePart{PartNumber: i + 1, ETag: p.ETag})
		off += n
	}
	if off != len(data) {
		t.Fatalf("parts cover %d of %d bytes", off, len(data))
	}
	if _, err := o.core.CompleteMultipartUpload(ctx, bucket, key, id, done, minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	o.wrote(bucket, key, data)
}

func listedSizes(t *testing.T, o *objectAPI, bucket string) map[string]int64 {
	t.Helper()
	sizes := map[string]int64{}
	for obj := range o.mc.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("ListObjects: %v", obj.Err)
		}
		sizes[obj.Key] = obj.Size
	}
	return sizes
}

// TestObjectAPI covers the object API on encrypted objects: multipart
// layouts, exact listings, ranges, copies, key rotation, part copies, SSE-C,
// conditions, versions and presigned URLs, over every backend
// (harness.AllBackends), each with its own gateway.
func TestObjectAPI(t *testing.T) {
	t.Parallel()
	for _, kind := range harness.AllBackends {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			backend := harness.StartBackend(t, kind)
			harness.LogBackend(t, backend)
			objectAPIOn(t, newObjectAPI(t, backend))
		})
	}
}

// objectAPIOn runs the object API subtests against one gateway.
func objectAPIOn(t *testing.T, o *objectAPI) {
	t.Run("ragged multipart objects list, stat and read exactly", func(t *testing.T) { objectAPIRaggedMultipart(t, o) })
	t.Run("one-part and gapped multipart uploads read back", func(t *testing.T) { objectAPIOnePartAndGappedUploads(t, o) })
	t.Run("tampered or truncated ciphertext is an error, never wrong bytes", func(t *testing.T) { objectAPITamperedCiphertext(t, o) })
	t.Run("random layouts and ranges read back exactly", func(t *testing.T) { objectAPIRandomLayoutsAndRanges(t, o) })
	t.Run("aws-sdk-go-v2 upload manager lists exact sizes", func(t *testing.T) { objectAPIUploadManagerSizes(t, o) })
	t.Run("copies between every encryption", func(t *testing.T) { objectAPICopiesBetweenEncryptions(t, o) })
	t.Run("copy onto itself rotates the key without re-encrypting", func(t *testing.T) { objectAPICopyOntoItselfRotatesKey(t, o) })
	t.Run("UploadPartCopy re-encrypts ragged ranges of encrypted sources", func(t *testing.T) { objectAPIUploadPartCopy(t, o) })
	t.Run("SSE-C needs the right key", func(t *testing.T) { objectAPISSECNeedsTheRightKey(t, o) })
	t.Run("copy-source conditions are evaluated", func(t *testing.T) { objectAPICopySourceConditions(t, o) })
	t.Run("conditional requests use the client-visible ETag", func(t *testing.T) { objectAPIConditionalRequests(t, o) })
	t.Run("versions of encrypted objects", func(t *testing.T) { objectAPIVersions(t, o) })
	t.Run("presigned URLs on a bucket with default SSE-KMS", func(t *testing.T) { objectAPIPresignedURLsWithSSEKMS(t, o) })
	t.Run("every object on the backend is ciphertext", func(t *testing.T) { objectAPIBackendHoldsCiphertext(t, o) })
}

// objectAPIRaggedMultipart: ragged multipart objects list, stat and read exactly.
func objectAPIRaggedMultipart(t *testing.T, o *objectAPI) {
	b := o.bucket(t, "ragged")
	layouts := map[string][]int{
		"ragged-a":       {5*mib + 1, 7*mib + 13, 3*mib + 5},
		"dir/ragged-b":   {5*mib + 65535, 5 * mib},
		"aligned-16mib":  {16 * mib, 4*mib + 3},
		"aligned-5mib":   {5 * mib, 5 * mib, 1},
		"zz/last-ragged": {5*mib + 7, 9},
	}
	for key, parts := range layouts {
		total := 0
		for _, p := range parts {
			total += p
		}
		o.putParts(t, b, key, harness.RandomBytes(t, total), parts, encrypt.NewSSE())
	}
	if _, err := o.mc.PutObject(t.Context(), b, "single", bytes.NewReader([]byte("hello")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	o.wrote(b, "single", []byte("hello"))
	got := listedSizes(t, o, b)
	for key := range layouts {
		want, _ := o.recorded(b, key)
		if got[key] != int64(len(want)) {
			t.Errorf("ListObjectsV2 size of %s = %d, want %d", key, got[key], len(want))
		}
		st, err := o.mc.StatObject(t.Context(), b, key, minio.StatObjectOptions{})
		if err != nil || st.Size != int64(len(want)) {
			t.Errorf("StatObject %s: size %d err %v, want %d", key, st.Size, err, len(want))
		}
		if data := o.get(t, b, key, minio.GetObjectOptions{}); !bytes.Equal(data, want) {
			t.Errorf("GET %s: %d bytes differ from the %d written", key, len(data), len(want))
		}
	}
	if got["single"] != 5 {
		t.Errorf("size of single = %d, want 5", got["single"])
	}
	// Listings V1, with a delimiter, and of versions agree.
	v1 := map[string]int64{}
	for obj := range o.mc.ListObjects(t.Context(), b, minio.ListObjectsOptions{Recursive: true, UseV1: true}) {
		v1[obj.Key] = obj.Size
	}
	for obj := range o.mc.ListObjects(t.Context(), b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if obj.Size != got[obj.Key] {
			t.Errorf("ListObjectVersions size of %s = %d, want %d", obj.Key, obj.Size, got[obj.Key])
		}
	}
	for obj := range o.mc.ListObjects(t.Context(), b, minio.ListObjectsOptions{}) {
		if !strings.HasSuffix(obj.Key, "/") && obj.Size != got[obj.Key] {
			t.Errorf("delimiter listing size of %s = %d, want %d", obj.Key, obj.Size, got[obj.Key])
		}
	}
	for k, n := range got {
		if v1[k] != n {
			t.Errorf("ListObjects V1 size of %s = %d, want %d", k, v1[k], n)
		}
	}
	// GET ?partNumber=2 is the plaintext of part 2.
	want, _ := o.recorded(b, "ragged-a")
	out, err := o.sdk.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("ragged-a"), PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatalf("GetObject partNumber=2: %v", err)
	}
	part, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(part, want[5*mib+1:5*mib+1+7*mib+13]) {
		t.Errorf("part 2: got %d bytes, want the %d bytes of part 2", len(part), 7*mib+13)
	}
	if out.PartsCount == nil || *out.PartsCount != 3 {
		t.Errorf("x-amz-mp-parts-count = %v, want 3", out.PartsCount)
	}
}

// objectAPIOnePartAndGappedUploads: one-part and gapped multipart uploads read back.
func objectAPIOnePartAndGappedUploads(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "gapped")
	one := harness.RandomBytes(t, 300_000)
	o.putParts(t, b, "one-part", one, []int{len(one)}, encrypt.NewSSE())
	if got := o.get(t, b, "one-part", minio.GetObjectOptions{}); !bytes.Equal(got, one) {
		t.Errorf("one-part multipart object: %d bytes differ", len(got))
	}
	// Parts 2 and 5 only: keys follow the S3 part numbers.
	data := harness.RandomBytes(t, 5*mib+77)
	id, err := o.core.NewMultipartUpload(ctx, b, "gapped", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parts []minio.CompletePart
	for i, pn := range []int{2, 5} {
		chunk := data[:5*mib]
		if i == 1 {
			chunk = data[5*mib:]
		}
		p, err := o.core.PutObjectPart(ctx, b, "gapped", id, pn, bytes.NewReader(chunk), int64(len(chunk)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: pn, ETag: p.ETag})
	}
	done, err := o.core.CompleteMultipartUpload(ctx, b, "gapped", id, parts, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The client is told s3seal's ETag, never the backend's.
	if st, err := o.core.StatObject(ctx, b, "gapped", minio.StatObjectOptions{}); err != nil {
		t.Fatal(err)
	} else if done.ETag != st.ETag {
		t.Errorf("CompleteMultipartUpload answered ETag %q, HEAD %q", done.ETag, st.ETag)
	}
	if got := o.get(t, b, "gapped", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Errorf("gapped multipart object: %d bytes differ", len(got))
	}
	opts := minio.GetObjectOptions{}
	_ = opts.SetRange(5*mib-10, 5*mib+10)
	if got := o.get(t, b, "gapped", opts); !bytes.Equal(got, data[5*mib-10:5*mib+11]) {
		t.Errorf("range across the gap: bytes differ")
	}
	// Complete deleted the uploads' records (one multi-object delete, or
	// one DELETE each where the backend has none).
	for _, prefix := range []string{"parts/" + b + "/", "uploads/" + b + "/"} {
		for obj := range o.direct.ListObjects(ctx, o.gw.SystemBucket(), minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("list system bucket: %v", obj.Err)
			}
			t.Errorf("record left after CompleteMultipartUpload: %s", obj.Key)
		}
	}
}

// objectAPITamperedCiphertext: tampered or truncated ciphertext is an error, never wrong bytes.
func objectAPITamperedCiphertext(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "tamper")
	// The tampered reads go through a client that tries once: minio-go
	// retries a 500 with backoff, seconds per read for the same answer.
	once, err := minio.New(o.gw.Addr(), &minio.Options{
		Creds:      credentials.NewStaticV4(o.gw.AccessKey, o.gw.SecretKey, ""),
		Transport:  harness.CheckedTransport(t, o.gw.SystemBucket(), nil),
		MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	data := harness.RandomBytes(t, 3*crypto.PackageSize+100)
	if _, err := o.mc.PutObject(ctx, b, "orig", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	stored := o.backendObject(t, b, "orig")
	st, err := o.direct.StatObject(ctx, b, "orig", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for k, v := range st.Metadata {
		if name, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok {
			meta[name] = v[0]
		}
	}
	// Every variant is a copy: appending to a subslice of stored would
	// write into stored itself.
	const p = crypto.EncryptedPackageSize
	swapped := bytes.Join([][]byte{stored[:p], stored[2*p : 3*p], stored[p : 2*p], stored[3*p:]}, nil)
	flipped := bytes.Clone(stored)
	flipped[crypto.EncryptedPackageSize+500] ^= 1
	variants := map[string][]byte{
		"flipped byte in package 2": flipped,
		"last package dropped":      bytes.Clone(stored[:3*crypto.EncryptedPackageSize]),
		"packages 2 and 3 swapped":  swapped,
	}
	for name, body := range variants {
		t.Run(name, func(t *testing.T) {
			// The sealed key is bound to the object name, so the tampered
			// copy keeps the name: it replaces "orig" in its own bucket.
			key := "orig"
			vb := o.bucket(t, "tamper-"+strings.ReplaceAll(strings.ReplaceAll(name, " ", "-"), "and-", ""))
			if _, err := o.direct.PutObject(ctx, vb, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{UserMetadata: meta}); err != nil {
				t.Fatal(err)
			}
			// The same metadata under another bucket fails to unseal;
			// that too must be an error, never bytes.
			for _, rng := range [][2]int64{{0, -1}, {crypto.PackageSize, crypto.PackageSize + 10}} {
				opts := minio.GetObjectOptions{}
				if rng[1] >= 0 {
					_ = opts.SetRange(rng[0], rng[1])
				}
				obj, err := once.GetObject(ctx, vb, key, opts)
				if err != nil {
					continue
				}
				got, err := io.ReadAll(obj)
				obj.Close()
				if err == nil {
					t.Errorf("range %v: read %d bytes without an error", rng, len(got))
				}
			}
		})
	}
	// In place: the same bucket and name, so the sealed key unseals and
	// only the ciphertext is wrong. The control first: the unchanged
	// ciphertext put back the same way reads back as the plaintext, so
	// the failures below come from the ciphertext alone.
	if _, err := o.direct.PutObject(ctx, b, "orig", bytes.NewReader(stored), int64(len(stored)), minio.PutObjectOptions{UserMetadata: meta}); err != nil {
		t.Fatal(err)
	}
	if got := o.get(t, b, "orig", minio.GetObjectOptions{}); !bytes.Equal(got, data) {
		t.Fatalf("the unchanged ciphertext put back in place reads %d bytes, not the plaintext", len(got))
	}
	for name, body := range variants {
		if _, err := o.direct.PutObject(ctx, b, "orig", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{UserMetadata: meta}); err != nil {
			t.Fatal(err)
		}
		obj, err := once.GetObject(ctx, b, "orig", minio.GetObjectOptions{})
		if err != nil {
			continue
		}
		got, err := io.ReadAll(obj)
		obj.Close()
		if err == nil {
			t.Errorf("%s in place: read %d bytes without an error (want an error, never wrong bytes)", name, len(got))
		}
		if len(got) > 0 && !bytes.Equal(got, data[:min(len(got), len(data))]) {
			t.Errorf("%s in place: the %d bytes delivered before the error are not the plaintext", name, len(got))
		}
	}
}

// objectAPIRandomLayoutsAndRanges: random layouts and ranges read back exactly.
func objectAPIRandomLayoutsAndRanges(t *testing.T, o *objectAPI) {
	b := o.bucket(t, "property")
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	t.Logf("seed time %v", time.Now().UnixNano())
	for i := range 4 {
		nparts := 1 + rng.IntN(3)
		var parts []int
		total := 0
		for j := 0; j < nparts; j++ {
			n := 5*mib + rng.IntN(200_000)
			if j == nparts-1 {
				n = 1 + rng.IntN(300_000)
			}
			parts = append(parts, n)
			total += n
		}
		key := fmt.Sprintf("obj-%d", i)
		data := harness.RandomBytes(t, total)
		if nparts == 1 {
			if _, err := o.mc.PutObject(t.Context(), b, key, bytes.NewReader(data), int64(total), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
				t.Fatal(err)
			}
		} else {
			o.putParts(t, b, key, data, parts, encrypt.NewSSE())
		}
		for range 12 {
			start := rng.Int64N(int64(total))
			end := start + rng.Int64N(int64(total)-start)
			opts := minio.GetObjectOptions{}
			if err := opts.SetRange(start, end); err != nil {
				t.Fatal(err)
			}
			if got := o.get(t, b, key, opts); !bytes.Equal(got, data[start:end+1]) {
				t.Fatalf("%s (parts %v) range %d-%d: %d bytes differ", key, parts, start, end, len(got))
			}
		}
		if sz := listedSizes(t, o, b)[key]; sz != int64(total) {
			t.Errorf("%s (parts %v) lists as %d bytes, want %d", key, parts, sz, total)
		}
		stored := o.backendObject(t, b, key)
		if off, _, found := harness.FindPlaintextRun(stored, data); found {
			t.Errorf("%s: plaintext run at backend offset %d", key, off)
		}
	}
}

// objectAPIUploadManagerSizes: aws-sdk-go-v2 upload manager lists exact sizes.
func objectAPIUploadManagerSizes(t *testing.T, o *objectAPI) {
	b := o.bucket(t, "manager")
	data := harness.RandomBytes(t, 23*mib+17)
	up := manager.NewUploader(o.sdk, func(u *manager.Uploader) { u.PartSize = 5 * mib })
	if _, err := up.Upload(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("m"), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("upload manager: %v", err)
	}
	if sz := listedSizes(t, o, b)["m"]; sz != int64(len(data)) {
		t.Errorf("listed size %d, want %d", sz, len(data))
	}
	dl := manager.NewDownloader(o.sdk, func(d *manager.Downloader) { d.PartSize = 5 * mib; d.Concurrency = 4 })
	buf := manager.NewWriteAtBuffer(nil)
	if _, err := dl.Download(t.Context(), buf, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("m")}); err != nil {
		t.Fatalf("download manager: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("ranged parallel download differs")
	}
}

// objectAPISSECNeedsTheRightKey: SSE-C needs the right key.
func objectAPISSECNeedsTheRightKey(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "ssec")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ssec, _ := encrypt.NewSSEC(key)
	wrong, _ := encrypt.NewSSEC(bytes.Repeat([]byte{7}, 32))
	data := harness.RandomBytes(t, 100_000)
	if _, err := o.mc.PutObject(ctx, b, "c", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: ssec}); err != nil {
		t.Fatal(err)
	}
	if got := o.get(t, b, "c", minio.GetObjectOptions{ServerSideEncryption: ssec}); !bytes.Equal(got, data) {
		t.Errorf("SSE-C round trip differs")
	}
	_, err := o.mc.StatObject(ctx, b, "c", minio.StatObjectOptions{ServerSideEncryption: wrong})
	if got := minio.ToErrorResponse(err).StatusCode; got != http.StatusForbidden {
		t.Errorf("wrong key: status %d (%v), want 403", got, err)
	}
	obj, _ := o.mc.GetObject(ctx, b, "c", minio.GetObjectOptions{})
	_, err = io.ReadAll(obj)
	if r := minio.ToErrorResponse(err); r.StatusCode != http.StatusBadRequest || r.Code != "InvalidRequest" {
		t.Errorf("missing key: %d %s (%v), want 400 InvalidRequest", r.StatusCode, r.Code, err)
	}
	// The key itself is never stored: only its MD5 for matching.
	stored, err := o.direct.StatObject(ctx, b, "c", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range stored.Metadata {
		if strings.Contains(strings.Join(v, ","), fmt.Sprintf("%x", key)) || bytes.Contains([]byte(strings.Join(v, ",")), []byte(encodeB64(key))) {
			t.Errorf("backend metadata %s carries the SSE-C key", k)
		}
	}
	// Multipart SSE-C.
	mp := harness.RandomBytes(t, 5*mib+3)
	o.putParts(t, b, "mp", mp, []int{5 * mib, 3}, ssec)
	if got := o.get(t, b, "mp", minio.GetObjectOptions{ServerSideEncryption: ssec}); !bytes.Equal(got, mp) {
		t.Errorf("SSE-C multipart differs")
	}
}

// objectAPIConditionalRequests: conditional requests use the client-visible ETag.
func objectAPIConditionalRequests(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "cond")
	info, err := o.mc.PutObject(ctx, b, "k", bytes.NewReader([]byte("conditional")), 11, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// asBackend: date-only conditions go to the backend, which judges them
	// on the stored object; backends differ on a future If-Modified-Since
	// (MinIO: 304; versitygw, as AWS: the date is ignored, 200), and
	// s3seal answers as its backend does (docs/COMPATIBILITY.md).
	const asBackend = -1
	cases := []struct {
		name string
		set  func(*minio.GetObjectOptions)
		want int
	}{
		{"If-Match current", func(g *minio.GetObjectOptions) { _ = g.SetMatchETag(info.ETag) }, 200},
		{"If-Match other", func(g *minio.GetObjectOptions) { _ = g.SetMatchETag("0123456789abcdef0123456789abcdef") }, 412},
		{"If-None-Match current", func(g *minio.GetObjectOptions) { _ = g.SetMatchETagExcept(info.ETag) }, 304},
		{"If-Modified-Since past", func(g *minio.GetObjectOptions) { _ = g.SetModified(time.Now().Add(-24 * time.Hour)) }, 200},
		{"If-Modified-Since future", func(g *minio.GetObjectOptions) { _ = g.SetModified(time.Now().Add(time.Hour)) }, asBackend},
		// With an ETag condition s3seal judges every condition, in MinIO's
		// order, whatever the backend.
		{"If-Match current, If-Modified-Since future", func(g *minio.GetObjectOptions) {
			_ = g.SetMatchETag(info.ETag)
			_ = g.SetModified(time.Now().Add(time.Hour))
		}, 304},
		{"If-Unmodified-Since past", func(g *minio.GetObjectOptions) { _ = g.SetUnmodified(time.Now().Add(-24 * time.Hour)) }, 412},
	}
	status := func(c *minio.Client, opts minio.GetObjectOptions) (int, error) {
		_, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions(opts))
		if err != nil {
			return minio.ToErrorResponse(err).StatusCode, err
		}
		return 200, nil
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := minio.GetObjectOptions{}
			c.set(&opts)
			want := c.want
			if want == asBackend {
				var err error
				if want, err = status(o.direct, opts); want != 200 && want != 304 {
					t.Fatalf("backend %s answers %d (%v), want 200 or 304", o.backend.Name(), want, err)
				}
			}
			if got, err := status(o.mc, opts); got != want {
				t.Errorf("status %d (%v), want %d", got, err, want)
			}
		})
	}
}

// objectAPIVersions: versions of encrypted objects.
func objectAPIVersions(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "versions")
	err := o.mc.EnableVersioning(ctx, b)
	if !o.backend.Features().Versioning {
		// TestBackendLacksFeature checks that the error is the backend's own.
		if err == nil {
			t.Fatalf("PutBucketVersioning succeeded on %s, which has no versioning", o.backend.Name())
		}
		harness.Unsupported(t, "versioning", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	v1, err := o.mc.PutObject(ctx, b, "v", strings.NewReader("first version"), 13, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.mc.PutObject(ctx, b, "v", strings.NewReader("second"), 6, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := string(o.get(t, b, "v", minio.GetObjectOptions{VersionID: v1.VersionID})); got != "first version" {
		t.Errorf("GET versionId=v1: %q", got)
	}
	st, err := o.mc.StatObject(ctx, b, "v", minio.StatObjectOptions{VersionID: v1.VersionID})
	if err != nil || st.Size != 13 {
		t.Errorf("HEAD versionId=v1: size %d err %v", st.Size, err)
	}
	if _, err := o.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy-of-v1"}, minio.CopySrcOptions{Bucket: b, Object: "v", VersionID: v1.VersionID}); err != nil {
		t.Fatal(err)
	}
	if got := string(o.get(t, b, "copy-of-v1", minio.GetObjectOptions{})); got != "first version" {
		t.Errorf("copy of v1: %q", got)
	}
	if err := o.mc.RemoveObject(ctx, b, "v", minio.RemoveObjectOptions{VersionID: v1.VersionID}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.mc.StatObject(ctx, b, "v", minio.StatObjectOptions{VersionID: v1.VersionID}); err == nil {
		t.Errorf("deleted version still answers")
	}
}

// objectAPIPresignedURLsWithSSEKMS: presigned URLs on a bucket with default SSE-KMS.
func objectAPIPresignedURLsWithSSEKMS(t *testing.T, o *objectAPI) {
	ctx := t.Context()
	b := o.bucket(t, "presign")
	o.gw.CreateKMSKey(t, "presign-key")
	putBucketSSEKMS(t, o.sdk, b, "presign-key")
	u, err := o.mc.PresignedPutObject(ctx, b, "p", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	data := harness.RandomBytes(t, 200_000)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %v %v", err, resp)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != "arn:aws:kms:presign-key" {
		t.Errorf("presigned PUT key id %q", got)
	}
	g, err := o.mc.PresignedGetObject(ctx, b, "p", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(g.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("presigned GET: %d bytes differ", len(got))
	}
}

// objectAPIBackendHoldsCiphertext: every object on the backend is ciphertext.
func objectAPIBackendHoldsCiphertext(t *testing.T, o *objectAPI) {
	// A control: an object of the plaintext bucket is found in the clear,
	// so the scan below can fail. It is sent with a Content-MD5, so that
	// a store that otherwise keeps no digest of a body (MinIO with
	// --no-compat stores a random ETag) keeps one the digest scan must
	// find.
	control := harness.RandomBytes(t, 100_000)
	if err := o.mc.MakeBucket(t.Context(), "plain-objectapi", minio.MakeBucketOptions{}); err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		t.Fatalf("MakeBucket plain-objectapi: %v", err)
	}
	if _, err := o.mc.PutObject(t.Context(), "plain-objectapi", "control", bytes.NewReader(control), int64(len(control)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
		t.Fatal(err)
	}
	o.wrote("plain-objectapi", "control", control)
	o.mu.Lock()
	defer o.mu.Unlock()
	encrypted := map[string][]byte{} // "bucket/key" → plaintext, of the encrypted buckets
	plain := map[string][]byte{}     // of the plaintext bucket
	for name, p := range o.written {
		bucket, key, _ := strings.Cut(name, "/")
		switch {
		case bucket == "plain-objectapi":
			if len(p) >= harness.PlaintextRunLen {
				plain[name] = p
			}
			continue
		case len(p) < 32:
			continue
		}
		encrypted[name] = p
		st, err := o.direct.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.Metadata.Get("X-Amz-Meta-S3seal-Version") == "" {
			t.Errorf("%s: no s3seal metadata on the backend", name)
		}
		if st.Size <= int64(len(p)) || st.Size < crypto.EncryptedSize(int64(len(p))) {
			t.Errorf("%s: backend size %d for %d plaintext bytes", name, st.Size, len(p))
		}
		// What the backend serves.
		assertCiphertext(t, name+" (read from "+o.backend.Name()+")", harness.ReadObject(t, o.direct, bucket, key, minio.GetObjectOptions{}), p)
	}
	// What the backend keeps on disk.
	switch layout := o.backend.Features().Storage; layout {
	case harness.StorageObjectFiles:
		objectAPIScanObjectFiles(t, o.backend, encrypted, plain)
	case harness.StorageVolumes:
		objectAPIScanVolumes(t, o.backend, encrypted, plain)
	case harness.StorageMemory:
		t.Logf("%s keeps objects in memory: no files to scan; what it serves was checked above", o.backend.Name())
	default:
		t.Fatalf("%s: unknown storage layout %d", o.backend.Name(), layout)
	}
}

func putBucketSSEKMS(t *testing.T, c *s3.Client, bucket, key string) {
	t.Helper()
	_, err := c.PutBucketEncryption(t.Context(), &s3.PutBucketEncryptionInput{
		Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
			Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{
				SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(key),
			}}},
		},
	})
	if err != nil {
		t.Fatalf("PutBucketEncryption %s: %v", bucket, err)
	}
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestSSECNeedsTLS: without the development setting, SSE-C keys are
// refused over plain http, before anything is stored.
func TestSSECNeedsTLS(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := t.Context()
	c := s.gw.Client(t)
	if err := c.MakeBucket(ctx, "ssec-http", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{9}, 32))
	_, err := c.PutObject(ctx, "ssec-http", "k", strings.NewReader("secret"), 6, minio.PutObjectOptions{ServerSideEncryption: ssec})
	if r := minio.ToErrorResponse(err); r.StatusCode != http.StatusBadRequest || r.Code != "InvalidRequest" {
		t.Errorf("SSE-C over http: %d %s (%v), want 400 InvalidRequest", r.StatusCode, r.Code, err)
	}
	if _, err := s.direct.StatObject(ctx, "ssec-http", "k", minio.StatObjectOptions{}); err == nil {
		t.Errorf("the refused SSE-C object reached the backend")
	}
}
