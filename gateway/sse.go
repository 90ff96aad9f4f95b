package gateway

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/kmsclient"
)

// SSE request and response headers.
const (
	hdrSSE            = "X-Amz-Server-Side-Encryption"
	hdrSSEKeyID       = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	hdrSSEContext     = "X-Amz-Server-Side-Encryption-Context"
	hdrSSEBucketKey   = "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"
	hdrSSECAlgorithm  = "X-Amz-Server-Side-Encryption-Customer-Algorithm"
	hdrSSECKey        = "X-Amz-Server-Side-Encryption-Customer-Key"
	hdrSSECKeyMD5     = "X-Amz-Server-Side-Encryption-Customer-Key-Md5"
	hdrCopySSECPrefix = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-"

	sseKMS    = "aws:kms"
	sseAES256 = "AES256"
	arnPrefix = "arn:aws:kms:"
)

// encryption is what a write asks for, after request headers and the
// bucket's default configuration are combined.
type encryption struct {
	domain  crypto.Domain
	keyID   string            // KMS key (SSE-KMS, SSE-S3)
	context map[string]string // client's KMS context (SSE-KMS), nil if none
	ssec    *customerKey      // SSE-C
}

// customerKey is an SSE-C key from request headers.
type customerKey struct {
	key    []byte
	keyMD5 string // base64, as on the wire
}

// parseCustomerKey reads SSE-C headers with the given prefix
// ("X-Amz-Server-Side-Encryption-Customer-" or the copy-source variant).
// It returns nil when none is present.
func (s *Server) parseCustomerKey(r *http.Request, copySource bool) (*customerKey, error) {
	alg, keyH, md5H := hdrSSECAlgorithm, hdrSSECKey, hdrSSECKeyMD5
	if copySource {
		alg, keyH, md5H = hdrCopySSECPrefix+"Algorithm", hdrCopySSECPrefix+"Key", hdrCopySSECPrefix+"Key-Md5"
	}
	a, k, m := r.Header.Get(alg), r.Header.Get(keyH), r.Header.Get(md5H)
	if a == "" && k == "" && m == "" {
		return nil, nil
	}
	if r.TLS == nil && !s.cfg.AllowInsecureSSEC {
		return nil, s3err.New(s3err.InsecureSSECustomerRequest, "")
	}
	if a != sseAES256 {
		// MinIO's answer (the SSE-C differential test pins it); AWS says
		// InvalidEncryptionAlgorithmError.
		return nil, s3err.New(s3err.InvalidArgument, "The SSE-C algorithm is not supported.")
	}
	key, err := base64.StdEncoding.DecodeString(k)
	if err != nil || len(key) != 32 {
		return nil, s3err.New(s3err.InvalidArgument, "The secret key was invalid for the specified algorithm.")
	}
	sum := md5.Sum(key)
	if m == "" || m != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, s3err.New(s3err.InvalidArgument, "The calculated MD5 hash of the key did not match the hash that was provided.")
	}
	return &customerKey{key: key, keyMD5: m}, nil
}

// refuseInsecureSSEC refuses SSE-C headers (for the object or a copy
// source) sent over plain http, on every operation, as MinIO does: the key
// has crossed the network in the clear, and an operation that takes no key
// must not look as if it had used one.
func (s *Server) refuseInsecureSSEC(r *http.Request) error {
	if r.TLS != nil || s.cfg.AllowInsecureSSEC {
		return nil
	}
	for _, name := range ssecHeaderNames {
		if _, ok := r.Header[name]; ok {
			return s3err.New(s3err.InsecureSSECustomerRequest, "")
		}
	}
	return nil
}

// ssecHeaderNames are the SSE-C headers, of the object and of a copy source,
// in canonical form; built once, not per request.
var ssecHeaderNames = func() []string {
	var names []string
	for _, prefix := range []string{"X-Amz-Server-Side-Encryption-Customer-", hdrCopySSECPrefix} {
		for _, name := range []string{"Algorithm", "Key", "Key-Md5"} {
			names = append(names, prefix+name)
		}
	}
	return names
}()

// rejectSSEOnRead refuses SSE-S3/SSE-KMS headers on GET and HEAD with
// MinIO's answer (400 BadRequest; the differential test pins it).
func rejectSSEOnRead(r *http.Request) error {
	if r.Header.Get(hdrSSE) != "" || r.Header.Get(hdrSSEKeyID) != "" || r.Header.Get(hdrSSEContext) != "" {
		return s3err.New(s3err.BadRequest, "Server-side encryption headers are not allowed on GET and HEAD.")
	}
	return nil
}

// kmsRequested reports SSE-KMS headers as MinIO reads them: a key id or
// context, or an algorithm other than SSE-S3's.
func kmsRequested(h http.Header) bool {
	if h.Get(hdrSSEKeyID) != "" || h.Get(hdrSSEContext) != "" {
		return true
	}
	alg, ok := h[hdrSSE]
	return ok && !strings.EqualFold(strings.Join(alg, ""), sseAES256)
}

// requestedEncryption decides how a write to bucket is encrypted: request
// headers first, then the bucket's default, then SSE-S3 under the default
// key. It returns nil only for an operator-configured plaintext bucket when
// the request asks for nothing.
func (s *Server) requestedEncryption(ctx context.Context, r *http.Request, bucket string) (*encryption, error) {
	ssec, err := s.parseCustomerKey(r, false)
	if err != nil {
		return nil, err
	}
	alg := r.Header.Get(hdrSSE)
	keyID := r.Header.Get(hdrSSEKeyID)
	ctxHeader := r.Header.Get(hdrSSEContext)
	if ssec != nil {
		if alg != "" || keyID != "" || ctxHeader != "" {
			return nil, s3err.New(s3err.InvalidArgument, "Server Side Encryption with Customer provided key is incompatible with the encryption method specified.")
		}
		return &encryption{domain: crypto.DomainC, ssec: ssec}, nil
	}
	switch alg {
	case "":
		if keyID != "" || ctxHeader != "" {
			return nil, s3err.New(s3err.InvalidArgument, "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		return s.bucketDefaultEncryption(ctx, bucket)
	case sseAES256:
		if keyID != "" || ctxHeader != "" {
			return nil, s3err.New(s3err.InvalidArgument, "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
		return &encryption{domain: crypto.DomainS3, keyID: s.cfg.DefaultKey}, nil
	case sseKMS:
		enc := &encryption{domain: crypto.DomainKMS, keyID: strings.TrimPrefix(keyID, arnPrefix)}
		if ctxHeader != "" {
			c, err := parseKMSContext(ctxHeader)
			if err != nil {
				return nil, err
			}
			enc.context = c
		}
		if enc.keyID == "" {
			enc.keyID = s.cfg.DefaultKey
			if def, err := s.records.bucketSSE(ctx, bucket); err == nil && def != nil && def.keyID != "" {
				enc.keyID = def.keyID
			} else if err != nil {
				return nil, err
			}
		}
		return enc, nil
	default:
		return nil, s3err.New(s3err.InvalidArgument, "The encryption method specified is not supported")
	}
}

// bucketDefaultEncryption is the encryption of a write that asks for none.
func (s *Server) bucketDefaultEncryption(ctx context.Context, bucket string) (*encryption, error) {
	def, err := s.records.bucketSSE(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if def != nil {
		if def.algorithm == sseKMS {
			return &encryption{domain: crypto.DomainKMS, keyID: def.keyID}, nil
		}
		return &encryption{domain: crypto.DomainS3, keyID: s.cfg.DefaultKey}, nil
	}
	if s.plaintext[bucket] {
		return nil, nil
	}
	return &encryption{domain: crypto.DomainS3, keyID: s.cfg.DefaultKey}, nil
}

func parseKMSContext(h string) (map[string]string, error) {
	raw, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return nil, s3err.New(s3err.InvalidArgument, "The encryption context is not valid base64.")
	}
	var c map[string]string
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, s3err.New(s3err.InvalidArgument, "The encryption context is not a JSON object of strings.")
	}
	return c, nil
}

// sealNewObject creates a fresh object key for bucket/object under enc and
// the backend metadata that carries it sealed.
func (s *Server) sealNewObject(ctx context.Context, enc *encryption, bucket, object string) (crypto.ObjectKey, *crypto.Metadata, error) {
	var key crypto.ObjectKey
	meta, err := s.seal(ctx, enc, bucket, object, func(extKey []byte) (crypto.ObjectKey, error) {
		var err error
		key, err = crypto.GenerateObjectKey(extKey, nil)
		return key, err
	})
	return key, meta, err
}

// reseal seals an existing object key for a new place or a new KMS key,
// which is how copies and key rotation avoid re-encrypting data.
func (s *Server) reseal(ctx context.Context, key crypto.ObjectKey, enc *encryption, bucket, object string) (*crypto.Metadata, error) {
	return s.seal(ctx, enc, bucket, object, func([]byte) (crypto.ObjectKey, error) { return key, nil })
}

// seal obtains the external key for enc (a fresh KMS data key, or the
// customer's key), lets objectKey pick the object key, and returns the
// metadata that carries the object key sealed for bucket/object.
func (s *Server) seal(ctx context.Context, enc *encryption, bucket, object string, objectKey func(extKey []byte) (crypto.ObjectKey, error)) (*crypto.Metadata, error) {
	meta := &crypto.Metadata{Version: 1, Domain: enc.domain}
	var extKey []byte
	if enc.domain == crypto.DomainC {
		extKey = enc.ssec.key
		meta.SSECKeyMD5 = enc.ssec.keyMD5
	} else {
		dek, err := s.cfg.KMS.GenerateKey(ctx, enc.keyID, crypto.KMSContext(enc.context, bucket, object))
		if err != nil {
			return nil, kmsError(err, enc.keyID)
		}
		defer clear(dek.Plaintext)
		extKey = dek.Plaintext
		meta.KeyID = enc.keyID
		meta.SealedDEK = dek.Ciphertext
		if enc.context != nil {
			meta.Context, _ = json.Marshal(enc.context) // encoding/json sorts map keys
		}
	}
	key, err := objectKey(extKey)
	if err != nil {
		return nil, err
	}
	iv, err := crypto.NewIV(nil)
	if err != nil {
		return nil, err
	}
	meta.Sealed = key.Seal(extKey, iv, enc.domain, bucket, object)
	return meta, nil
}

// unsealObject recovers the object key of bucket/object from its metadata.
// ssec is the client's SSE-C key for SSE-C objects.
func (s *Server) unsealObject(ctx context.Context, meta *crypto.Metadata, bucket, object string, ssec *customerKey) (crypto.ObjectKey, error) {
	switch meta.Domain {
	case crypto.DomainC:
		if ssec == nil {
			return crypto.ObjectKey{}, s3err.New(s3err.SSECustomerKeyMissing, "")
		}
		if ssec.keyMD5 != meta.SSECKeyMD5 {
			return crypto.ObjectKey{}, s3err.New(s3err.SSECustomerKeyMismatch, "")
		}
		key, err := meta.Sealed.Unseal(ssec.key, crypto.DomainC, bucket, object)
		if err != nil {
			return crypto.ObjectKey{}, s3err.Wrap(s3err.SSECustomerKeyMismatch, err)
		}
		return key, nil
	default:
		if ssec != nil {
			return crypto.ObjectKey{}, s3err.New(s3err.InvalidRequest, "The object was not stored with Server Side Encryption with Customer provided keys.")
		}
		var client map[string]string
		if len(meta.Context) > 0 {
			if err := json.Unmarshal(meta.Context, &client); err != nil {
				return crypto.ObjectKey{}, s3err.Wrap(s3err.ObjectTampered, err)
			}
		}
		dek, err := s.cfg.KMS.Decrypt(ctx, meta.KeyID, meta.SealedDEK, crypto.KMSContext(client, bucket, object))
		if err != nil {
			return crypto.ObjectKey{}, kmsError(err, meta.KeyID)
		}
		defer clear(dek)
		key, err := meta.Sealed.Unseal(dek, meta.Domain, bucket, object)
		if err != nil {
			return crypto.ObjectKey{}, s3err.Wrap(s3err.ObjectTampered, err)
		}
		return key, nil
	}
}

// setSSEHeaders writes the response headers that describe meta's encryption
// exactly as MinIO does (never the bucket-key header: mc would then hide
// the key id).
func setSSEHeaders(h http.Header, meta *crypto.Metadata) {
	switch meta.Domain {
	case crypto.DomainKMS:
		h.Set(hdrSSE, sseKMS)
		h.Set(hdrSSEKeyID, arnPrefix+meta.KeyID)
		if len(meta.Context) > 0 {
			h.Set(hdrSSEContext, base64.StdEncoding.EncodeToString(meta.Context))
		}
	case crypto.DomainS3:
		h.Set(hdrSSE, sseAES256)
	case crypto.DomainC:
		h.Set(hdrSSECAlgorithm, sseAES256)
		h.Set(hdrSSECKeyMD5, meta.SSECKeyMD5)
	}
}

// hdrKeyVersion answers HEAD of an SSE-KMS or SSE-S3 object with the
// version of the KMS key its data key is sealed under, so that s3seal
// rekey can tell objects sealed before a rotation. It is s3seal's own
// header (no S3 client reads it) and says nothing about the data.
const hdrKeyVersion = "X-S3seal-Key-Version"

func setKeyVersionHeader(h http.Header, meta *crypto.Metadata) {
	if meta.Domain == crypto.DomainC {
		return
	}
	if v := kmsclient.CiphertextKeyVersion(meta.SealedDEK); v > 0 {
		h.Set(hdrKeyVersion, strconv.Itoa(v))
	}
}

// kmsError translates a KMS failure into the S3 error a client gets.
func kmsError(err error, keyID string) error {
	switch {
	case errors.Is(err, kmsclient.ErrKeyNotFound):
		return &s3err.Error{Code: s3err.KMSKeyNotFound, Message: "key with given key ID does not exist: '" + keyID + "'", Err: err}
	case errors.Is(err, kmsclient.ErrInvalidKeyName):
		return &s3err.Error{Code: s3err.InvalidArgument, Message: "Invalid KMS key name '" + keyID + "'.", Err: err}
	case errors.Is(err, kmsclient.ErrDecrypt):
		return s3err.Wrap(s3err.ObjectTampered, err)
	default:
		return s3err.Wrap(s3err.KMSUnavailable, err)
	}
}

// rejectReservedMetadata refuses client metadata in s3seal's namespace.
func rejectReservedMetadata(h http.Header) error {
	for k := range h {
		if crypto.IsReservedHeader(k) {
			// The message does not echo the name: no reserved
			// metadata name leaves s3seal, not even the client's own.
			return s3err.New(s3err.InvalidArgument, "Metadata keys with the prefix X-Amz-Meta-S3seal are reserved.")
		}
	}
	return nil
}
