package test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// Differential: range requests and error answers, the gateway against
// MinIO's own SSE.

// diffRangeSizes are the object sizes of the range cases: empty, one byte,
// exactly one DARE package, one byte more, and several packages with a
// short last one.
var diffRangeSizes = []int{0, 1, 65536, 65537, mib + 7}

// diffRanges compares HEAD, whole and ranged GETs and listings of SSE-KMS
// and SSE-S3 objects of the sizes that matter to DARE's package layout.
func diffRanges(t *testing.T, e *diffEnv) {
	const bucket = "diff-ranges"
	e.createBucket(t, bucket)
	sizes := map[string]int64{}
	for _, d := range diffDomains {
		for _, size := range diffRangeSizes {
			key := fmt.Sprintf("%s/%d", d.name, size)
			data := harness.RandomBytes(t, size)
			sizes[key] = int64(size)
			t.Run(key, func(t *testing.T) {
				diffBoth(t, e, "PutObject", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, d.mod) })
				head, _ := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) })
				diffWantField(t, "HeadObject", dfLength, strconv.Itoa(size), head)
				get, _ := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") })
				diffWantField(t, "GetObject", dfBody, diffFields(t, diffResponse{Status: 200, Body: data})[dfBody], get)
				ranges := []string{"bytes=0-0", "bytes=0-99", "bytes=100-", "bytes=-100", "bytes=65535-65537", "bytes=70000-200000",
					fmt.Sprintf("bytes=%d-%d", size+10, size+20)}
				for _, rng := range ranges {
					get := func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, rng) }
					if size == 0 && rng == "bytes=-100" {
						// By design: the whole empty object, 200 as S3
						// answers, not MinIO's 206 "bytes 0--1/0".
						o, g := diffBoth(t, e, "GetObject "+rng, get, dfStatus, dfRange)
						diffWantDifference(t, "GetObject "+rng+" of an empty object", dfStatus, "206", "200", o, g)
						diffWantDifference(t, "GetObject "+rng+" of an empty object", dfRange, "bytes 0--1/0", "(absent)", o, g)
						continue
					}
					_, g := diffBoth(t, e, "GetObject "+rng, get)
					diffCheck416Range(t, rng, g, size)
				}
			})
		}
	}

	t.Run("range beyond the end is 416 InvalidRange", func(t *testing.T) {
		o, g := diffBoth(t, e, "GetObject bytes=2000000-2000010", func(t *testing.T, s *diffSide) diffResponse {
			return s.get(t, bucket, fmt.Sprintf("sse-kms/%d", mib+7), "bytes=2000000-2000010")
		})
		diffWantField(t, "GetObject beyond the end", dfStatus, "416", o, g)
		diffWantField(t, "GetObject beyond the end", dfCode, "InvalidRange", o, g)
		diffCheck416Range(t, "bytes=2000000-2000010", g, mib+7)
	})

	t.Run("ListObjectsV2 sizes and ETags", func(t *testing.T) {
		list := func(s *diffSide) map[string]string {
			out, err := s.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			if err != nil {
				t.Fatalf("%s: ListObjectsV2: %v", s.name, err)
			}
			m := map[string]string{}
			for _, o := range out.Contents {
				m[aws.ToString(o.Key)] = fmt.Sprintf("size %d, ETag %s", aws.ToInt64(o.Size), mcflowETagForm(aws.ToString(o.ETag)))
			}
			return m
		}
		want, got := list(e.oracle), list(e.gw)
		for key, size := range sizes {
			if w := fmt.Sprintf("size %d, ETag 32 hex", size); want[key] != w {
				t.Errorf("ListObjectsV2 %s: MinIO %q, want %q", key, want[key], w)
			}
			if got[key] != want[key] {
				t.Errorf("ListObjectsV2 %s: s3seal %q, want %q (MinIO)", key, got[key], want[key])
			}
		}
		if len(got) != len(want) {
			t.Errorf("ListObjectsV2: s3seal lists %d objects, want %d (MinIO)", len(got), len(want))
		}
	})
}

// diffCheck416Range checks the Content-Range of s3seal's 416 answers, which
// MinIO leaves out: absent or RFC 9110's "bytes */SIZE".
func diffCheck416Range(t *testing.T, rng string, gw diffResponse, size int) {
	t.Helper()
	if gw.Status != http.StatusRequestedRangeNotSatisfiable {
		return
	}
	if got, want := diffHeader(gw.Header, "Content-Range"), fmt.Sprintf("bytes */%d", size); got != "(absent)" && got != want {
		t.Errorf("GetObject %s: s3seal 416 with Content-Range %q, want none or %q", rng, got, want)
	}
}

// diffErrors compares refused requests.
func diffErrors(t *testing.T, e *diffEnv) {
	const bucket = "diff-errors"
	e.createBucket(t, bucket)
	data := harness.RandomBytes(t, 10*1024)
	for _, s := range e.sides() {
		if r := s.put(t, bucket, "existing", data, func(in *s3.PutObjectInput) {
			in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
			in.SSEKMSKeyId = aws.String(diffKey)
		}); r.Status != http.StatusOK {
			t.Fatalf("%s: PutObject: %d %s", s.name, r.Status, r.Code)
		}
	}
	type check struct {
		field, want string
	}
	tests := []struct {
		name string
		op   func(t *testing.T, s *diffSide) diffResponse
		want []check
	}{
		// MinIO answers 400 BadRequest (DESIGN.md says InvalidRequest).
		{"SSE header AES256 on GET", func(t *testing.T, s *diffSide) diffResponse {
			return s.get(t, bucket, "existing", "", "X-Amz-Server-Side-Encryption", "AES256")
		}, []check{{dfStatus, "400"}, {dfCode, "BadRequest"}}},
		{"SSE header aws:kms on GET", func(t *testing.T, s *diffSide) diffResponse {
			return s.get(t, bucket, "existing", "", "X-Amz-Server-Side-Encryption", "aws:kms")
		}, []check{{dfStatus, "400"}, {dfCode, "BadRequest"}}},
		// A HEAD response has no body, so the SDK can only report the status.
		{"SSE header on HEAD", func(t *testing.T, s *diffSide) diffResponse {
			return s.head(t, bucket, "existing", 0, "X-Amz-Server-Side-Encryption", "AES256")
		}, []check{{dfStatus, "400"}}},
		{"AES256 with a KMS key id", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "aes-with-key", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAes256
				in.SSEKMSKeyId = aws.String(diffKey)
			})
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		{"unknown algorithm", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "unknown-alg", data, func(in *s3.PutObjectInput) { in.ServerSideEncryption = "aws:foo" })
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		// MinIO's answer (with its static KMS as with KES, the KMS error
		// ErrKeyNotFound) is 404 kms:KeyNotFound; DESIGN.md's 400
		// KMS.NotFoundException is AWS's.
		{"unknown KMS key", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "unknown-key", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSEKMSKeyId = aws.String("no-such-key")
			})
		}, []check{{dfStatus, "404"}, {dfCode, "kms:KeyNotFound"}}},
		{"KMS key id without aws:kms", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "key-without-alg", data, func(in *s3.PutObjectInput) { in.SSEKMSKeyId = aws.String(diffKey) })
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		{"encryption context that is not base64", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "bad-context", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSEKMSKeyId = aws.String(diffKey)
				in.SSEKMSEncryptionContext = aws.String("not base64!")
			})
		}, []check{{dfStatus, "400"}, {dfCode, "InvalidArgument"}}},
		{"GET of a missing key", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, "missing", "") },
			[]check{{dfStatus, "404"}, {dfCode, "NoSuchKey"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The pinned answer is MinIO's; diffBoth compares s3seal's with it.
			o, _ := diffBoth(t, e, tc.name, tc.op)
			for _, c := range tc.want {
				diffWantField(t, tc.name, c.field, c.want, o)
			}
		})
	}
}
