package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// Bucket policies are s3seal's, not the backend's: PutBucketPolicy stores
// the document as a system record (encrypted and authenticated like every
// record, so backend access can neither read nor forge one) and s3seal
// evaluates it on every request. The backend never sees it: a backend that
// enforced it would judge s3seal's own re-signed requests (which carry no
// client SSE headers) and would serve anonymous reads of ciphertext.
// Replicas cache a bucket's policy for Config.BucketConfigTTL, so a change
// is in force on every replica within that bound (5s by default); the
// replica that made it applies it at once.

func bucketPolicyRecord(bucket string) string { return "buckets/" + bucket + "/policy.json" }

// bucketPolicy returns bucket's policy, nil if it has none.
func (rc *records) bucketPolicy(ctx context.Context, bucket string) (*policy.Policy, error) {
	if p, ok := rc.policies.get(bucket); ok {
		return p, nil
	}
	data, err := rc.get(ctx, bucketPolicyRecord(bucket))
	if errors.Is(err, errRecordNotFound) {
		rc.policies.put(bucket, nil)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s policy: %w", bucket, err)
	}
	p, err := policy.ParseBucketPolicy(data, bucket)
	if err != nil {
		// Stored only after it parsed: an authenticated record that no
		// longer parses is a policy-language change, not tampering. Fail
		// closed.
		return nil, fmt.Errorf("bucket %s policy no longer parses: %w", bucket, err)
	}
	rc.policies.put(bucket, p)
	return p, nil
}

func (s *Server) putBucketPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	// MinIO's order: a body is required, then bounded, then parsed.
	if req.payload == nil || req.payload.Size == 0 {
		return s3err.New(s3err.MissingContentLength, "")
	}
	if req.payload.Size > policy.MaxSize {
		return s3err.New(s3err.PolicyTooLarge, "")
	}
	data, err := readXMLBody(req, policy.MaxSize)
	if s3err.HasCode(err, s3err.MaxMessageLengthExceeded) {
		return s3err.New(s3err.PolicyTooLarge, "")
	}
	if err != nil {
		return err
	}
	p, err := policy.ParseBucketPolicy(data, req.bucket)
	if err != nil {
		return &s3err.Error{Code: s3err.MalformedPolicy, Message: err.Error(), Err: err}
	}
	if p.Version == "" {
		return s3err.New(s3err.MalformedPolicy, "The policy must contain a valid version string")
	}
	if err := s.records.put(ctx, bucketPolicyRecord(req.bucket), data); err != nil {
		return err
	}
	s.records.policies.drop(req.bucket)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getBucketPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	data, err := s.records.get(ctx, bucketPolicyRecord(req.bucket))
	if errors.Is(err, errRecordNotFound) {
		return s3err.New(s3err.NoSuchBucketPolicy, "")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(data)
	return err
}

// getBucketPolicyStatus answers from s3seal's policy, never the backend's
// (which s3seal keeps empty): public when the policy allows anything to
// the principal "*".
func (s *Server) getBucketPolicyStatus(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	p, err := s.records.bucketPolicy(ctx, req.bucket)
	if err != nil {
		return err
	}
	status := policyStatus{IsPublic: "FALSE"}
	if p.GrantsEveryone() {
		status.IsPublic = "TRUE"
	}
	data, err := xml.Marshal(status)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	_, err = w.Write(append([]byte(xml.Header), data...))
	return err
}

// policyStatus is GetBucketPolicyStatus's document, with S3's upper-case
// booleans.
type policyStatus struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PolicyStatus"`
	IsPublic string   `xml:"IsPublic"`
}

func (s *Server) deleteBucketPolicy(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	ctx := r.Context()
	if err := s.bucketExists(ctx, req.bucket); err != nil {
		return err
	}
	if err := s.records.delete(ctx, bucketPolicyRecord(req.bucket)); err != nil && !errors.Is(err, errRecordNotFound) {
		return err
	}
	s.records.policies.drop(req.bucket)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
