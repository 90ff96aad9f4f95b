package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
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
//
// Key versions: an object under the new key but sealed under an older
// version of it (the key was rotated since) is re-sealed too, so
// `--to-key K` after rotating K moves a bucket onto K's newest version.
// The gateway names an object's key version in X-S3seal-Key-Version and
// the key's newest in its key status; without either (a KMS without
// versions) the key id alone decides.
func runRekey(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fl.SetOutput(stderr)
	endpoint := gatewayFlags(fl)
	bucket := fl.String("bucket", "", "the bucket whose objects to re-key")
	prefix := fl.String("prefix", "", "only objects whose names start with this")
	fromKey := fl.String("from-key", "", "only objects sealed under this KMS key (default: every SSE-S3 and SSE-KMS object)")
	toKey := fl.String("to-key", "", "the KMS key to seal them under")
	dryRun := fl.Bool("dry-run", false, "only say what would be re-keyed")
	maxObjects := fl.Int("max", 0, "stop after re-keying this many objects (0: all)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: s3seal rekey --bucket B --to-key K [--from-key K] [--prefix P] [--endpoint URL] [--dry-run] [--max N]\n\n"+credentialsUsage)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *bucket == "" || *toKey == "" || fl.NArg() != 0 {
		fl.Usage()
		return 2
	}
	g, err := newGatewayClient(*endpoint, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal rekey:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r := rekeyer{g: g, c: g.s3, bucket: *bucket, from: *fromKey, to: *toKey, dryRun: *dryRun, max: *maxObjects, out: stdout}
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
	g                                 *gatewayClient
	c                                 *minio.Client
	latest                            int // newest version of the new key; 0: unknown
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
	st, err := r.g.keyStatus(ctx, r.to)
	if ae, ok := errors.AsType[*adminError](err); ok && ae.Code == "XMinioKMSKeyNotFound" {
		return fmt.Errorf("key %s does not exist", r.to)
	}
	if err != nil {
		fmt.Fprintf(r.out, "cannot tell the newest version of %s (%v): objects under it count as done\n", r.to, err)
	}
	r.latest = st.LatestVersion
	for obj := range r.c.ListObjects(ctx, r.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", r.bucket, obj.Err)
		}
		if r.max > 0 && r.rekeyed >= r.max {
			return nil
		}
		h, err := r.g.head(ctx, r.bucket, obj.Key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.failed++
			fmt.Fprintf(r.out, "%s: failed: %v\n", obj.Key, err)
			continue
		}
		alg := h.Get("X-Amz-Server-Side-Encryption")
		keyID := strings.TrimPrefix(h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), arnPrefix)
		version := h.Get("X-S3seal-Key-Version")
		stale := r.latest > 0 && version != "" && version != strconv.Itoa(r.latest)
		if stale {
			keyID += " version " + version
		}
		switch {
		case alg == "aws:kms" && keyID == r.to:
			r.already++
			fmt.Fprintf(r.out, "%s: already under %s\n", obj.Key, r.to)
			continue
		case alg != "aws:kms" && alg != "AES256":
			r.skipped++
			fmt.Fprintf(r.out, "%s: skipped: not SSE-S3 or SSE-KMS (SSE-C keys are the client's)\n", obj.Key)
			continue
		case r.from != "" && strings.TrimSuffix(keyID, " version "+version) != r.from:
			r.skipped++
			fmt.Fprintf(r.out, "%s: skipped: under %s, not %s\n", obj.Key, describeKey(alg, keyID), r.from)
			continue
		}
		if r.dryRun {
			r.rekeyed++
			fmt.Fprintf(r.out, "%s: would re-key %s → %s\n", obj.Key, describeKey(alg, keyID), r.target())
			continue
		}
		_, err = r.c.CopyObject(ctx,
			minio.CopyDestOptions{Bucket: r.bucket, Object: obj.Key, Encryption: sse},
			minio.CopySrcOptions{Bucket: r.bucket, Object: obj.Key, MatchETag: strings.Trim(h.Get("ETag"), `"`)})
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			r.failed++
			fmt.Fprintf(r.out, "%s: failed: %v\n", obj.Key, err)
			continue
		}
		r.rekeyed++
		fmt.Fprintf(r.out, "%s: re-keyed %s → %s\n", obj.Key, describeKey(alg, keyID), r.target())
	}
	return nil
}

// target names the key and version objects are re-sealed under.
func (r *rekeyer) target() string {
	if r.latest > 1 {
		return r.to + " version " + strconv.Itoa(r.latest)
	}
	return r.to
}

func describeKey(alg, keyID string) string {
	if alg == "AES256" {
		return "SSE-S3"
	}
	return keyID
}
