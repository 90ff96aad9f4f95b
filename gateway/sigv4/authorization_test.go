package sigv4

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/gateway/s3err"
)

const testSignature = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"

func TestParseAuthorizationToleratesClientSpacing(t *testing.T) {
	tests := []struct {
		name   string
		header string
	}{
		{"AWS documentation form", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=" + testSignature},
		{"no spaces after commas (minio-go, aws-sdk-go v1)", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-date,Signature=" + testSignature},
		{"several spaces", "AWS4-HMAC-SHA256   Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request ,  SignedHeaders=host;range;x-amz-date ,Signature=" + testSignature + "  "},
		{"no space after the algorithm", "AWS4-HMAC-SHA256Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-date,Signature=" + testSignature},
		{"components in another order", "AWS4-HMAC-SHA256 Signature=" + testSignature + ", SignedHeaders=x-amz-date;range;host, Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
		{"empty component from a doubled comma", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,, SignedHeaders=host;range;x-amz-date, Signature=" + testSignature},
		{"upper-case signed header names", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=Host;Range;X-Amz-Date, Signature=" + testSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseAuthorization(tt.header)
			if err != nil {
				t.Fatalf("parseAuthorization: %v", err)
			}
			want := credential{accessKey: "AKIAIOSFODNN7EXAMPLE", date: "20130524", region: "us-east-1", service: "s3", terminal: "aws4_request"}
			if a.credential != want {
				t.Errorf("credential = %+v, want %+v", a.credential, want)
			}
			if want := []string{"host", "range", "x-amz-date"}; !slices.Equal(a.signedHeaders, want) {
				t.Errorf("signed headers = %q, want %q", a.signedHeaders, want)
			}
			if a.signature[0] != 0xfe || a.signature[31] != 0x24 {
				t.Errorf("signature = %x, want %s", a.signature, testSignature)
			}
		})
	}
}

func TestParseAuthorizationKeepsSlashesAndSpacesInAccessKeys(t *testing.T) {
	a, err := parseAuthorization("AWS4-HMAC-SHA256 Credential=svc/acct key/20130524//s3/aws4_request, SignedHeaders=host, Signature=" + testSignature)
	if err != nil {
		t.Fatalf("parseAuthorization: %v", err)
	}
	if a.credential.accessKey != "svc/acct key" || a.credential.region != "" {
		t.Errorf("credential = %+v, want access key %q and the empty region", a.credential, "svc/acct key")
	}
}

func TestParseAuthorizationRejectsMalformedHeaders(t *testing.T) {
	cred := "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	tests := []struct {
		name   string
		header string
		want   s3err.Code
	}{
		{"signature version 2", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", s3err.InvalidRequest},
		{"signature version 4A", "AWS4-ECDSA-P256-SHA256 " + cred + ", SignedHeaders=host, Signature=" + testSignature, s3err.InvalidRequest},
		{"empty", "", s3err.InvalidRequest},
		{"no signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", s3err.AuthorizationHeaderMalformed},
		{"no signed headers", "AWS4-HMAC-SHA256 " + cred + ", Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"no credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"short credential", "AWS4-HMAC-SHA256 Credential=AKID/20130524/s3/aws4_request, SignedHeaders=host, Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"empty access key", "AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"short signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + testSignature[:63], s3err.AuthorizationHeaderMalformed},
		{"non-hex signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + strings.Repeat("g", 64), s3err.AuthorizationHeaderMalformed},
		{"repeated signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + testSignature + ", Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"unknown component", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + testSignature + ", Extra=1", s3err.AuthorizationHeaderMalformed},
		{"component without =", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders, Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"empty signed header name", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
		{"duplicate signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;x-amz-date;Host, Signature=" + testSignature, s3err.AuthorizationHeaderMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAuthorization(tt.header)
			wantCode(t, err, tt.want)
			if strings.Contains(err.Error(), testSignature[:16]) {
				t.Errorf("error %q quotes the signature", err)
			}
		})
	}
}
