package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/kmsclient"
)

// apiHost is the Host of the console's requests to the gateway: an address
// literal, so that no configured Domain makes them virtual-hosted-style.
const apiHost = "127.0.0.1"

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// api is one logged-in user's view of the gateway: every call is an S3 or
// admin request signed with the user's credentials and served by the
// gateway's handler, so the gateway authenticates and authorises it as it
// would any client's. The console itself decides nothing about access.
type api struct {
	s3        *minio.Client
	transport http.RoundTripper
	accessKey string
	secretKey string
	region    string
}

func newAPI(gw http.Handler, region, accessKey, secretKey string) (*api, error) {
	t := inProcess{handler: gw}
	c, err := minio.New(apiHost, &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secretKey, ""),
		Transport:    t,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, fmt.Errorf("console S3 client: %w", err)
	}
	return &api{s3: c, transport: t, accessKey: accessKey, secretKey: secretKey, region: region}, nil
}

// apiError is an S3 or admin API error as the gateway answered it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// describe is an error in words for a page: the S3/KMS error code and the
// gateway's message, never a Go error chain.
func describe(err error) string {
	if err == nil {
		return ""
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	var me minio.ErrorResponse
	if errors.As(err, &me) {
		if me.Message == "" {
			return me.Code
		}
		return me.Code + ": " + me.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "RequestTimeout: the gateway did not answer in time"
	}
	// The S3 client refused before sending (an invalid bucket or object
	// name), or the in-process call failed. Its errors carry names, never
	// credentials.
	return "the request was not sent: " + err.Error()
}

// errorCode is the S3 or admin error code of err, or "".
func errorCode(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return minio.ToErrorResponse(err).Code
}

// admin sends one request to s3seal's admin KMS API
// (/minio/kms/v1/...), signed as mc admin signs (empty region), and decodes
// the JSON answer into out (nil: ignore it).
func (a *api) admin(ctx context.Context, method, path string, query url.Values, out any) error {
	body, err := a.adminRequest(ctx, method, "/minio/kms/v1/"+path, query, nil)
	if err != nil || out == nil || len(body) == 0 {
		return err
	}
	return json.Unmarshal(body, out)
}

// adminRequest sends one admin API request with body (nil: none), signed
// as mc admin signs (empty region), and returns the answer's body. An
// answer other than 200 is an *apiError.
func (a *api) adminRequest(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	u := "http://" + apiHost + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	payloadHash := emptySHA256
	if body != nil {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
		// Opaque, so that nothing parses it as a form (the attach and
		// detach endpoints insist).
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	req = signer.SignV4(*req, a.accessKey, a.secretKey, "", "")
	resp, err := a.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			// Authentication failures come as S3 XML.
			er := minio.ErrorResponse{}
			if xml.Unmarshal(data, &er) == nil && er.Code != "" {
				e.Code, e.Message = er.Code, er.Message
			} else {
				e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
			}
		}
		return nil, e
	}
	return data, nil
}

// kmsKey is one key of the KMS as key/list and key/status describe it.
type kmsKey struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

type kmsKeyVersion struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

type kmsKeyStatus struct {
	KeyID         string          `json:"key-id"`
	EncryptionErr string          `json:"encryption-error"`
	DecryptionErr string          `json:"decryption-error"`
	LatestVersion int             `json:"latest-version"`
	Versions      []kmsKeyVersion `json:"versions"`
}

func (a *api) listKeys(ctx context.Context) ([]kmsKey, error) {
	var keys []kmsKey
	err := a.admin(ctx, http.MethodGet, "key/list", url.Values{"pattern": {"*"}}, &keys)
	return keys, err
}

func (a *api) createKey(ctx context.Context, name string) error {
	return a.admin(ctx, http.MethodPost, "key/create", url.Values{"key-id": {name}}, nil)
}

func (a *api) rotateKey(ctx context.Context, name string) (int, error) {
	var out struct {
		Version int `json:"version"`
	}
	err := a.admin(ctx, http.MethodPost, "key/rotate", url.Values{"key-id": {name}}, &out)
	return out.Version, err
}

func (a *api) keyStatus(ctx context.Context, name string) (kmsKeyStatus, error) {
	var st kmsKeyStatus
	err := a.admin(ctx, http.MethodGet, "key/status", url.Values{"key-id": {name}}, &st)
	return st, err
}

func (a *api) kmsStatus(ctx context.Context) (kmsclient.Status, error) {
	var st kmsclient.Status
	err := a.admin(ctx, http.MethodGet, "status", nil, &st)
	return st, err
}

// headObject is a signed HeadObject that returns the answer's headers as
// the gateway sent them: minio-go's StatObject keeps only the headers it
// knows, and drops s3seal's X-S3seal-Key-Version.
func (a *api) headObject(ctx context.Context, bucket, key string) (http.Header, error) {
	u := "http://" + apiHost + s3utils.EncodePath("/"+bucket+"/"+key)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	req = signer.SignV4(*req, a.accessKey, a.secretKey, "", a.region)
	resp, err := a.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A HEAD error has no body: MinIO-compatible servers name it in
		// headers, else the status says what it was.
		e := &apiError{Status: resp.StatusCode, Code: resp.Header.Get("X-Minio-Error-Code"), Message: resp.Header.Get("X-Minio-Error-Desc")}
		if e.Code == "" {
			e.Code = map[int]string{
				http.StatusNotFound: "NoSuchKey", http.StatusForbidden: "AccessDenied",
				http.StatusBadRequest: "BadRequest", http.StatusServiceUnavailable: "ServiceUnavailable",
			}[resp.StatusCode]
		}
		if e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		return nil, e
	}
	return resp.Header, nil
}
