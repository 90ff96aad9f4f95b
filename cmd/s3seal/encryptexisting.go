package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// runEncryptExisting encrypts, in place, the objects of a bucket that were
// stored on the backend before s3seal (plaintext, no s3seal metadata),
// through a running gateway.
//
// Each object is rewritten onto itself through the gateway with the
// bucket's default encryption (SSE-KMS under its key, else SSE-S3), as a
// multipart upload whose parts are copies of the object (rewrite). The
// gateway reads the plaintext from the backend, which it allows only for
// buckets listed in S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS, and encrypts it
// into the parts: the data never passes through this command, and memory
// stays bounded whatever the size. Content headers, user metadata and tags
// are read first and given to the upload. Two conditions keep concurrent
// writers safe: every part copy names the ETag this command saw
// (x-amz-copy-source-if-match), and the upload completes only if the
// object still has that ETag (If-Match). A rerun skips objects that are
// already encrypted, so an interrupted run resumes.
func runEncryptExisting(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("encrypt-existing", flag.ContinueOnError)
	fl.SetOutput(stderr)
	endpoint := gatewayFlags(fl)
	bucket := fl.String("bucket", "", "the bucket whose plaintext objects to encrypt")
	prefix := fl.String("prefix", "", "only objects whose names start with this")
	dryRun := fl.Bool("dry-run", false, "only say what would be encrypted")
	maxObjects := fl.Int("max", 0, "stop after encrypting this many objects (0: all)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: s3seal encrypt-existing --bucket B [--prefix P] [--endpoint URL] [--dry-run] [--max N]\n\n"+
			"Encrypts, in place and through a running gateway, objects stored on the backend before s3seal.\n"+
			"The gateway must list the bucket in S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS while this runs.\n"+credentialsUsage)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *bucket == "" || fl.NArg() != 0 || *maxObjects < 0 {
		fl.Usage()
		return 2
	}
	g, err := newGatewayClient(*endpoint, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal encrypt-existing:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	e := encrypter{g: g, bucket: *bucket, dryRun: *dryRun, max: *maxObjects, out: stdout}
	start := time.Now()
	err = e.run(ctx, *prefix)
	elapsed := max(time.Since(start), time.Millisecond)
	verb := "encrypted"
	if *dryRun {
		verb = "would encrypt"
	}
	fmt.Fprintf(stdout, "%s %d (%s), already encrypted %d, changed meanwhile %d, failed %d in %s (%.1f objects/s, %.1f MiB/s)\n",
		verb, e.encrypted, mib(e.bytes), e.already, e.changed, e.failed, elapsed.Round(time.Millisecond),
		float64(e.encrypted+e.already+e.changed+e.failed)/elapsed.Seconds(), float64(e.bytes)/(1<<20)/elapsed.Seconds())
	if e.versioned && !*dryRun && e.encrypted > 0 {
		fmt.Fprintln(stdout, "The bucket is versioned: the plaintext remains in noncurrent versions until you delete them (see docs/OPERATIONS.md).")
	}
	if err != nil {
		fmt.Fprintln(stderr, "s3seal encrypt-existing:", err)
		return 1
	}
	if e.failed > 0 || e.changed > 0 {
		return 1
	}
	return 0
}

type encrypter struct {
	g         *gatewayClient
	bucket    string
	dryRun    bool
	max       int
	out       io.Writer
	target    encrypt.ServerSide
	describe  string // the target encryption, for progress lines
	versioned bool

	encrypted, already, changed, failed int
	bytes                               int64
}

func mib(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// rewritePartSize is the part size of the multipart upload that rewrites
// an object: a multiple of 64 KiB (DARE packages), so every part but the
// last is whole packages and listings show exact sizes without index
// records.
const rewritePartSize = 64 << 20

// rewrite encrypts the object in place through the gateway with a
// multipart upload: part copies from the object itself (each conditional
// on etag; the gateway reads the plaintext and encrypts it as the part),
// then CompleteMultipartUpload conditional on the object still having
// etag. Not a single CopyObject onto itself: that would stream through one
// PUT, which MinIO cannot make conditional on the same object while the
// gateway still reads it (the object lock), and which stops at 5 GiB. The
// upload carries the object's content headers, user metadata and tags. On
// failure the upload is aborted.
func (e *encrypter) rewrite(ctx context.Context, key string, h http.Header, tagMap map[string]string, size int64, etag string) (minio.UploadInfo, error) {
	core := minio.Core{Client: e.g.s3}
	opts := minio.PutObjectOptions{
		ContentType:             h.Get("Content-Type"),
		ContentEncoding:         h.Get("Content-Encoding"),
		ContentDisposition:      h.Get("Content-Disposition"),
		ContentLanguage:         h.Get("Content-Language"),
		CacheControl:            h.Get("Cache-Control"),
		WebsiteRedirectLocation: h.Get("X-Amz-Website-Redirect-Location"),
		StorageClass:            h.Get("X-Amz-Storage-Class"),
		UserMetadata:            map[string]string{},
		UserTags:                tagMap,
		ServerSideEncryption:    e.target,
	}
	if t, err := http.ParseTime(h.Get("Expires")); err == nil {
		opts.Expires = t
	}
	for k, vv := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") && len(vv) > 0 {
			opts.UserMetadata[k] = vv[0]
		}
	}
	uploadID, err := core.NewMultipartUpload(ctx, e.bucket, key, opts)
	if err != nil {
		return minio.UploadInfo{}, err
	}
	info, err := e.copyParts(ctx, core, key, uploadID, size, etag)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = core.AbortMultipartUpload(actx, e.bucket, key, uploadID)
		cancel()
	}
	return info, err
}

func (e *encrypter) copyParts(ctx context.Context, core minio.Core, key, uploadID string, size int64, etag string) (minio.UploadInfo, error) {
	partSize := int64(rewritePartSize)
	if n := (size + partSize - 1) / partSize; n > 10000 {
		partSize = (size/10000 + 64<<10) &^ (64<<10 - 1)
	}
	cond := map[string]string{"X-Amz-Copy-Source-If-Match": etag}
	var parts []minio.CompletePart
	for off, n := int64(0), 1; n == 1 || off < size; off, n = off+partSize, n+1 {
		length := min(partSize, size-off)
		if size <= partSize {
			length = -1 // the whole object, also when it is empty
		}
		p, err := core.CopyObjectPart(ctx, e.bucket, key, e.bucket, key, uploadID, n, off, length, cond)
		if err != nil {
			return minio.UploadInfo{}, err
		}
		parts = append(parts, p)
	}
	var done minio.PutObjectOptions
	done.SetMatchETag(etag)
	return core.CompleteMultipartUpload(ctx, e.bucket, key, uploadID, parts, done)
}

// errNotLegacy explains the gateway's refusal to read plaintext.
var errNotLegacy = errors.New("the gateway refuses to read this bucket's plaintext objects (500 ObjectTampered): " +
	"list the bucket in S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS on the gateway while encrypting, then remove it")

func (e *encrypter) run(ctx context.Context, prefix string) error {
	if err := e.chooseTarget(ctx); err != nil {
		return err
	}
	if v, err := e.g.s3.GetBucketVersioning(ctx, e.bucket); err == nil && v.Enabled() {
		e.versioned = true
	}
	fmt.Fprintf(e.out, "encrypting plaintext objects of %s with %s\n", e.bucket, e.describe)
	for obj := range e.g.s3.ListObjects(ctx, e.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", e.bucket, obj.Err)
		}
		if e.max > 0 && e.encrypted >= e.max {
			fmt.Fprintf(e.out, "stopped after %d objects (--max); run again to continue\n", e.encrypted)
			return nil
		}
		if err := e.one(ctx, obj.Key); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// chooseTarget picks the bucket's default encryption: SSE-KMS under its
// key, else SSE-S3 (what the gateway applies to a bucket without one).
func (e *encrypter) chooseTarget(ctx context.Context) error {
	e.target, e.describe = encrypt.NewSSE(), "SSE-S3"
	cfg, err := e.g.s3.GetBucketEncryption(ctx, e.bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "ServerSideEncryptionConfigurationNotFoundError" {
			return nil
		}
		return fmt.Errorf("bucket encryption of %s: %w", e.bucket, err)
	}
	for _, rule := range cfg.Rules {
		if rule.Apply.SSEAlgorithm == "aws:kms" && rule.Apply.KmsMasterKeyID != "" {
			key := strings.TrimPrefix(rule.Apply.KmsMasterKeyID, arnPrefix)
			if e.target, err = encrypt.NewSSEKMS(key, nil); err != nil {
				return err
			}
			e.describe = "SSE-KMS (" + key + ")"
		}
	}
	return nil
}

// one encrypts one object if it is plaintext. It returns an error only
// when the whole run must stop.
func (e *encrypter) one(ctx context.Context, key string) error {
	h, status, err := e.g.headStatus(ctx, e.bucket, key)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case status == http.StatusInternalServerError:
		return fmt.Errorf("%s: %w", key, errNotLegacy)
	case status == http.StatusNotFound:
		return nil // deleted since it was listed
	case status == http.StatusBadRequest:
		// A plain HEAD of an object is refused only for SSE-C objects,
		// which need their customer key to be read.
		e.already++
		fmt.Fprintf(e.out, "%s: already encrypted (SSE-C: the HEAD needs the customer's key)\n", key)
		return nil
	case err != nil:
		e.failed++
		fmt.Fprintf(e.out, "%s: failed: %v\n", key, err)
		return nil
	}
	if alg := h.Get("X-Amz-Server-Side-Encryption"); alg != "" || h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "" {
		e.already++
		fmt.Fprintf(e.out, "%s: already encrypted\n", key)
		return nil
	}
	size, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	etag := strings.Trim(h.Get("ETag"), `"`)
	if e.dryRun {
		e.encrypted++
		e.bytes += size
		fmt.Fprintf(e.out, "%s: would encrypt %d bytes with %s\n", key, size, e.describe)
		return nil
	}
	tagMap := map[string]string{}
	if t, err := e.g.s3.GetObjectTagging(ctx, e.bucket, key, minio.GetObjectTaggingOptions{}); err == nil {
		tagMap = t.ToMap()
	} else if ctx.Err() == nil {
		e.failed++
		fmt.Fprintf(e.out, "%s: failed: read tags: %v\n", key, err)
		return nil
	}
	info, err := e.rewrite(ctx, key, h, tagMap, size, etag)
	switch code := minio.ToErrorResponse(err).Code; {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case code == "PreconditionFailed" || code == "NoSuchKey":
		e.changed++
		fmt.Fprintf(e.out, "%s: changed while it was being encrypted, left as written (run again to check it)\n", key)
		return nil
	default:
		e.failed++
		fmt.Fprintf(e.out, "%s: failed: %v\n", key, err)
		return nil
	}
	// Verify: the object the gateway now serves is the copy, encrypted
	// and as long as the plaintext was.
	h, _, err = e.g.headStatus(ctx, e.bucket, key)
	switch {
	case err != nil:
		e.failed++
		fmt.Fprintf(e.out, "%s: failed: check after encrypting: %v\n", key, err)
	case strings.Trim(h.Get("ETag"), `"`) != strings.Trim(info.ETag, `"`):
		e.changed++
		fmt.Fprintf(e.out, "%s: encrypted, then overwritten by another writer (run again to check it)\n", key)
	case h.Get("X-Amz-Server-Side-Encryption") == "" || h.Get("Content-Length") != strconv.FormatInt(size, 10):
		e.failed++
		fmt.Fprintf(e.out, "%s: failed: after encrypting it reads as %q, %s bytes; want encrypted, %d bytes\n",
			key, h.Get("X-Amz-Server-Side-Encryption"), h.Get("Content-Length"), size)
	default:
		e.encrypted++
		e.bytes += size
		fmt.Fprintf(e.out, "%s: encrypted %d bytes with %s\n", key, size, e.describe)
	}
	return nil
}
