package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/sse"
)

// bucketRow is one bucket and its default encryption.
type bucketRow struct {
	Name       string
	Created    string
	Encryption string // SSE-KMS, SSE-S3 or none
	KeyID      string // SSE-KMS only
	Error      string // why the configuration could not be read
	Contents   string // object count and size from one listing page; empty: not counted
}

// Counting a bucket's objects costs a listing page (up to countLimit keys)
// per bucket, so the buckets page counts only the first countLimit keys of
// at most countBuckets buckets: cheap where it is shown, "1000+" beyond.
const (
	countLimit   = 1000
	countBuckets = 50
)

// contents counts the first countLimit objects of bucket.
func contents(ctx context.Context, a *api, bucket string) string {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n, size int64
	for o := range a.s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, MaxKeys: countLimit}) {
		if o.Err != nil {
			return describe(o.Err)
		}
		if n == countLimit {
			return strconv.Itoa(countLimit) + "+ objects, " + humanBytes(size) + "+"
		}
		n++
		size += o.Size
	}
	if n == 1 {
		return "1 object, " + humanBytes(size)
	}
	return strconv.FormatInt(n, 10) + " objects, " + humanBytes(size)
}

// bucketEncryption reads a bucket's default encryption as the gateway
// reports it.
func bucketEncryption(ctx context.Context, a *api, bucket string) (mode, keyID string, err error) {
	cfg, err := a.s3.GetBucketEncryption(ctx, bucket)
	if err != nil {
		if errorCode(err) == "ServerSideEncryptionConfigurationNotFoundError" {
			return "none", "", nil
		}
		return "", "", err
	}
	for _, rule := range cfg.Rules {
		switch rule.Apply.SSEAlgorithm {
		case "aws:kms":
			return "SSE-KMS", strings.TrimPrefix(rule.Apply.KmsMasterKeyID, "arn:aws:kms:"), nil
		case "AES256":
			return "SSE-S3", "", nil
		}
	}
	return "none", "", nil
}

// listBuckets lists the buckets the user may see with their default
// encryption and, if count, their contents (see countLimit).
func (c *Console) listBuckets(ctx context.Context, a *api, count bool) ([]bucketRow, error) {
	buckets, err := a.s3.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]bucketRow, 0, len(buckets))
	for _, b := range buckets {
		row := bucketRow{Name: b.Name, Created: b.CreationDate.UTC().Format("2006-01-02 15:04")}
		mode, key, err := bucketEncryption(ctx, a, b.Name)
		if err != nil {
			row.Error = describe(err)
		}
		row.Encryption, row.KeyID = mode, key
		if count && len(buckets) <= countBuckets {
			row.Contents = contents(ctx, a, b.Name)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

type bucketsData struct {
	Buckets []bucketRow
	Keys    []kmsKey // for the SSE-KMS key choice; nil if the user may not list keys
}

func (c *Console) bucketsPage(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	c.renderBuckets(w, r, sess, a, http.StatusOK, "", "")
}

func (c *Console) renderBuckets(w http.ResponseWriter, r *http.Request, sess *session, a *api, status int, notice, errMsg string) {
	ctx, cancel := actionContext(r)
	defer cancel()
	p := newPage(sess, "buckets", "Buckets")
	p.Notice, p.Error = notice, errMsg
	data := bucketsData{}
	rows, err := c.listBuckets(ctx, a, true)
	if err != nil {
		p.Error = joinErrors(p.Error, "ListBuckets: "+describe(err))
		if status == http.StatusOK {
			status = statusOf(err)
		}
	}
	data.Buckets = rows
	data.Keys, _ = a.listKeys(ctx) // a user without kms:ListKeys types the key name
	p.Data = data
	c.render(w, status, "buckets", p)
}

func joinErrors(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (c *Console) createBucket(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	name := strings.TrimSpace(r.PostFormValue("bucket"))
	ctx, cancel := actionContext(r)
	defer cancel()
	if err := a.s3.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: a.region}); err != nil {
		c.renderBuckets(w, r, sess, a, statusOf(err), "", "CreateBucket "+name+": "+describe(err))
		return
	}
	c.renderBuckets(w, r, sess, a, http.StatusOK, "Created bucket "+name+".", "")
}

// setBucketEncryption sets (SSE-KMS with a key, SSE-S3) or clears (none) a
// bucket's default encryption. Clearing it does not make the bucket
// plaintext: s3seal still encrypts every object under its default key
// unless the bucket is one of S3SEAL_PLAINTEXT_BUCKETS.
func (c *Console) setBucketEncryption(w http.ResponseWriter, r *http.Request, sess *session, a *api) {
	bucket := r.PathValue("bucket")
	mode := r.PostFormValue("mode")
	key := strings.TrimSpace(r.PostFormValue("key"))
	ctx, cancel := actionContext(r)
	defer cancel()
	var err error
	var op, notice string
	switch mode {
	case "sse-kms":
		op, notice = "PutBucketEncryption", "Bucket "+bucket+" now encrypts new objects with SSE-KMS under key "+key+"."
		if key == "" {
			c.renderBuckets(w, r, sess, a, http.StatusBadRequest, "", "PutBucketEncryption "+bucket+": SSE-KMS needs a key")
			return
		}
		err = a.s3.SetBucketEncryption(ctx, bucket, sse.NewConfigurationSSEKMS(key))
	case "sse-s3":
		op, notice = "PutBucketEncryption", "Bucket "+bucket+" now encrypts new objects with SSE-S3."
		err = a.s3.SetBucketEncryption(ctx, bucket, sse.NewConfigurationSSES3())
	case "none":
		op, notice = "DeleteBucketEncryption", "Bucket "+bucket+" has no default encryption configuration now."
		err = a.s3.RemoveBucketEncryption(ctx, bucket)
	default:
		c.renderBuckets(w, r, sess, a, http.StatusBadRequest, "", "choose SSE-KMS, SSE-S3 or none")
		return
	}
	if err != nil {
		c.renderBuckets(w, r, sess, a, statusOf(err), "", op+" "+bucket+": "+describe(err))
		return
	}
	c.renderBuckets(w, r, sess, a, http.StatusOK, notice, "")
}
