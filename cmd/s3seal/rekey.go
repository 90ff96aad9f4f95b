package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// runRekey re-seals the keys of a bucket's objects under another KMS key,
// through a running gateway's S3 API, without re-encrypting data: each
// object is copied onto itself with SSE-KMS under the new key, which
// s3seal answers by re-sealing the object key and letting the backend copy
// the ciphertext (MinIO's batch key rotation does the same). Each copy is
// conditional on the ETag the object had when it was looked at, so a
// concurrent write is never overwritten with older data. A rerun skips what
// is already under the new key, so an interrupted run resumes.
func runRekey(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fl.SetOutput(stderr)
	endpoint := fl.String("endpoint", "http://127.0.0.1:9010", "the gateway's S3 endpoint")
	bucket := fl.String("bucket", "", "the bucket whose objects to re-key")
	prefix := fl.String("prefix", "", "only objects whose names start with this")
	fromKey := fl.String("from-key", "", "only objects sealed under this KMS key (default: every SSE-S3 and SSE-KMS object)")
	toKey := fl.String("to-key", "", "the KMS key to seal them under")
	dryRun := fl.Bool("dry-run", false, "only say what would be re-keyed")
	maxObjects := fl.Int("max", 0, "stop after re-keying this many objects (0: all)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: s3seal rekey --bucket B --to-key K [--from-key K] [--prefix P] [--endpoint URL] [--dry-run] [--max N]\n\n"+
			"Credentials: S3SEAL_ROOT_USER and S3SEAL_ROOT_PASSWORD (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *bucket == "" || *toKey == "" || fl.NArg() != 0 {
		fl.Usage()
		return 2
	}
	ak, sk := getenv("S3SEAL_ROOT_USER"), getenv("S3SEAL_ROOT_PASSWORD")
	if ak == "" {
		ak, sk = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Host == "" {
		fmt.Fprintf(stderr, "s3seal rekey: --endpoint %q is not a URL\n", *endpoint)
		return 2
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Secure: u.Scheme == "https"})
	if err != nil {
		fmt.Fprintln(stderr, "s3seal rekey:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r := rekeyer{c: c, bucket: *bucket, from: *fromKey, to: *toKey, dryRun: *dryRun, max: *maxObjects, out: stdout}
	start := time.Now()
	err = r.run(ctx, *prefix)
	verb := "re-keyed"
	if *dryRun {
		verb = "would re-key"
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%s %d, already under %s %d, skipped %d, failed %d in %s (%.1f objects/s)\n",
		verb, r.rekeyed, *toKey, r.already, r.skipped, r.failed, elapsed.Round(time.Millisecond), float64(r.rekeyed+r.already+r.skipped)/max(elapsed.Seconds(), 0.001))
	if err != nil {
		fmt.Fprintln(stderr, "s3seal rekey:", err)
		return 1
	}
	if r.failed > 0 {
		return 1
	}
	return 0
}

type rekeyer struct {
	c                                 *minio.Client
	bucket, from, to                  string
	dryRun                            bool
	max                               int
	out                               io.Writer
	rekeyed, already, skipped, failed int
}

const arnPrefix = "arn:aws:kms:"

func (r *rekeyer) run(ctx context.Context, prefix string) error {
	sse, err := encrypt.NewSSEKMS(r.to, nil)
	if err != nil {
		return err
	}
	for obj := range r.c.ListObjects(ctx, r.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", r.bucket, obj.Err)
		}
		if r.max > 0 && r.rekeyed >= r.max {
			return nil
		}
		st, err := r.c.StatObject(ctx, r.bucket, obj.Key, minio.StatObjectOptions{})
		if err != nil {
			r.failed++
			fmt.Fprintf(r.out, "%s: failed: %v\n", obj.Key, err)
			continue
		}
		alg := st.Metadata.Get("X-Amz-Server-Side-Encryption")
		keyID := strings.TrimPrefix(st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), arnPrefix)
		switch {
		case alg == "aws:kms" && keyID == r.to:
			r.already++
			fmt.Fprintf(r.out, "%s: already under %s\n", obj.Key, r.to)
			continue
		case alg != "aws:kms" && alg != "AES256":
			r.skipped++
			fmt.Fprintf(r.out, "%s: skipped: not SSE-S3 or SSE-KMS (SSE-C keys are the client's)\n", obj.Key)
			continue
		case r.from != "" && keyID != r.from:
			r.skipped++
			fmt.Fprintf(r.out, "%s: skipped: under %s, not %s\n", obj.Key, describeKey(alg, keyID), r.from)
			continue
		}
		if r.dryRun {
			r.rekeyed++
			fmt.Fprintf(r.out, "%s: would re-key %s → %s\n", obj.Key, describeKey(alg, keyID), r.to)
			continue
		}
		_, err = r.c.CopyObject(ctx,
			minio.CopyDestOptions{Bucket: r.bucket, Object: obj.Key, Encryption: sse},
			minio.CopySrcOptions{Bucket: r.bucket, Object: obj.Key, MatchETag: strings.Trim(st.ETag, `"`)})
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			r.failed++
			fmt.Fprintf(r.out, "%s: failed: %v\n", obj.Key, err)
			continue
		}
		r.rekeyed++
		fmt.Fprintf(r.out, "%s: re-keyed %s → %s\n", obj.Key, describeKey(alg, keyID), r.to)
	}
	return nil
}

func describeKey(alg, keyID string) string {
	if alg == "AES256" {
		return "SSE-S3"
	}
	return keyID
}
