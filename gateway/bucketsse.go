package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// bucketSSEConfig is a bucket's default encryption.
type bucketSSEConfig struct {
	algorithm string // sseKMS or sseAES256
	keyID     string // KMS key name for sseKMS (no ARN prefix)
	keyIDSent string // the key id as the client wrote it, returned on GET
}

// bucketSSEFile is the stored form of a bucket's default encryption.
type bucketSSEFile struct {
	Version   int    `json:"v"`
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id,omitempty"`
	KeyIDSent string `json:"key_id_sent,omitempty"`
}

// sseConfigXML is the S3 ServerSideEncryptionConfiguration document.
// Unknown elements are ignored, as S3 does.
type sseConfigXML struct {
	XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		Apply *struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		} `xml:"ApplyServerSideEncryptionByDefault"`
	} `xml:"Rule"`
}

// maxXMLBody bounds the XML configuration documents the gateway parses
// itself (bucket encryption).
const maxXMLBody = 1 << 20

// maxCompleteBody bounds a CompleteMultipartUpload document: 10,000 parts
// with every checksum element current SDKs may send (about 2.3 MB with
// CRC32 and SHA256, indented as the AWS CLI does) fit with room to spare.
const maxCompleteBody = 8 << 20

// bucketSSE returns bucket's default encryption, nil if it has none. It is
// cached for BucketConfigTTL so replicas converge within that time.
func (rc *records) bucketSSE(ctx context.Context, bucket string) (*bucketSSEConfig, error) {
	if c, ok := rc.sse.get(bucket); ok {
		return c, nil
	}
	data, err := rc.get(ctx, bucketSSERecord(bucket))
	if errors.Is(err, errRecordNotFound) {
		rc.sse.put(bucket, nil)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s encryption configuration: %w", bucket, err)
	}
	var f bucketSSEFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 1 || (f.Algorithm != sseKMS && f.Algorithm != sseAES256) {
		return nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("bucket %s encryption configuration is malformed", bucket))
	}
	c := &bucketSSEConfig{algorithm: f.Algorithm, keyID: f.KeyID, keyIDSent: f.KeyIDSent}
	rc.sse.put(bucket, c)
	return c, nil
}

// storedBucketSSE is bucketSSE read from the backend, not the cache: what
// GetBucketEncryption answers.
func (rc *records) storedBucketSSE(ctx context.Context, bucket string) (*bucketSSEConfig, error) {
	rc.sse.drop(bucket)
	return rc.bucketSSE(ctx, bucket)
}

// putBucketSSE stores bucket's default encryption.
func (rc *records) putBucketSSE(ctx context.Context, bucket string, f bucketSSEFile) error {
	stored, _ := json.Marshal(f)
	if err := rc.put(ctx, bucketSSERecord(bucket), stored); err != nil {
		return err
	}
	rc.sse.drop(bucket)
	return nil
}

// deleteBucketSSE forgets bucket's default encryption.
func (rc *records) deleteBucketSSE(ctx context.Context, bucket string) error {
	rc.sse.drop(bucket)
	return rc.delete(ctx, bucketSSERecord(bucket))
}

// readXMLBody reads an XML request body of at most limit bytes. A body
// declared longer is refused before a byte of it is read.
func readXMLBody(req *s3Request, limit int64) ([]byte, error) {
	if req.payload == nil {
		return nil, s3err.New(s3err.MissingContentLength, "")
	}
	if req.payload.Size > limit {
		return nil, s3err.New(s3err.MaxMessageLengthExceeded, "")
	}
	data, err := io.ReadAll(io.LimitReader(req.payload.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, s3err.New(s3err.MaxMessageLengthExceeded, "")
	}
	return data, nil
}

// bucketExists asks the backend, so configuration never outlives a bucket
// silently.
func (s *Server) bucketExists(ctx context.Context, bucket string) error {
	resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: bucket})
	if err != nil {
		return backendError(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return s3err.New(s3err.NoSuchBucket, "")
	case http.StatusForbidden:
		return s3err.New(s3err.AccessDenied, "")
	default:
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("HEAD bucket answered %s", resp.Status))
	}
}

func (s *Server) putBucketEncryption(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	// The bucket first, as MinIO checks it (the route differential pins it).
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	data, err := readXMLBody(req, maxXMLBody)
	if err != nil {
		return err
	}
	var doc sseConfigXML
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return s3err.New(s3err.MalformedXML, "")
	}
	if len(doc.Rules) != 1 || doc.Rules[0].Apply == nil {
		return s3err.New(s3err.MalformedXML, "%s (only one server-side encryption rule is allowed at a time)", s3err.MalformedXML.Message)
	}
	rule := doc.Rules[0].Apply
	f := bucketSSEFile{Version: 1, Algorithm: rule.SSEAlgorithm}
	switch rule.SSEAlgorithm {
	case sseAES256:
		if rule.KMSMasterKeyID != "" {
			return s3err.New(s3err.MalformedXML, "%s (MasterKeyID is allowed with aws:kms only)", s3err.MalformedXML.Message)
		}
	case sseKMS:
		if rule.KMSMasterKeyID == "" {
			return s3err.New(s3err.MalformedXML, "%s (MasterKeyID is missing with aws:kms)", s3err.MalformedXML.Message)
		}
		f.KeyID = strings.TrimPrefix(rule.KMSMasterKeyID, arnPrefix)
		f.KeyIDSent = rule.KMSMasterKeyID
	default:
		return s3err.New(s3err.MalformedXML, "%s (unknown SSE algorithm)", s3err.MalformedXML.Message)
	}
	keyID := f.KeyID
	if keyID == "" {
		keyID = s.cfg.DefaultKey
	}
	// Fail now, not at the first upload, if the key is unusable.
	dek, err := s.cfg.KMS.GenerateKey(ctx, keyID, crypto.KMSContext(nil, req.bucket, ""))
	if err != nil {
		return kmsError(err, keyID)
	}
	clear(dek.Plaintext)
	if err := s.records.putBucketSSE(ctx, req.bucket, f); err != nil {
		return err
	}
	req.keyID = f.KeyID
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketEncryption(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	c, err := s.records.storedBucketSSE(ctx, req.bucket)
	if err != nil {
		return err
	}
	if c == nil {
		return &s3err.Error{Code: s3err.ServerSideEncryptionConfigurationNotFound, Resource: "/" + req.bucket}
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>`)
	xml.EscapeText(&b, []byte(c.algorithm))
	b.WriteString(`</SSEAlgorithm>`)
	if c.keyIDSent != "" {
		b.WriteString(`<KMSMasterKeyID>`)
		xml.EscapeText(&b, []byte(c.keyIDSent))
		b.WriteString(`</KMSMasterKeyID>`)
	}
	b.WriteString(`</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)
	w.Header().Set("Content-Type", "application/xml")
	_, err = io.WriteString(w, b.String())
	return err
}

func (s *Server) deleteBucketEncryption(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	if err := s.records.deleteBucketSSE(ctx, req.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteBucket passes through and, once the bucket is gone, forgets its
// encryption configuration so a new bucket of that name starts clean.
func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	rec := &statusRecorder{ResponseWriter: w}
	if err := s.passthrough(rec, r, req); err != nil {
		return err
	}
	if rec.status == http.StatusNoContent {
		if err := s.records.deleteBucketSSE(r.Context(), req.bucket); err != nil {
			s.log.Warn("forget encryption configuration of deleted bucket")
		}
	}
	return nil
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	sr.status = code
	sr.ResponseWriter.WriteHeader(code)
}
