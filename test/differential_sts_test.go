package test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/s3seal/s3seal/test/harness"
)

// stsAnswer is what a server answered an STS or S3 request: status, error
// code, and the credentials of a successful AssumeRole.
type stsAnswer struct {
	Status int
	Code   string
	Creds  aws.Credentials
}

// postSTS sends form as AssumeRole signed by creds for service sts, as
// aws-sdk-go-v2 sends it (the body's hash signed, not sent).
func postSTS(t *testing.T, endpoint string, creds aws.Credentials, form url.Values) stsAnswer {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return readSTSAnswer(t, req)
}

// listBucketsWith sends ListBuckets signed with creds.
func listBucketsWith(t *testing.T, endpoint string, creds aws.Credentials) stsAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, endpoint+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	req.Header.Set("X-Amz-Content-Sha256", empty)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, empty, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return readSTSAnswer(t, req)
}

func readSTSAnswer(t *testing.T, req *http.Request) stsAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc struct {
		Code      string `xml:"Code"`
		STSCode   string `xml:"Error>Code"`
		AccessKey string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
		Secret    string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
		Token     string `xml:"AssumeRoleResult>Credentials>SessionToken"`
	}
	_ = xml.Unmarshal(raw, &doc)
	a := stsAnswer{Status: resp.StatusCode, Code: doc.Code + doc.STSCode}
	a.Creds = aws.Credentials{AccessKeyID: doc.AccessKey, SecretAccessKey: doc.Secret, SessionToken: doc.Token}
	return a
}

// TestAssumeRoleAnswersAsMinIO sends the same AssumeRole requests, and
// requests with the credentials they return, to MinIO and to s3seal.
func TestAssumeRoleAnswersAsMinIO(t *testing.T) {
	gw := harness.StartGateway(t, harness.StartMinIO(t))
	minioKey, minioSecret := gw.Backend.Keys()
	servers := []struct {
		name, endpoint string
		root           aws.Credentials
	}{
		{"MinIO", gw.Backend.URL(), aws.Credentials{AccessKeyID: minioKey, SecretAccessKey: minioSecret}},
		{"s3seal", gw.Endpoint, aws.Credentials{AccessKeyID: gw.AccessKey, SecretAccessKey: gw.SecretKey}},
	}
	form := func(kv ...string) url.Values {
		f := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
				continue
			}
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	cases := []struct {
		name string
		do   func(t *testing.T, endpoint string, root aws.Credentials) stsAnswer
	}{
		{"success", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("DurationSeconds", "900"))
		}},
		{"Version missing", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("Version", ""))
		}},
		{"Version wrong", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("Version", "2010-05-08"))
		}},
		{"Action other", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("Action", "GetCallerIdentity"))
		}},
		{"DurationSeconds 899", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("DurationSeconds", "899"))
		}},
		{"DurationSeconds 365 days and one second", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("DurationSeconds", "31536001"))
		}},
		{"DurationSeconds not a number", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("DurationSeconds", "1h"))
		}},
		{"Policy malformed", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("Policy", `{"Statement":`))
		}},
		{"Policy without Version", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, root, form("Policy", `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`))
		}},
		{"wrong secret", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			root.SecretAccessKey += "x"
			return postSTS(t, e, root, form())
		}},
		{"unknown access key", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, aws.Credentials{AccessKeyID: "nobody-here", SecretAccessKey: "some-secret-1"}, form())
		}},
		{"temporary credentials work", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return listBucketsWith(t, e, postSTS(t, e, root, form()).Creds)
		}},
		{"temporary credentials assume again", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			return postSTS(t, e, postSTS(t, e, root, form()).Creds, form())
		}},
		{"altered token", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			c := postSTS(t, e, root, form()).Creds
			b := []byte(c.SessionToken)
			b[len(b)/2] ^= 1
			c.SessionToken = string(b)
			return listBucketsWith(t, e, c)
		}},
		{"another key's token", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			c := postSTS(t, e, root, form()).Creds
			c.SessionToken = postSTS(t, e, root, form()).Creds.SessionToken
			return listBucketsWith(t, e, c)
		}},
		{"root with a token", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			root.SessionToken = postSTS(t, e, root, form()).Creds.SessionToken
			return listBucketsWith(t, e, root)
		}},
		{"temporary key without its token", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			c := postSTS(t, e, root, form()).Creds
			c.SessionToken = ""
			return listBucketsWith(t, e, c)
		}},
		{"session policy narrows", func(t *testing.T, e string, root aws.Credentials) stsAnswer {
			c := postSTS(t, e, root, form("Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`)).Creds
			return listBucketsWith(t, e, c)
		}},
	}
	// Deliberate differences, with the reason.
	differences := map[string]string{
		"temporary key without its token": "MinIO stores temporary keys and knows this one needs a token (InvalidTokenId); " +
			"s3seal's are stateless, so without its token the key is unknown (InvalidAccessKeyId)",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2]stsAnswer
			for i, s := range servers {
				got[i] = tc.do(t, s.endpoint, s.root)
			}
			t.Logf("MinIO %d %s, s3seal %d %s", got[0].Status, got[0].Code, got[1].Status, got[1].Code)
			if got[0].Status != got[1].Status || got[0].Code != got[1].Code {
				if why, ok := differences[tc.name]; ok {
					t.Logf("differs on purpose (%s): MinIO %d %s, s3seal %d %s", why, got[0].Status, got[0].Code, got[1].Status, got[1].Code)
					return
				}
				t.Errorf("MinIO %d %s, s3seal %d %s", got[0].Status, got[0].Code, got[1].Status, got[1].Code)
			}
		})
	}
}
