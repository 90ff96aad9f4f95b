package test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// TestBackendLacksFeature: a feature the backend lacks reaches the client
// as the backend's own error, the same status, code and message a client
// talking to the backend directly gets, never a success s3seal made up and
// never a generic error of s3seal's. versitygw started without a
// versioning directory refuses bucket versioning; versitygw has no object
// ACLs.
func TestBackendLacksFeature(t *testing.T) {
	t.Parallel()
	backend := harness.StartVersityGW(t, harness.WithoutVersioning())
	if backend.Features().Versioning {
		t.Fatalf("versitygw without a versioning directory reports versioning")
	}
	s := newStackOn(t, backend)
	ctx := t.Context()
	// The same requests directly and through s3seal, each on a bucket of
	// its own holding an object k.
	type side struct {
		c      *minio.Client
		bucket string
	}
	direct, through := side{s.direct, "lacks-direct"}, side{s.gw.Client(t), "lacks-gw"}
	for _, side := range []side{direct, through} {
		if err := side.c.MakeBucket(ctx, side.bucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := side.c.PutObject(ctx, side.bucket, "k", bytes.NewReader([]byte("an object")), 9, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	requests := []struct {
		name   string
		do     func(c *minio.Client, bucket string) error
		status int // what versitygw answers
		code   string
	}{
		{"PutBucketVersioning", func(c *minio.Client, bucket string) error { return c.EnableVersioning(ctx, bucket) },
			http.StatusNotImplemented, "VersioningNotConfigured"},
		{"GetObjectAcl", func(c *minio.Client, bucket string) error { _, err := c.GetObjectACL(ctx, bucket, "k"); return err },
			http.StatusNotImplemented, "NotImplemented"},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			want := minio.ToErrorResponse(r.do(direct.c, direct.bucket))
			got := minio.ToErrorResponse(r.do(through.c, through.bucket))
			if want.StatusCode != r.status || want.Code != r.code {
				t.Fatalf("versitygw directly: %d %s (%s), want %d %s", want.StatusCode, want.Code, want.Message, r.status, r.code)
			}
			if got.StatusCode != want.StatusCode || got.Code != want.Code || got.Message != want.Message {
				t.Errorf("through s3seal: %d %s %q, want versitygw's own %d %s %q", got.StatusCode, got.Code, got.Message, want.StatusCode, want.Code, want.Message)
			}
		})
	}
	// The bucket stays unversioned: nothing half-applied.
	cfg, err := through.c.GetBucketVersioning(ctx, through.bucket)
	if err != nil || cfg.Status != "" {
		t.Errorf("GetBucketVersioning through s3seal: %+v %v, want no status", cfg, err)
	}
}

// TestBackendMetadataBudget: user metadata shares the backend's metadata
// size limit with s3seal's sealed metadata, on every backend. Where the
// backend has AWS's 2 KiB limit (MinIO, versitygw), what fits directly may
// not fit through s3seal, and the refusal is the backend's MetadataTooLarge
// (docs/COMPATIBILITY.md, Backends). Where it has none (SeaweedFS, moto,
// Ceph RGW) the same metadata is stored and comes back as set.
func TestBackendMetadataBudget(t *testing.T) {
	t.Parallel()
	for _, kind := range harness.AllBackends {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			backend := harness.StartBackend(t, kind)
			harness.LogBackend(t, backend)
			s := newStackOn(t, backend)
			ctx := t.Context()
			gw := s.gw.Client(t)
			if err := gw.MakeBucket(ctx, "meta", minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			put := func(n int) minio.ErrorResponse {
				_, err := gw.PutObject(ctx, "meta", "k", strings.NewReader("x"), 1, minio.PutObjectOptions{UserMetadata: map[string]string{"Big": strings.Repeat("a", n)}})
				return minio.ToErrorResponse(err)
			}
			if r := put(1000); r.Code != "" {
				t.Errorf("1000 bytes of user metadata: %d %s, want success", r.StatusCode, r.Code)
			}
			// 1900 bytes fit the backend's 2 KiB directly; with s3seal's
			// sealed metadata they do not.
			if _, err := s.direct.PutObject(ctx, "meta", "direct", strings.NewReader("x"), 1, minio.PutObjectOptions{UserMetadata: map[string]string{"Big": strings.Repeat("a", 1900)}}); err != nil {
				t.Errorf("1900 bytes of user metadata directly on %s: %v, want success", kind, err)
			}
			r := put(1900)
			if backend.Features().MetadataLimit {
				if r.StatusCode != http.StatusBadRequest || r.Code != "MetadataTooLarge" {
					t.Errorf("1900 bytes of user metadata through s3seal: %d %s, want 400 MetadataTooLarge", r.StatusCode, r.Code)
				}
				return
			}
			// No limit on the backend: a direct PUT with more than AWS's
			// 2 KiB passes (the feature is as declared), and through s3seal
			// 1900 bytes are stored and read back unchanged.
			if _, err := s.direct.PutObject(ctx, "meta", "direct-big", strings.NewReader("x"), 1, minio.PutObjectOptions{UserMetadata: map[string]string{"Big": strings.Repeat("a", 3000)}}); err != nil {
				t.Errorf("3000 bytes of user metadata directly on %s, which declares no limit: %v", kind, err)
			}
			if r.Code != "" {
				t.Fatalf("1900 bytes of user metadata through s3seal on %s (no limit): %d %s, want success", kind, r.StatusCode, r.Code)
			}
			st, err := gw.StatObject(ctx, "meta", "k", minio.StatObjectOptions{})
			if err != nil || st.UserMetadata["Big"] != strings.Repeat("a", 1900) {
				t.Errorf("HEAD through s3seal: metadata Big of %d bytes (%v), want the 1900 set", len(st.UserMetadata["Big"]), err)
			}
		})
	}
}

// backendProbe is one request whose answer differs between stores: what
// the store answers directly and what a client gets through s3seal.
type backendProbe struct {
	name string
	// do runs the request with c on bucket (holding an object "k") and
	// returns its answer as "STATUS CODE" ("200" for a success).
	do func(t *testing.T, c *minio.Client, bucket string) string
}

// answer turns a minio-go error into "STATUS CODE", a success into "200".
// An answer without a body (HEAD) has no code: minio-go then makes one of
// the reason phrase, which stores write in any case ("NOT MODIFIED").
func answer(err error) string {
	if err == nil {
		return "200"
	}
	r := minio.ToErrorResponse(err)
	if r.StatusCode == 0 {
		return "error: " + err.Error()
	}
	if code := strings.TrimPrefix(r.Code, strconv.Itoa(r.StatusCode)+" "); strings.EqualFold(code, http.StatusText(r.StatusCode)) {
		return strconv.Itoa(r.StatusCode)
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", r.StatusCode, r.Code))
}

var backendProbes = []backendProbe{
	{"multipart upload with a 1-byte first part", func(t *testing.T, c *minio.Client, bucket string) string {
		core := &minio.Core{Client: c}
		ctx := t.Context()
		id, err := core.NewMultipartUpload(ctx, bucket, "small-parts", minio.PutObjectOptions{})
		if err != nil {
			return answer(err)
		}
		var parts []minio.CompletePart
		for i, body := range []string{"a", "b"} {
			p, err := core.PutObjectPart(ctx, bucket, "small-parts", id, i+1, strings.NewReader(body), 1, minio.PutObjectPartOptions{})
			if err != nil {
				return answer(err)
			}
			parts = append(parts, minio.CompletePart{PartNumber: i + 1, ETag: p.ETag})
		}
		_, err = core.CompleteMultipartUpload(ctx, bucket, "small-parts", id, parts, minio.PutObjectOptions{})
		return answer(err)
	}},
	{"3000 bytes of user metadata", func(t *testing.T, c *minio.Client, bucket string) string {
		_, err := c.PutObject(t.Context(), bucket, "meta", strings.NewReader("x"), 1, minio.PutObjectOptions{UserMetadata: map[string]string{"Big": strings.Repeat("a", 3000)}})
		return answer(err)
	}},
	{"If-Modified-Since an hour ahead", func(t *testing.T, c *minio.Client, bucket string) string {
		opts := minio.StatObjectOptions{}
		_ = opts.SetModified(time.Now().Add(time.Hour))
		_, err := c.StatObject(t.Context(), bucket, "k", opts)
		return answer(err)
	}},
	{"GetObjectAcl", func(t *testing.T, c *minio.Client, bucket string) string {
		_, err := c.GetObjectACL(t.Context(), bucket, "k")
		return answer(err)
	}},
	{"HEAD of a missing key", func(t *testing.T, c *minio.Client, bucket string) string {
		_, err := c.StatObject(t.Context(), bucket, "missing", minio.StatObjectOptions{})
		return answer(err)
	}},
	{"PutObjectLockConfiguration on an existing bucket", func(t *testing.T, c *minio.Client, bucket string) string {
		mode, validity, unit := minio.Governance, uint(1), minio.Days
		return answer(c.SetObjectLockConfig(t.Context(), bucket, &mode, &validity, &unit))
	}},
}

// TestBackendDifferences sends requests whose answers differ between
// stores to each backend directly and through s3seal: the client gets the
// backend's own answer, status and code, on every backend. The answers are
// logged per backend (docs/COMPATIBILITY.md, Backends, lists them).
func TestBackendDifferences(t *testing.T) {
	t.Parallel()
	for _, kind := range harness.AllBackends {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			backend := harness.StartBackend(t, kind)
			harness.LogBackend(t, backend)
			s := newStackOn(t, backend)
			ctx := t.Context()
			direct, through := s.direct, s.gw.Client(t)
			for _, side := range []struct {
				c      *minio.Client
				bucket string
			}{{direct, "probe-direct"}, {through, "probe-gw"}} {
				if err := side.c.MakeBucket(ctx, side.bucket, minio.MakeBucketOptions{}); err != nil {
					t.Fatal(err)
				}
				if _, err := side.c.PutObject(ctx, side.bucket, "k", strings.NewReader("an object"), 9, minio.PutObjectOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range backendProbes {
				t.Run(p.name, func(t *testing.T) {
					want := p.do(t, direct, "probe-direct")
					got := p.do(t, through, "probe-gw")
					t.Logf("%s, %s: %s directly, %s through s3seal", kind, p.name, want, got)
					if got != want {
						t.Errorf("%s through s3seal: %s, want %s's own %s", p.name, got, kind, want)
					}
				})
			}
		})
	}
}
