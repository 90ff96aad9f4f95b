package test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// sseCKey is an SSE-C key as the SDK sends it: base64 key and key MD5.
type sseCKey struct{ key, md5 string }

func newSSECKey(t *testing.T) sseCKey {
	k := harness.RandomBytes(t, 32)
	sum := md5.Sum(k)
	return sseCKey{base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])}
}

// TestSSECErrorsAnswerAsMinIO sends the same SSE-C mistakes to MinIO
// (over https, as SSE-C requires) and to s3seal, and compares the status
// and error code of each answer: reads without the key or with another
// one, parts and copies with the wrong key, malformed key headers.
func TestSSECErrorsAnswerAsMinIO(t *testing.T) {
	ca := harness.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "public.crt"), filepath.Join(dir, "private.key")
	ca.Issue(t, certFile, keyFile)
	oracle := harness.StartMinIO(t, harness.WithMinIOTLS(ca))
	gw := harness.StartGateway(t, harness.StartMinIO(t), harness.WithGatewayTLS(certFile, keyFile, ca.Pool))
	client := func(endpoint, ak, sk string) *s3.Client {
		return harness.S3Client(endpoint, ak, sk, func(o *s3.Options) {
			o.HTTPClient = &http.Client{Transport: ca.Transport()}
			o.RetryMaxAttempts = 1
		})
	}
	sides := []struct {
		name string
		c    *s3.Client
	}{
		{"MinIO", client(oracle.Endpoint, oracle.AccessKey, oracle.SecretKey)},
		{"s3seal", client(gw.Endpoint, gw.AccessKey, gw.SecretKey)},
	}
	k1, k2 := newSSECKey(t), newSSECKey(t)
	data := harness.RandomBytes(t, 100_000)
	// Small: a refusal before the body is read must not race the upload
	// of a large one.
	part := harness.RandomBytes(t, 1000)
	aes := aws.String("AES256")

	type outcome struct {
		status int
		code   string
	}
	results := map[string][2]outcome{}
	var order []string
	for i, side := range sides {
		ctx := t.Context()
		c := side.c
		const bucket = "ssec"
		must := func(what string, err error) {
			if err != nil {
				t.Fatalf("%s: %s: %v", side.name, what, err)
			}
		}
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		must("CreateBucket", err)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), Body: bytes.NewReader(data),
			SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		must("PutObject with SSE-C", err)
		mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mp"),
			SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
		must("CreateMultipartUpload with SSE-C", err)
		plain, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("plain-mp")})
		must("CreateMultipartUpload", err)

		cases := []struct {
			name string
			call func() error
		}{
			{"GET without the key", func() error {
				_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
				return err
			}},
			{"GET with another key", func() error {
				o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"),
					SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k2.key), SSECustomerKeyMD5: aws.String(k2.md5)})
				if err == nil {
					_, err = io.Copy(io.Discard, o.Body)
					o.Body.Close()
				}
				return err
			}},
			{"HEAD without the key", func() error {
				_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj")})
				return err
			}},
			{"HEAD with another key", func() error {
				_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"),
					SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k2.key), SSECustomerKeyMD5: aws.String(k2.md5)})
				return err
			}},
			{"part GET without the key", func() error {
				_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("obj"), PartNumber: aws.Int32(1)})
				return err
			}},
			{"UploadPart with another key than the upload's", func() error {
				_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mp"), UploadId: mp.UploadId,
					PartNumber: aws.Int32(1), Body: bytes.NewReader(part),
					SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k2.key), SSECustomerKeyMD5: aws.String(k2.md5)})
				return err
			}},
			{"UploadPart without the upload's key", func() error {
				_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mp"), UploadId: mp.UploadId,
					PartNumber: aws.Int32(2), Body: bytes.NewReader(part)})
				return err
			}},
			{"CopyObject without the source's key", func() error {
				_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(bucket + "/obj")})
				return err
			}},
			{"CopyObject with another source key", func() error {
				_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"), CopySource: aws.String(bucket + "/obj"),
					CopySourceSSECustomerAlgorithm: aes, CopySourceSSECustomerKey: aws.String(k2.key), CopySourceSSECustomerKeyMD5: aws.String(k2.md5)})
				return err
			}},
			{"UploadPartCopy without the source's key", func() error {
				_, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(bucket), Key: aws.String("plain-mp"), UploadId: plain.UploadId,
					PartNumber: aws.Int32(1), CopySource: aws.String(bucket + "/obj")})
				return err
			}},
			{"PUT with a key MD5 that does not match", func() error {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("bad"), Body: bytes.NewReader(data),
					SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k2.md5)})
				return err
			}},
			{"PUT with another algorithm", func() error {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("bad"), Body: bytes.NewReader(data),
					SSECustomerAlgorithm: aws.String("AES128"), SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5)})
				return err
			}},
			{"PUT with SSE-C and SSE-KMS", func() error {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("bad"), Body: bytes.NewReader(data),
					SSECustomerAlgorithm: aes, SSECustomerKey: aws.String(k1.key), SSECustomerKeyMD5: aws.String(k1.md5),
					ServerSideEncryption: types.ServerSideEncryptionAwsKms})
				return err
			}},
		}
		for _, tc := range cases {
			err := tc.call()
			o := outcome{status: 200, code: apiErrorCode(err)}
			var re *awshttp.ResponseError
			if errors.As(err, &re) {
				o.status = re.HTTPStatusCode()
			} else if err != nil {
				o.status, o.code = -1, err.Error()
			}
			r := results[tc.name]
			r[i] = o
			results[tc.name] = r
			if i == 0 {
				order = append(order, tc.name)
			}
		}
	}
	var diffs []string
	for _, name := range order {
		r := results[name]
		if r[0] != r[1] {
			diffs = append(diffs, fmt.Sprintf("%s: MinIO %d %s, s3seal %d %s", name, r[0].status, r[0].code, r[1].status, r[1].code))
		} else {
			t.Logf("%s: both %d %s", name, r[0].status, r[0].code)
		}
	}
	for _, d := range diffs {
		t.Error(d)
	}
}
