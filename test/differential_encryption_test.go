package test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3seal/s3seal/test/harness"
)

// Differential: SSE-S3, SSE-KMS and SSE-C headers of objects and bucket
// default encryption, the gateway against MinIO's own SSE.

func diffEncContext(t *testing.T, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// diffObjectSSE compares PutObject with SSE headers and the HEAD and GET of
// what it stored.
func diffObjectSSE(t *testing.T, e *diffEnv) {
	const bucket = "diff-object-sse"
	e.createBucket(t, bucket)
	data := harness.RandomBytes(t, 100*1024+17)
	kms := func(keyID string) func(*s3.PutObjectInput) {
		return func(in *s3.PutObjectInput) {
			in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
			in.SSEKMSKeyId = aws.String(keyID)
		}
	}
	context := map[string]string{"project": "s3seal", "tier": "gold"}
	canonicalContext, _ := json.Marshal(context)
	tests := []struct {
		name        string
		mod         func(*s3.PutObjectInput)
		wantSSE     string // on both sides, or on s3seal's if wantMinIOSSE is set
		wantKey     string // "" when not compared
		wantContext string
		// wantMinIOSSE, when set, is MinIO's answer in a documented difference.
		wantMinIOSSE string
	}{
		{"aws:kms with a key id", kms(diffKey), "aws:kms", diffKeyARN, "(absent)", ""},
		{"aws:kms with an arn:aws:kms: key id", kms(diffKeyARN), "aws:kms", diffKeyARN, "(absent)", ""},
		{"aws:kms with an encryption context", func(in *s3.PutObjectInput) {
			kms(diffKey)(in)
			in.SSEKMSEncryptionContext = aws.String(diffEncContext(t, context))
		}, "aws:kms", diffKeyARN, string(canonicalContext), ""},
		{"AES256", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAes256 }, "AES256", "(absent)", "(absent)", ""},
		// Without a key id each side uses its configured default key: MinIO's
		// only static key, s3seal's S3SEAL_KMS_DEFAULT_KEY. Their names differ
		// by configuration, so the key id is not compared.
		{"aws:kms without a key id", func(in *s3.PutObjectInput) { in.ServerSideEncryption = types.ServerSideEncryptionAwsKms }, "aws:kms", "", "(absent)", ""},
		{"no SSE headers and no bucket default: SSE-S3 in s3seal, unencrypted in MinIO", nil, "AES256", "(absent)", "(absent)", "(absent)"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("object-%d", i)
			var skip []string
			if tc.wantKey == "" {
				skip = append(skip, dfKeyID)
			}
			if tc.wantMinIOSSE != "" {
				skip = append(skip, dfSSE)
			}
			put, gwPut := diffBoth(t, e, "PutObject", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, tc.mod) }, skip...)
			head, gwHead := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) }, skip...)
			get, gwGet := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") }, skip...)
			diffWantField(t, "GetObject", dfBody, diffFields(t, diffResponse{Status: 200, Body: data})[dfBody], get)
			for _, r := range []struct {
				what       string
				oracle, gw diffResponse
			}{{"PutObject", put, gwPut}, {"HeadObject", head, gwHead}, {"GetObject", get, gwGet}} {
				if tc.wantMinIOSSE != "" {
					diffWantDifference(t, r.what, dfSSE, tc.wantMinIOSSE, tc.wantSSE, r.oracle, r.gw)
				} else {
					diffWantField(t, r.what, dfSSE, tc.wantSSE, r.oracle)
				}
				if tc.wantKey != "" {
					diffWantField(t, r.what, dfKeyID, tc.wantKey, r.oracle)
				}
				diffWantField(t, r.what, dfContext, tc.wantContext, r.oracle)
				diffWantField(t, r.what, dfBucketKey, "(absent)", r.oracle, r.gw)
				diffWantField(t, r.what, dfETagForm, "32 hex", r.oracle, r.gw)
			}
		})
	}
}

// diffBucketEncryption compares PUT/GET/DELETE ?encryption and writes under
// a bucket default.
func diffBucketEncryption(t *testing.T, e *diffEnv) {
	const bucket = "diff-bucket-sse"
	e.createBucket(t, bucket)
	data := harness.RandomBytes(t, 70*1024+1)
	rule := func(alg types.ServerSideEncryption, keyID string) types.ServerSideEncryptionRule {
		r := types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: alg}}
		if keyID != "" {
			r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(keyID)
		}
		return r
	}
	putEnc := func(t *testing.T, s *diffSide, rules ...types.ServerSideEncryptionRule) diffResponse {
		t.Helper()
		rec, opts := diffSDK()
		_, err := s.s3.PutBucketEncryption(t.Context(), &s3.PutBucketEncryptionInput{
			Bucket:                            aws.String(bucket),
			ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: rules},
		}, opts...)
		return rec.response(t, err, nil)
	}
	// getEnc returns the response and the rule's algorithm and key id.
	getEnc := func(t *testing.T, s *diffSide) (diffResponse, string) {
		t.Helper()
		rec, opts := diffSDK()
		out, err := s.s3.GetBucketEncryption(t.Context(), &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)}, opts...)
		r := rec.response(t, err, nil)
		if err != nil {
			return r, ""
		}
		var rules []string
		for _, rl := range out.ServerSideEncryptionConfiguration.Rules {
			d := rl.ApplyServerSideEncryptionByDefault
			rules = append(rules, fmt.Sprintf("%s key=%q", d.SSEAlgorithm, aws.ToString(d.KMSMasterKeyID)))
		}
		return r, strings.Join(rules, "; ")
	}
	compareGet := func(t *testing.T, wantRules string) {
		t.Helper()
		o, oRules := getEnc(t, e.oracle)
		g, gRules := getEnc(t, e.gw)
		// s3seal's XML starts with an XML declaration, MinIO's does not.
		diffCompare(t, "GetBucketEncryption", o, g, dfLength)
		if gRules != oRules {
			t.Errorf("GetBucketEncryption rules: s3seal %s, want %s (MinIO)", gRules, oRules)
		}
		if wantRules != "" && oRules != wantRules {
			t.Errorf("GetBucketEncryption rules: MinIO %s, want %s", oRules, wantRules)
		}
	}
	putUnder := func(t *testing.T, key, wantSSE, wantKey string) {
		t.Helper()
		put, _ := diffBoth(t, e, "PutObject without SSE headers", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, nil) })
		head, _ := diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) })
		get, _ := diffBoth(t, e, "GetObject", func(t *testing.T, s *diffSide) diffResponse { return s.get(t, bucket, key, "") })
		diffWantField(t, "PutObject", dfSSE, wantSSE, put)
		diffWantField(t, "HeadObject", dfKeyID, wantKey, head)
		diffWantField(t, "GetObject", dfSSE, wantSSE, get)
	}
	// putWithoutDefault writes without SSE headers into the bucket without
	// default encryption: the documented difference.
	putWithoutDefault := func(t *testing.T, key string) {
		t.Helper()
		o, g := diffBoth(t, e, "PutObject without SSE headers or bucket default", func(t *testing.T, s *diffSide) diffResponse { return s.put(t, bucket, key, data, nil) }, dfSSE)
		diffWantDifference(t, "PutObject without SSE headers or bucket default", dfSSE, "(absent)", "AES256", o, g)
		o, g = diffBoth(t, e, "HeadObject", func(t *testing.T, s *diffSide) diffResponse { return s.head(t, bucket, key, 0) }, dfSSE)
		diffWantDifference(t, "HeadObject", dfSSE, "(absent)", "AES256", o, g)
	}

	t.Run("GET without configuration is 404", func(t *testing.T) {
		o, _ := getEnc(t, e.oracle)
		g, _ := getEnc(t, e.gw)
		diffCompare(t, "GetBucketEncryption", o, g)
		diffWantField(t, "GetBucketEncryption", dfCode, "ServerSideEncryptionConfigurationNotFoundError", o, g)
	})

	t.Run("SSE-KMS default", func(t *testing.T) {
		diffBoth(t, e, "PutBucketEncryption aws:kms", func(t *testing.T, s *diffSide) diffResponse {
			return putEnc(t, s, rule(types.ServerSideEncryptionAwsKms, diffKey))
		})
		compareGet(t, fmt.Sprintf("aws:kms key=%q", diffKey))
		putUnder(t, "under-kms-default", "aws:kms", diffKeyARN)
	})

	t.Run("SSE-KMS default with an arn:aws:kms: key id", func(t *testing.T) {
		diffBoth(t, e, "PutBucketEncryption aws:kms arn", func(t *testing.T, s *diffSide) diffResponse {
			return putEnc(t, s, rule(types.ServerSideEncryptionAwsKms, diffKeyARN))
		})
		compareGet(t, "")
		putUnder(t, "under-kms-arn-default", "aws:kms", diffKeyARN)
	})

	t.Run("SSE-S3 default", func(t *testing.T) {
		diffBoth(t, e, "PutBucketEncryption AES256", func(t *testing.T, s *diffSide) diffResponse {
			return putEnc(t, s, rule(types.ServerSideEncryptionAes256, ""))
		})
		compareGet(t, `AES256 key=""`)
		putUnder(t, "under-s3-default", "AES256", "(absent)")
	})

	t.Run("request headers override the default", func(t *testing.T) {
		diffBoth(t, e, "PutObject aws:kms under an SSE-S3 default", func(t *testing.T, s *diffSide) diffResponse {
			return s.put(t, bucket, "override", data, func(in *s3.PutObjectInput) {
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSEKMSKeyId = aws.String(diffKey)
			})
		})
	})

	t.Run("DELETE then GET is 404", func(t *testing.T) {
		o, g := diffBoth(t, e, "DeleteBucketEncryption", func(t *testing.T, s *diffSide) diffResponse {
			rec, opts := diffSDK()
			_, err := s.s3.DeleteBucketEncryption(t.Context(), &s3.DeleteBucketEncryptionInput{Bucket: aws.String(bucket)}, opts...)
			return rec.response(t, err, nil)
		}, dfLength)
		diffWantField(t, "DeleteBucketEncryption", dfStatus, "204", o, g)
		o, _ = getEnc(t, e.oracle)
		g, _ = getEnc(t, e.gw)
		diffCompare(t, "GetBucketEncryption after DELETE", o, g)
		diffWantField(t, "GetBucketEncryption after DELETE", dfCode, "ServerSideEncryptionConfigurationNotFoundError", o, g)
		putWithoutDefault(t, "after-delete")
	})

	t.Run("invalid configurations", func(t *testing.T) {
		tests := []struct {
			name       string
			rules      []types.ServerSideEncryptionRule
			wantStatus string // MinIO's answer, pinned
			wantCode   string
		}{
			{"two rules", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAes256, ""), rule(types.ServerSideEncryptionAwsKms, diffKey)}, "400", "MalformedXML"},
			{"aws:kms without a key id", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAwsKms, "")}, "400", "MalformedXML"},
			{"AES256 with a key id", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAes256, diffKey)}, "400", "MalformedXML"},
			{"unknown algorithm", []types.ServerSideEncryptionRule{rule("aws:foo", "")}, "400", "MalformedXML"},
			// MinIO test-generates a data key, so an unknown key fails here.
			{"unknown KMS key", []types.ServerSideEncryptionRule{rule(types.ServerSideEncryptionAwsKms, "no-such-key")}, "404", "kms:KeyNotFound"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				o, _ := diffBoth(t, e, "PutBucketEncryption", func(t *testing.T, s *diffSide) diffResponse { return putEnc(t, s, tc.rules...) })
				diffWantField(t, "PutBucketEncryption "+tc.name, dfStatus, tc.wantStatus, o)
				diffWantField(t, "PutBucketEncryption "+tc.name, dfCode, tc.wantCode, o)
			})
		}
		t.Run("malformed XML", func(t *testing.T) {
			o, g := diffBoth(t, e, "PutBucketEncryption", func(t *testing.T, s *diffSide) diffResponse {
				return s.raw(t, http.MethodPut, "/"+bucket+"?encryption=", []byte("<ServerSideEncryptionConfiguration><Rule>"), nil)
			})
			diffWantField(t, "PutBucketEncryption malformed XML", dfCode, "MalformedXML", o, g)
		})
		// None of the refused configurations may have been stored.
		o, _ := getEnc(t, e.oracle)
		g, _ := getEnc(t, e.gw)
		diffCompare(t, "GetBucketEncryption after the refused PUTs", o, g)
	})
}

// diffAutoEncryption backs the decision to run the oracle without
// MINIO_KMS_AUTO_ENCRYPTION: this MinIO version supports it, but it turns a
// write without SSE headers into SSE-KMS under the default key, where
// s3seal's default is SSE-S3, so it would not align the two postures.
func diffAutoEncryption(t *testing.T, _ *diffEnv) {
	secret := base64.StdEncoding.EncodeToString(harness.RandomBytes(t, 32))
	m := harness.StartMinIO(t,
		harness.WithMinIOEnv("MINIO_KMS_SECRET_KEY", diffKey+":"+secret),
		harness.WithMinIOEnv("MINIO_KMS_AUTO_ENCRYPTION", "on"),
	)
	s := &diffSide{name: "MinIO with MINIO_KMS_AUTO_ENCRYPTION=on", s3: harness.S3Client(m.Endpoint, m.AccessKey, m.SecretKey)}
	if _, err := s.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("auto")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	put := s.put(t, "auto", "object", harness.RandomBytes(t, 1000), nil)
	diffWantField(t, "PutObject without SSE headers, MINIO_KMS_AUTO_ENCRYPTION=on", dfSSE, "aws:kms", put)
	diffWantField(t, "PutObject without SSE headers, MINIO_KMS_AUTO_ENCRYPTION=on", dfKeyID, diffKeyARN, put)
}
