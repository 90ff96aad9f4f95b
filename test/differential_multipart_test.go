package test

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// Differential: multipart uploads and checksums, the gateway against
// MinIO's own SSE.

// diffMultipart compares an SSE-KMS multipart upload with the SDK: 5 MiB,
// 5 MiB and 1 MiB parts.
func diffMultipart(t *testing.T, e *diffEnv) {
	const bucket, key = "diff-multipart", "multipart.bin"
	e.createBucket(t, bucket)
	parts := [][]byte{harness.RandomBytes(t, 5*mib), harness.RandomBytes(t, 5*mib), harness.RandomBytes(t, mib)}
	whole := bytes.Join(parts, nil)

	uploads := map[*diffSide]*string{}
	completed := map[*diffSide][]types.CompletedPart{}
	// MinIO sends no SSE headers on CreateMultipartUpload and
	// CompleteMultipartUpload; s3seal sends them, as AWS S3 does.
	mpSkip := []string{dfLength, dfSSE, dfKeyID} // dfLength: XML bodies with different upload ids and locations

	t.Run("CreateMultipartUpload with SSE-KMS", func(t *testing.T) {
		o, g := diffBoth(t, e, "CreateMultipartUpload", func(t *testing.T, s *diffSide) diffResponse {
			rec, opts := diffSDK()
			out, err := s.s3.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key),
				ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(diffKey),
			}, opts...)
			if err == nil {
				uploads[s] = out.UploadId
			}
			return rec.response(t, err, nil)
		}, mpSkip...)
		diffWantDifference(t, "CreateMultipartUpload", dfSSE, "(absent)", "aws:kms", o, g)
		diffWantDifference(t, "CreateMultipartUpload", dfKeyID, "(absent)", diffKeyARN, o, g)
	})
	if uploads[e.oracle] == nil || uploads[e.gw] == nil {
		t.Fatalf("CreateMultipartUpload failed")
	}

	t.Run("UploadPart 5 MiB, 5 MiB, 1 MiB", func(t *testing.T) {
		for i, p := range parts {
			n := int32(i + 1)
			o, g := diffBoth(t, e, fmt.Sprintf("UploadPart %d", n), func(t *testing.T, s *diffSide) diffResponse {
				rec, opts := diffSDK()
				out, err := s.s3.UploadPart(t.Context(), &s3.UploadPartInput{
					Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploads[s], PartNumber: aws.Int32(n), Body: bytes.NewReader(p),
				}, opts...)
				if err == nil {
					// As the SDK's upload manager does: hand back what UploadPart returned.
					completed[s] = append(completed[s], types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
				}
				return rec.response(t, err, nil)
			})
			diffWantField(t, fmt.Sprintf("UploadPart %d", n), dfSSE, "aws:kms", o, g)
			diffWantField(t, fmt.Sprintf("UploadPart %d", n), dfKeyID, diffKeyARN, o, g)
			diffWantField(t, fmt.Sprintf("UploadPart %d", n), dfETagForm, "32 hex", o, g)
		}
	})

	t.Run("CompleteMultipartUpload", func(t *testing.T) {
		o, g := diffBoth(t, e, "CompleteMultipartUpload", func(t *testing.T, s *diffSide) diffResponse {
			rec, opts := diffSDK()
			_, err := s.s3.CompleteMultipartUpload(t.Context(), &s3.CompleteMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: uploads[s],
				MultipartUpload: &types.CompletedMultipartUpload{Parts: completed[s]},
			}, opts...)
			if err == nil {
				s.wrote(bucket, key, whole)
			}
			return rec.response(t, err, nil)
		}, mpSkip...)
		diffWantField(t, "CompleteMultipartUpload", dfStatus, "200", o, g)
		diffWantDifference(t, "CompleteMultipartUpload", dfSSE, "(absent)", "aws:kms", o, g)
		diffWantDifference(t, "CompleteMultipartUpload", dfKeyID, "(absent)", diffKeyARN, o, g)
	})

	t.Run("HEAD of the completed object", func(t *testing.T) {
		o, g := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) })
		diffWantField(t, "HeadObject", dfSSE, "aws:kms", o, g)
		diffWantField(t, "HeadObject", dfKeyID, diffKeyARN, o, g)
		diffWantField(t, "HeadObject", dfETagForm, "32 hex-3", o, g)
		diffWantField(t, "HeadObject", dfLength, strconv.Itoa(len(whole)), o, g)
	})

	for _, tc := range []struct {
		part       int32
		wantLength int
		wantRange  string
	}{
		{1, 5 * mib, fmt.Sprintf("bytes 0-%d/%d", 5*mib-1, len(whole))},
		{3, mib, fmt.Sprintf("bytes %d-%d/%d", 10*mib, len(whole)-1, len(whole))},
	} {
		what := fmt.Sprintf("HeadObject ?partNumber=%d", tc.part)
		t.Run(fmt.Sprintf("HEAD ?partNumber=%d is the part, with x-amz-mp-parts-count", tc.part), func(t *testing.T) {
			o, _ := diffBoth(t, e, what, func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, tc.part) })
			diffWantField(t, what, dfStatus, "206", o)
			diffWantField(t, what, dfPartsCount, "3", o)
			diffWantField(t, what, dfLength, strconv.Itoa(tc.wantLength), o)
			diffWantField(t, what, dfRange, tc.wantRange, o)
		})
		t.Run(fmt.Sprintf("GET ?partNumber=%d is the part", tc.part), func(t *testing.T) {
			what := fmt.Sprintf("GetObject ?partNumber=%d", tc.part)
			o, _ := diffBoth(t, e, what, func(t *testing.T, s *diffSide) diffResponse { return s.getPart(t, bucket, key, tc.part) })
			diffWantField(t, what, dfBody, diffFields(t, diffResponse{Status: 200, Body: parts[tc.part-1]})[dfBody], o)
			diffWantField(t, what, dfRange, tc.wantRange, o)
		})
	}

	t.Run("GET whole and ranges across parts", func(t *testing.T) {
		o, _ := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") })
		diffWantField(t, "GetObject", dfBody, diffFields(t, diffResponse{Status: 200, Body: whole})[dfBody], o)
		for _, rng := range []string{"bytes=5242780-5242979", "bytes=10485750-", "bytes=-1048577"} {
			diffBoth(t, e, "GetObject "+rng, func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, rng) })
		}
	})
}

// diffChecksums compares the x-amz-checksum-* headers of PUT, HEAD and GET
// (checksum mode on) for SSE-KMS and SSE-S3 objects: the SDK sends a CRC32
// of the plaintext with every PUT and validates any checksum it gets back.
func diffChecksums(t *testing.T, e *diffEnv) {
	const bucket = "diff-checksums"
	e.createBucket(t, bucket)
	onlyChecksums := func(field string) bool { return field == dfChecksums }
	for _, d := range diffDomains {
		for _, size := range []int{0, 70000} {
			key := fmt.Sprintf("%s/%d", d.name, size)
			data := harness.RandomBytes(t, size)
			t.Run(key, func(t *testing.T) {
				o, g := e.oracle.put(t, bucket, key, data, d.mod), e.gw.put(t, bucket, key, data, d.mod)
				diffCompareFields(t, "PutObject", o, g, onlyChecksums)
				o, g = e.oracle.head(t, bucket, key, 0, "X-Amz-Checksum-Mode", "ENABLED"), e.gw.head(t, bucket, key, 0, "X-Amz-Checksum-Mode", "ENABLED")
				diffCompareFields(t, "HeadObject with checksum mode", o, g, onlyChecksums)
				o, g = e.oracle.get(t, bucket, key, ""), e.gw.get(t, bucket, key, "")
				diffCompareFields(t, "GetObject with checksum mode", o, g, onlyChecksums)
			})
		}
	}
}
