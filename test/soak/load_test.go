//go:build soak

package soak

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3seal/s3seal/test/harness"
)

// opKind is one kind of operation of the mix.
type opKind int

const (
	opPut opKind = iota
	opMultipart
	opGet
	opRangedGet
	opIfMatchMismatch
	opList
	opDelete
	numOps
)

var opNames = [numOps]string{
	opPut:             "PUT",
	opMultipart:       "multipart upload (2 parts)",
	opGet:             "GET (whole object)",
	opRangedGet:       "ranged GET with If-Match",
	opIfMatchMismatch: "ranged GET, stale If-Match (want 412)",
	opList:            "LIST (client's prefix)",
	opDelete:          "DELETE",
}

// opWeights is the mix: out of 100 operations.
var opWeights = [numOps]int{
	opPut:             24,
	opMultipart:       3,
	opGet:             25,
	opRangedGet:       20,
	opIfMatchMismatch: 5,
	opList:            12,
	opDelete:          11,
}

// putSizes are the single-PUT sizes, around DARE's 64 KiB package edges.
var putSizes = []int{0, 1, 100, 4096, 65535, 65536, 65537, 200_000, 1<<20 + 3}

const keysPerClient = 8

// tally counts one kind of operation across all clients.
type tally struct {
	ops, errors, corruptions atomic.Int64
}

// load is the shared state of a run.
type load struct {
	bucket string
	s3     *s3.Client
	tally  [numOps]tally
	total  atomic.Int64 // operations started, for -ops

	mu       sync.Mutex
	problems []string // the first few errors and corruptions, for the log and report
}

const maxProblems = 20

func (l *load) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < maxProblems {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// object is what a key must hold: content regenerated from its seed.
type object struct {
	seed uint64
	size int
	etag string
}

// content returns the n bytes of an object version: a ChaCha8 stream from
// its seed, so clients keep 8 bytes per key, not the data.
func content(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// client is one simulated user. It owns the keys under its prefix, so it
// knows exactly what each must hold.
type client struct {
	id      int
	l       *load
	rng     *rand.Rand
	kms     bool // SSE-KMS with the gateway's default key name; otherwise the bucket default (SSE-S3)
	objects map[string]object
	// failed holds keys whose last write failed: they may hold either
	// version, so reads of them are not judged (the failure already
	// counts as an error) until the next write makes them certain.
	failed map[string]bool
	seed   uint64
}

func newClient(l *load, id int) *client {
	return &client{id: id, l: l, rng: rand.New(rand.NewPCG(uint64(id), 0x5eed)), kms: id%2 == 1, objects: map[string]object{}, failed: map[string]bool{}, seed: uint64(id) << 40}
}

func (c *client) prefix() string { return fmt.Sprintf("c%02d/", c.id) }

func (c *client) key(i int) string { return fmt.Sprintf("%sk%d", c.prefix(), i) }

func (c *client) nextSeed() uint64 { c.seed++; return c.seed }

// pick draws an operation from the mix.
func (c *client) pick() opKind {
	n := c.rng.IntN(100)
	for k := range numOps {
		if n < opWeights[k] {
			return k
		}
		n -= opWeights[k]
	}
	return opGet
}

// anyKey is a random key of the client; existing one with an existing
// object when want is set and there is one.
func (c *client) anyKey(wantExisting bool) string {
	if wantExisting && len(c.objects) > 0 {
		i := c.rng.IntN(len(c.objects))
		for k := range c.objects {
			if i == 0 {
				return k
			}
			i--
		}
	}
	return c.key(c.rng.IntN(keysPerClient))
}

// run does one operation and accounts it.
func (c *client) run(ctx context.Context, kind opKind) {
	t := &c.l.tally[kind]
	t.ops.Add(1)
	err := c.do(ctx, kind)
	var corrupt *corruption
	switch {
	case err == nil:
	case errors.As(err, &corrupt):
		t.corruptions.Add(1)
		c.l.problem("corruption: client %d, %s: %v", c.id, opNames[kind], err)
	default:
		t.errors.Add(1)
		c.l.problem("error: client %d, %s: %v", c.id, opNames[kind], err)
	}
}

// corruption is a read that returned something other than what was
// written, or a listing that disagrees with the writes.
type corruption struct{ msg string }

func (e *corruption) Error() string { return e.msg }

func corrupted(format string, args ...any) error {
	return &corruption{msg: fmt.Sprintf(format, args...)}
}

func (c *client) do(ctx context.Context, kind opKind) error {
	switch kind {
	case opPut:
		return c.put(ctx, c.anyKey(false), putSizes[c.rng.IntN(len(putSizes))])
	case opMultipart:
		return c.multipart(ctx, c.anyKey(false))
	case opGet:
		return c.get(ctx, c.anyKey(c.rng.IntN(4) > 0))
	case opRangedGet:
		return c.rangedGet(ctx, c.anyKey(true), false)
	case opIfMatchMismatch:
		return c.rangedGet(ctx, c.anyKey(true), true)
	case opList:
		return c.list(ctx)
	case opDelete:
		return c.delete(ctx, c.anyKey(true))
	}
	return fmt.Errorf("unknown operation %d", kind)
}

func (c *client) put(ctx context.Context, key string, size int) error {
	seed := c.nextSeed()
	in := &s3.PutObjectInput{Bucket: aws.String(c.l.bucket), Key: aws.String(key), Body: bytes.NewReader(content(seed, size))}
	if c.kms {
		in.ServerSideEncryption = s3types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(harness.DefaultKeyName)
	}
	out, err := c.l.s3.PutObject(ctx, in)
	if err != nil {
		c.forget(key)
		return fmt.Errorf("PUT %s (%d bytes): %w", key, size, err)
	}
	c.learn(key, object{seed: seed, size: size, etag: aws.ToString(out.ETag)})
	return nil
}

// multipart uploads a 5 MiB part and a small last part.
func (c *client) multipart(ctx context.Context, key string) error {
	c.forget(key) // uncertain until Complete answers
	seed := c.nextSeed()
	size := 5<<20 + 1 + c.rng.IntN(256<<10)
	data := content(seed, size)
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(c.l.bucket), Key: aws.String(key)}
	if c.kms {
		in.ServerSideEncryption = s3types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(harness.DefaultKeyName)
	}
	up, err := c.l.s3.CreateMultipartUpload(ctx, in)
	if err != nil {
		return fmt.Errorf("CreateMultipartUpload %s: %w", key, err)
	}
	var parts []s3types.CompletedPart
	for i, chunk := range [][]byte{data[:5<<20], data[5<<20:]} {
		n := int32(i + 1)
		out, err := c.l.s3.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(c.l.bucket), Key: aws.String(key), UploadId: up.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(chunk),
		})
		if err != nil {
			return fmt.Errorf("UploadPart %d of %s: %w", n, key, err)
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
	}
	out, err := c.l.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(c.l.bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("CompleteMultipartUpload %s: %w", key, err)
	}
	c.learn(key, object{seed: seed, size: size, etag: aws.ToString(out.ETag)})
	return nil
}

// forget marks key uncertain; learn records what it now holds.
func (c *client) forget(key string) {
	delete(c.objects, key)
	c.failed[key] = true
}

func (c *client) learn(key string, o object) {
	c.objects[key] = o
	delete(c.failed, key)
}

// get reads key whole; a key the client deleted or never wrote must be
// NoSuchKey.
func (c *client) get(ctx context.Context, key string) error {
	want, exists := c.objects[key]
	out, err := c.l.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.l.bucket), Key: aws.String(key)})
	if !exists {
		switch {
		case err == nil:
			n, _ := io.Copy(io.Discard, out.Body)
			out.Body.Close()
			if c.failed[key] {
				return nil
			}
			return corrupted("GET %s: %d bytes of an object that was deleted or never written, want NoSuchKey", key, n)
		case errorCode(err) == "NoSuchKey":
			return nil
		default:
			return fmt.Errorf("GET %s: %w", key, err)
		}
	}
	if err != nil {
		return fmt.Errorf("GET %s: %w", key, err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		return fmt.Errorf("GET %s: read body: %w", key, err)
	}
	if !bytes.Equal(got, content(want.seed, want.size)) {
		return corrupted("GET %s: %d bytes differ from the %d written", key, len(got), want.size)
	}
	if etag := aws.ToString(out.ETag); etag != want.etag {
		return corrupted("GET %s: ETag %s, want %s from the write", key, etag, want.etag)
	}
	return nil
}

// rangedGet reads a random range of key with If-Match: the ETag of the
// last write, or, with stale set, another one, which must be refused.
func (c *client) rangedGet(ctx context.Context, key string, stale bool) error {
	want, exists := c.objects[key]
	if !exists || want.size == 0 {
		return c.get(ctx, key)
	}
	first := c.rng.IntN(want.size)
	last := first + c.rng.IntN(min(want.size-first, 300<<10))
	etag := want.etag
	if stale {
		etag = `"0123456789abcdef0123456789abcdef"`
	}
	out, err := c.l.s3.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(c.l.bucket), Key: aws.String(key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)), IfMatch: aws.String(etag),
	})
	if stale {
		if err == nil {
			out.Body.Close()
			return corrupted("GET %s with a stale If-Match succeeded, want 412", key)
		}
		if status(err) != http.StatusPreconditionFailed {
			return fmt.Errorf("GET %s with a stale If-Match: %w, want 412", key, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("GET %s bytes=%d-%d If-Match %s: %w", key, first, last, etag, err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		return fmt.Errorf("GET %s bytes=%d-%d: read body: %w", key, first, last, err)
	}
	if !bytes.Equal(got, content(want.seed, want.size)[first:last+1]) {
		return corrupted("GET %s bytes=%d-%d: %d bytes differ from what was written", key, first, last, len(got))
	}
	if cr, wantCR := aws.ToString(out.ContentRange), fmt.Sprintf("bytes %d-%d/%d", first, last, want.size); cr != wantCR {
		return corrupted("GET %s bytes=%d-%d: Content-Range %q, want %q", key, first, last, cr, wantCR)
	}
	return nil
}

// list checks that the client's prefix lists exactly its objects, with
// their sizes and ETags.
func (c *client) list(ctx context.Context) error {
	out, err := c.l.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(c.l.bucket), Prefix: aws.String(c.prefix())})
	if err != nil {
		return fmt.Errorf("LIST %s: %w", c.prefix(), err)
	}
	seen := map[string]bool{}
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		seen[key] = true
		want, exists := c.objects[key]
		if !exists {
			// A key whose last write failed may be listed; any other
			// listed key was deleted or never written.
			if c.failed[key] {
				continue
			}
			return corrupted("LIST %s shows %s, which was deleted or never written", c.prefix(), key)
		}
		if size := aws.ToInt64(o.Size); size != int64(want.size) {
			return corrupted("LIST %s: %s has %d bytes, want %d", c.prefix(), key, size, want.size)
		}
		if etag := aws.ToString(o.ETag); etag != want.etag {
			return corrupted("LIST %s: %s has ETag %s, want %s", c.prefix(), key, etag, want.etag)
		}
	}
	for key := range c.objects {
		if !seen[key] {
			return corrupted("LIST %s misses %s", c.prefix(), key)
		}
	}
	return nil
}

func (c *client) delete(ctx context.Context, key string) error {
	if _, err := c.l.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.l.bucket), Key: aws.String(key)}); err != nil {
		c.forget(key)
		return fmt.Errorf("DELETE %s: %w", key, err)
	}
	delete(c.objects, key)
	delete(c.failed, key)
	return nil
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// summary is the figure of one operation kind for the report.
type summary struct {
	name                     string
	ops, errors, corruptions int64
}

func (l *load) summaries() (rows []summary, total summary) {
	total.name = "all"
	for k := range numOps {
		s := summary{name: opNames[k], ops: l.tally[k].ops.Load(), errors: l.tally[k].errors.Load(), corruptions: l.tally[k].corruptions.Load()}
		rows = append(rows, s)
		total.ops += s.ops
		total.errors += s.errors
		total.corruptions += s.corruptions
	}
	return rows, total
}
