package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// gatewayClient talks to a running gateway as its root user: the S3 API
// through minio-go, the KMS admin API (/minio/kms/v1/...) with requests
// signed as madmin-go signs them (SigV4, empty region).
type gatewayClient struct {
	s3       *minio.Client
	endpoint *url.URL
	ak, sk   string
	http     *http.Client
}

// gatewayFlags declares --endpoint on fl.
func gatewayFlags(fl *flag.FlagSet) *string {
	return fl.String("endpoint", "http://127.0.0.1:9010", "the gateway's S3 endpoint")
}

const credentialsUsage = "Credentials: S3SEAL_ROOT_USER and S3SEAL_ROOT_PASSWORD (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."

// newGatewayClient returns a client of the gateway at endpoint, with the
// root credentials from the environment.
func newGatewayClient(endpoint string, getenv func(string) string) (*gatewayClient, error) {
	ak, sk := getenv("S3SEAL_ROOT_USER"), getenv("S3SEAL_ROOT_PASSWORD")
	if ak == "" {
		ak, sk = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--endpoint %q is not an http(s) URL", endpoint)
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Secure: u.Scheme == "https"})
	if err != nil {
		return nil, err
	}
	return &gatewayClient{s3: c, endpoint: u, ak: ak, sk: sk, http: &http.Client{Timeout: time.Minute}}, nil
}

// adminError is the JSON error document of MinIO's admin API.
type adminError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func (e *adminError) Error() string { return e.Code + ": " + e.Message }

// admin sends one KMS admin request and decodes a 200 answer into out
// (nil: discard). A JSON error document comes back as *adminError.
func (g *gatewayClient) admin(ctx context.Context, method, path string, query url.Values, out any) error {
	u := *g.endpoint
	u.Path = "/minio/kms/v1/" + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	empty := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(empty[:]))
	req = signer.SignV4(*req, g.ak, g.sk, "", "")
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e adminError
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			return &e
		}
		return fmt.Errorf("%s %s: %s", method, u.Path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

// head HEADs an object and returns the response headers, all of them
// (minio-go's StatObject drops s3seal's X-S3seal-Key-Version).
func (g *gatewayClient) head(ctx context.Context, bucket, object string) (http.Header, error) {
	h, _, err := g.headStatus(ctx, bucket, object)
	return h, err
}

// headStatus is head that also returns the status code of a failure.
func (g *gatewayClient) headStatus(ctx context.Context, bucket, object string) (http.Header, int, error) {
	u := *g.endpoint
	u.Path = "/" + bucket + "/" + object
	u.RawPath = "/" + s3utils.EncodePath(bucket) + "/" + s3utils.EncodePath(object)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	empty := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(empty[:]))
	req = signer.SignV4(*req, g.ak, g.sk, "", "")
	resp, err := g.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("HEAD %s/%s: %s", bucket, object, resp.Status)
	}
	return resp.Header, resp.StatusCode, nil
}

// keyStatus is the gateway's answer to GET key/status.
type keyStatus struct {
	KeyID         string `json:"key-id"`
	EncryptionErr string `json:"encryption-error"`
	DecryptionErr string `json:"decryption-error"`
	LatestVersion int    `json:"latest-version"`
	Versions      []struct {
		Version   int       `json:"version"`
		CreatedAt time.Time `json:"createdAt"`
		CreatedBy string    `json:"createdBy"`
	} `json:"versions"`
}

func (g *gatewayClient) keyStatus(ctx context.Context, key string) (keyStatus, error) {
	var st keyStatus
	err := g.admin(ctx, http.MethodGet, "key/status", url.Values{"key-id": {key}}, &st)
	return st, err
}

func (g *gatewayClient) rotateKey(ctx context.Context, key string) (int, error) {
	var res struct {
		Version int `json:"version"`
	}
	if err := g.admin(ctx, http.MethodPost, "key/rotate", url.Values{"key-id": {key}}, &res); err != nil {
		return 0, err
	}
	if res.Version < 2 {
		return 0, errors.New("the gateway answered without a new key version")
	}
	return res.Version, nil
}
