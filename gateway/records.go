package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// records is s3seal's own persistence, in the system bucket on the
// backend: bucket encryption configurations, multipart upload keys,
// multipart layouts, the listing index and the key that authenticates it.
// Each record is encrypted and authenticated like an object (SSE-S3 under
// the default key, sealed to its record name), so backend access alone can
// neither read nor alter nor move one. Handlers use records; none of them
// touches the system bucket directly. Nothing is kept locally but caches,
// so replicas stay stateless.
type records struct {
	bucket  string // the system bucket
	backend *backend
	// store encrypts data and stores it as the record name; unseal
	// authenticates a stored record's metadata and returns its key. The
	// Server's object path provides both, so records are sealed exactly
	// like objects.
	store  func(ctx context.Context, name string, h http.Header, data []byte) (*http.Response, error)
	unseal func(ctx context.Context, meta *crypto.Metadata, name string) (crypto.ObjectKey, error)

	indexKey []byte // authenticates listing-index entries; set by Init
	// listsMetadata: the backend lists object metadata (listmeta.go);
	// set by Init.
	listsMetadata atomic.Bool
	sse           *ttlCache[*bucketSSEConfig] // nil value: no configuration
	policies      *ttlCache[*policy.Policy]   // bucket policies; nil value: none
	layouts       *ttlCache[partLayout]
	uploads       *ttlCache[*uploadState]
	partCache     *ttlCache[*partRecord] // part records this replica wrote
}

var errRecordNotFound = errors.New("record not found")

// RecordKeyError reports a system record the configured KMS cannot open:
// it was sealed under KeyID, which the key store does not hold, or holds
// with other key material. Typically the gateway was started with another
// key store than the one that wrote its records.
type RecordKeyError struct {
	Record string // the record's name in the system bucket
	KeyID  string // the KMS key it is sealed under
	Err    error
}

func (e *RecordKeyError) Error() string {
	return fmt.Sprintf("system record %s is sealed under KMS key %q, which the configured key store cannot open: %v", e.Record, e.KeyID, e.Err)
}

func (e *RecordKeyError) Unwrap() error { return e.Err }

const maxRecordSize = 1 << 20

// probe is a cheap readiness probe of the backend.
func (rc *records) probe(ctx context.Context) error {
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: rc.bucket})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("backend: HEAD system bucket answered %s", resp.Status)
	}
	return nil
}

// ensureBucket creates the system bucket if it does not exist.
func (rc *records) ensureBucket(ctx context.Context) error {
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: rc.bucket})
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
	default:
		return fmt.Errorf("HEAD answered %s", resp.Status)
	}
	var body []byte
	if rc.backend.region != sigv4.DefaultRegion {
		body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` + rc.backend.region + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	resp, err = rc.backend.do(ctx, backendRequest{Method: http.MethodPut, Bucket: rc.bucket, Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("create bucket answered %s: %s", resp.Status, msg)
	}
	return nil
}

// put stores data as the sealed record name.
func (rc *records) put(ctx context.Context, name string, data []byte) error {
	return rc.putIf(ctx, name, data, false)
}

var errRecordExists = errors.New("record exists")

// putIf stores a record; with onlyNew it fails with errRecordExists
// instead of replacing one (a conditional PUT, so racing replicas agree).
func (rc *records) putIf(ctx context.Context, name string, data []byte, onlyNew bool) error {
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	if onlyNew {
		h.Set("If-None-Match", "*")
	}
	resp, err := rc.store(ctx, name, h, data)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case onlyNew && resp.StatusCode == http.StatusPreconditionFailed:
		return errRecordExists
	default:
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("store record %s: backend answered %s", name, resp.Status))
	}
}

const indexKeyRecord = "keys/index-mac"

// loadKey reads, or on first start creates, the random 32-byte key kept
// as the record name: the key that authenticates listing-index entries
// (indexKeyRecord), the one that seals STS session tokens (stsKeyRecord).
// Every replica ends up with the same.
func (rc *records) loadKey(ctx context.Context, name string) ([]byte, error) {
	for range 3 {
		data, err := rc.get(ctx, name)
		if err == nil {
			if len(data) != 32 {
				return nil, fmt.Errorf("key record %s is malformed", name)
			}
			return data, nil
		}
		if !errors.Is(err, errRecordNotFound) {
			return nil, err
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		switch err := rc.putIf(ctx, name, key, true); {
		case err == nil:
			return key, nil
		case !errors.Is(err, errRecordExists):
			return nil, err
		}
	}
	return nil, fmt.Errorf("key record %s: could not create or read it", name)
}

// get reads and authenticates the record name. A missing record is
// errRecordNotFound; a record that fails authentication is an error, never
// a fallback.
func (rc *records) get(ctx context.Context, name string) ([]byte, error) {
	data, _, err := rc.getWithETag(ctx, name)
	return data, err
}

// getWithETag is get, also returning the backend's ETag of the stored
// record (which changes with every write: each write seals afresh).
func (rc *records) getWithETag(ctx context.Context, name string) (_ []byte, etag string, _ error) {
	data, resp, err := rc.read(ctx, name)
	if resp != nil {
		etag = resp.Header.Get("ETag")
	}
	return data, etag, err
}

func (rc *records) read(ctx context.Context, name string) ([]byte, *http.Response, error) {
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: rc.bucket, Object: name})
	if err != nil {
		return nil, nil, backendError(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil, errRecordNotFound
	default:
		return nil, nil, s3err.Wrap(s3err.InternalError, fmt.Errorf("read record %s: backend answered %s", name, resp.Status))
	}
	meta, err := crypto.DecodeMetadata(resp.Header.Get)
	if err != nil {
		return nil, nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("record %s: %w", name, err))
	}
	if meta.Domain != crypto.DomainS3 || meta.Multipart {
		return nil, nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("record %s: unexpected encryption", name))
	}
	key, err := rc.unseal(ctx, meta, name)
	if err != nil {
		if s3err.HasCode(err, s3err.KMSUnavailable) {
			return nil, nil, err
		}
		return nil, nil, &RecordKeyError{Record: name, KeyID: meta.KeyID, Err: err}
	}
	if resp.ContentLength > crypto.EncryptedSize(maxRecordSize) {
		return nil, nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("record %s: %d bytes", name, resp.ContentLength))
	}
	plain, err := crypto.DecryptReader(resp.Body, key, 0)
	if err != nil {
		return nil, nil, s3err.Wrap(s3err.ObjectTampered, err)
	}
	data, err := io.ReadAll(io.LimitReader(plain, maxRecordSize+1))
	if err != nil {
		return nil, nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("record %s: %w", name, err))
	}
	return data, resp, nil
}

// etag returns the backend's ETag of the record name without reading
// it, "" if there is none: a cheap test for a change.
func (rc *records) etag(ctx context.Context, name string) (string, error) {
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: rc.bucket, Object: name})
	if err != nil {
		return "", backendError(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Header.Get("ETag"), nil
	case http.StatusNotFound:
		return "", nil
	default:
		return "", s3err.Wrap(s3err.InternalError, fmt.Errorf("head record %s: backend answered %s", name, resp.Status))
	}
}

var errRecordChanged = errors.New("record changed")

// replace stores a record only if it is still the version ifMatch names
// (a backend ETag; "" for no record yet), and returns the new version's
// ETag. Another writer's change in between is errRecordChanged: a
// compare-and-swap between replicas.
func (rc *records) replace(ctx context.Context, name string, data []byte, ifMatch string) (string, error) {
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	if ifMatch == "" {
		h.Set("If-None-Match", "*")
	} else {
		h.Set("If-Match", ifMatch)
	}
	resp, err := rc.store(ctx, name, h, data)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Header.Get("ETag"), nil
	case http.StatusPreconditionFailed, http.StatusConflict:
		return "", errRecordChanged
	default:
		return "", s3err.Wrap(s3err.InternalError, fmt.Errorf("store record %s: backend answered %s", name, resp.Status))
	}
}

// delete removes a record; a missing one is not an error.
func (rc *records) delete(ctx context.Context, name string) error {
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodDelete, Bucket: rc.bucket, Object: name})
	if err != nil {
		return backendError(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("delete record %s: backend answered %s", name, resp.Status))
	}
	return nil
}

// deleteMany removes records, up to 1000 per multi-object delete; missing
// ones are not an error. A backend without multi-object delete gets one
// DELETE per record.
func (rc *records) deleteMany(ctx context.Context, names []string) error {
	for len(names) > 0 {
		batch := names[:min(len(names), 1000)]
		names = names[len(batch):]
		var doc bytes.Buffer
		doc.WriteString("<Delete><Quiet>true</Quiet>")
		for _, n := range batch {
			doc.WriteString("<Object><Key>" + xmlEscape(n) + "</Key></Object>")
		}
		doc.WriteString("</Delete>")
		sum := md5.Sum(doc.Bytes())
		resp, err := rc.backend.do(ctx, backendRequest{
			Method: http.MethodPost, Bucket: rc.bucket, RawQuery: "delete=",
			Header: http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}, "Content-Type": {"application/xml"}},
			Body:   bytes.NewReader(doc.Bytes()), Size: int64(doc.Len()),
		})
		if err != nil {
			return backendError(err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize))
		resp.Body.Close()
		if err != nil {
			return backendError(err)
		}
		switch {
		case resp.StatusCode == http.StatusNotImplemented:
			for _, n := range batch {
				if err := rc.delete(ctx, n); err != nil {
					return err
				}
			}
		case resp.StatusCode != http.StatusOK:
			return s3err.Wrap(s3err.InternalError, fmt.Errorf("delete %d records: backend answered %s", len(batch), resp.Status))
		default:
			var res struct {
				Errors []struct{ Key, Code string } `xml:"Error"`
			}
			if err := xml.Unmarshal(body, &res); err != nil {
				return s3err.Wrap(s3err.InternalError, fmt.Errorf("delete records: %w", err))
			}
			for _, e := range res.Errors {
				if e.Code != "NoSuchKey" {
					return s3err.Wrap(s3err.InternalError, fmt.Errorf("delete record %s: %s", e.Key, e.Code))
				}
			}
		}
	}
	return nil
}

func bucketSSERecord(bucket string) string { return "buckets/" + bucket + "/encryption.json" }

func uploadRecord(bucket, uploadID string) string {
	return "uploads/" + bucket + "/" + hashName(uploadID)
}

// layoutRecord names the part layout of one version of a multipart object:
// the backend ETag pins the version, so overwrites need no cleanup.
func layoutRecord(bucket, object, etag string) string {
	return "layouts/" + bucket + "/" + hashName(object) + "/" + strings.Trim(etag, `"`)
}

func hashName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// layoutFile is the stored form of a multipart layout. Version 2 adds
// what the client was told at CompleteMultipartUpload: the object's ETag
// and checksums (version 1 layouts, of uploads completed before, have
// neither: their client ETag is the backend's).
type layoutFile struct {
	Version int     `json:"v"`
	Parts   []int64 `json:"parts"`   // plaintext part sizes in part order
	Numbers []int   `json:"numbers"` // the S3 part numbers, whose part keys encrypted them

	ETag          string       `json:"etag,omitempty"` // client-visible, unquoted
	Checksum      checksumMode `json:"checksum,omitzero"`
	ChecksumValue string       `json:"checksumValue,omitempty"` // the object's, base64 ("-N" if composite)
	PartChecksums []string     `json:"partChecksums,omitempty"` // of Checksum.Algorithm, in part order
}

// putLayout records the part layout of one version of a multipart object.
func (rc *records) putLayout(ctx context.Context, bucket, object, etag string, layout partLayout) error {
	data, _ := json.Marshal(layoutFile{
		Version: 2, Parts: layout.sizes, Numbers: layout.numbers,
		ETag: layout.etag, Checksum: layout.checksum, ChecksumValue: layout.checksumValue, PartChecksums: layout.partChecksums,
	})
	if err := rc.put(ctx, layoutRecord(bucket, object, etag), data); err != nil {
		return err
	}
	rc.layouts.put(layoutRecord(bucket, object, etag), layout)
	return nil
}

// layout reads the part layout of one version of a multipart object.
func (rc *records) layout(ctx context.Context, bucket, object, etag string) (partLayout, error) {
	name := layoutRecord(bucket, object, etag)
	if l, ok := rc.layouts.get(name); ok {
		return l, nil
	}
	data, err := rc.get(ctx, name)
	if errors.Is(err, errRecordNotFound) {
		return partLayout{}, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("multipart object %s/%s has no layout record", bucket, object))
	}
	if err != nil {
		return partLayout{}, err
	}
	var f layoutFile
	if err := json.Unmarshal(data, &f); err != nil || !f.valid() {
		return partLayout{}, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("layout record %s is malformed", name))
	}
	l := partLayout{sizes: f.Parts, numbers: f.Numbers, etag: f.ETag, checksum: f.Checksum, checksumValue: f.ChecksumValue, partChecksums: f.PartChecksums}
	rc.layouts.put(name, l)
	return l, nil
}

// valid checks a decoded layout record's consistency.
func (f *layoutFile) valid() bool {
	switch {
	case f.Version != 1 && f.Version != 2, len(f.Parts) == 0, len(f.Numbers) != len(f.Parts):
		return false
	case f.Version == 1:
		return f.ETag == "" && f.Checksum == (checksumMode{}) && f.ChecksumValue == "" && f.PartChecksums == nil
	}
	if etag, n, ok := strings.Cut(f.ETag, "-"); !ok || !isHexETag(etag) || n != strconv.Itoa(len(f.Parts)) {
		return false
	}
	if f.Checksum == (checksumMode{}) {
		return f.ChecksumValue == "" && f.PartChecksums == nil
	}
	alg := f.Checksum.alg()
	if alg == nil || len(f.PartChecksums) != len(f.Parts) || f.ChecksumValue == "" {
		return false
	}
	for _, v := range f.PartChecksums {
		if _, ok := decodeChecksumValue(alg, v); !ok {
			return false
		}
	}
	return true
}
