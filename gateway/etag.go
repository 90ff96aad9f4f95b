package gateway

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// Client ETags. A single-part SSE-S3 object shows clients the MD5 of its
// plaintext as its ETag, as AWS and MinIO do (clients such as rclone and
// the AWS CLI compare it with the MD5 of what they sent); every other
// object shows the backend's ETag of its ciphertext. The MD5 is computed in
// the same pass as the encryption and never stored in clear:
//
//   - when it is known before the backend PUT (the client's verified
//     Content-MD5 or x-amz-checksum-md5, a body of at most
//     smallBodySize that is read first, a form upload spooled to disk, a
//     server-side copy of an object that has one) it is sealed under the
//     object key into the object's metadata, X-Amz-Meta-S3seal-Etag, so
//     HEAD and GET need no lookup;
//   - otherwise that header says "index": the MD5 is only known once the
//     body has streamed, and HEAD and GET read it from the object's index
//     entry (index.go), one system-bucket LIST.
//
// Listings need the client ETag too: an MD5 in the index is found there;
// one sealed in the metadata is read from the listing on a backend that
// lists metadata (listmeta.go), else the write also records an index entry
// (backend ETag, size, sealed client ETag). A sealed value that does not
// open is ObjectTampered; an entry that does not authenticate is ignored.
// If the gateway stops between the object's PUT and its index entry's, the
// client got no success answer, and the object shows its backend ETag in
// listings (and in HEAD and GET when the MD5 was not in its metadata) until
// it is written again: never a wrong MD5.
const (
	hdrClientETag     = "X-Amz-Meta-S3seal-Etag"
	clientETagLabel   = "etag"
	clientETagInIndex = "index"
	// smallBodySize is the largest body a PUT reads into memory before
	// the backend request, to seal its MD5 into the object's metadata.
	smallBodySize = crypto.PackageSize
)

// plaintextMD5 is how a write learns the MD5 of its plaintext.
type plaintextMD5 struct {
	known string // hex MD5 known before the body; "" if not
	// trailer is the client's x-amz-checksum-md5 trailer, which the
	// payload reader verifies by the end of the body: no second MD5 pass.
	trailer *sigv4.Checksum
	hash    hash.Hash // set by prepareMD5 when computed while streaming

	// A small body is held in plain until it is encrypted in one piece;
	// its index entry is then written beside the object, under the
	// backend ETag expected (the MD5 of the ciphertext, as S3 stores give
	// single-part objects), and indexDone reports that write.
	plain     []byte
	expected  string
	indexDone chan error

	// sealed: the MD5 went into the object's metadata (not "index").
	sealed bool
}

// sum returns the hex MD5 once the whole body has been read.
func (p *plaintextMD5) sum() string {
	switch {
	case p.known != "":
		return p.known
	case p.trailer != nil:
		return md5FromBase64(p.trailer.Value)
	}
	return hex.EncodeToString(p.hash.Sum(nil))
}

// wantsMD5ETag reports whether a write of bucket/object encrypted as enc
// gets the MD5 of its plaintext as its ETag.
func (s *Server) wantsMD5ETag(enc *encryption, bucket, object string) bool {
	return !s.cfg.DisableMD5ETags && enc != nil && enc.domain == crypto.DomainS3 &&
		bucket != s.cfg.SystemBucket && indexEntryFits(bucket, object, 32)
}

// md5FromBase64 turns a verified base64 MD5 (Content-MD5,
// x-amz-checksum-md5) into hex; "" if it is not one.
func md5FromBase64(v string) string {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != md5.Size {
		return ""
	}
	return hex.EncodeToString(b)
}

// prepareMD5 sets up p for a body of size bytes: a small body is read now
// so that its MD5 is known before the backend request; a larger one is
// hashed as it streams. It returns the body to encrypt and sets the
// metadata header that tells reads where the client ETag is.
func prepareMD5(p *plaintextMD5, key crypto.ObjectKey, h http.Header, body io.Reader, size int64) (io.Reader, error) {
	if size <= smallBodySize {
		p.plain = make([]byte, size)
		if _, err := io.ReadFull(body, p.plain); err != nil {
			return nil, err
		}
		if p.known == "" && p.trailer != nil {
			// The payload reader released the last byte: the trailer
			// has been read and verified.
			p.known = md5FromBase64(p.trailer.Value)
		}
		if p.known == "" {
			sum := md5.Sum(p.plain)
			p.known = hex.EncodeToString(sum[:])
		}
		body = bytes.NewReader(p.plain)
	}
	if p.known == "" && p.trailer != nil {
		h.Set(hdrClientETag, clientETagInIndex)
		return body, nil
	}
	if p.known == "" {
		p.hash = md5.New()
		h.Set(hdrClientETag, clientETagInIndex)
		return io.TeeReader(body, p.hash), nil
	}
	sealed, err := key.SealValue(clientETagLabel, []byte(p.known), nil)
	if err != nil {
		return nil, err
	}
	h.Set(hdrClientETag, base64.StdEncoding.EncodeToString(sealed))
	p.sealed = true
	return body, nil
}

// encryptSmall encrypts a small body held in p.plain in one piece and
// starts writing its index entry under the backend ETag it expects, so the
// two backend writes overlap. A wrong guess (a backend whose ETags are not
// MD5s) costs an orphan entry nothing reads; finishMD5 then writes the
// right one.
func (s *Server) encryptSmall(ctx context.Context, p *plaintextMD5, key crypto.ObjectKey, bucket, object string) (io.Reader, error) {
	enc, err := crypto.EncryptReader(bytes.NewReader(p.plain), key)
	if err != nil || s.records.listsMetadata.Load() {
		// Listings read the sealed ETag from the metadata: no entry.
		return enc, err
	}
	ct := bytes.NewBuffer(make([]byte, 0, crypto.EncryptedSize(int64(len(p.plain)))))
	if _, err := ct.ReadFrom(enc); err != nil {
		return nil, err
	}
	sum := md5.Sum(ct.Bytes())
	p.expected = hex.EncodeToString(sum[:])
	p.indexDone = make(chan error, 1)
	size := int64(len(p.plain))
	go func() { p.indexDone <- s.records.writeIndexEntry(ctx, bucket, object, p.expected, size, p.known) }()
	return bytes.NewReader(ct.Bytes()), nil
}

// finishMD5 completes a write whose plaintext MD5 p took, once the backend
// stored it as backendETag: it makes sure the version's index entry exists
// and returns the quoted ETag the client is shown.
func (s *Server) finishMD5(ctx context.Context, bucket, object, backendETag string, size int64, p *plaintextMD5) (string, error) {
	if p.indexDone != nil {
		if err := <-p.indexDone; err == nil && strings.Trim(backendETag, `"`) == p.expected {
			return quoteETag(p.known), nil
		}
	}
	return s.recordClientETag(ctx, bucket, object, backendETag, size, p.sum(), p.sealed)
}

// recordClientETag writes the index entry of a stored version and returns
// the quoted ETag the client is shown. An ETag sealed into the version's
// metadata needs no entry on a backend that lists metadata (listmeta.go).
func (s *Server) recordClientETag(ctx context.Context, bucket, object, backendETag string, size int64, clientETag string, sealed bool) (string, error) {
	if clientETag == "" {
		return backendETag, nil
	}
	if sealed && s.records.listsMetadata.Load() {
		return quoteETag(clientETag), nil
	}
	if err := s.records.writeIndexEntry(ctx, bucket, object, backendETag, size, clientETag); err != nil {
		return "", err
	}
	return quoteETag(clientETag), nil
}

func quoteETag(e string) string { return `"` + e + `"` }

// clientETag returns the quoted ETag clients see for an s3seal-encrypted
// object version, from the backend response headers stored and its object
// key. An ETag sealed in the metadata that does not open is ObjectTampered.
func (s *Server) clientETag(ctx context.Context, bucket, object string, stored http.Header, key crypto.ObjectKey) (string, error) {
	e, _, err := s.recordedETag(ctx, bucket, object, stored, func() (crypto.ObjectKey, error) { return key, nil })
	return e, err
}

// recordedETag is clientETag that also reports whether s3seal recorded a
// client ETag for the version (else it is the backend's); key is called
// only when the object key is needed.
func (s *Server) recordedETag(ctx context.Context, bucket, object string, stored http.Header, key func() (crypto.ObjectKey, error)) (string, bool, error) {
	backendETag := stored.Get("ETag")
	if meta, err := decodeMetadata(stored); err == nil && meta != nil && meta.Multipart {
		// A multipart object's is the one Complete answered, in its
		// layout (parts.go), whatever Config.DisableMD5ETags; none in
		// layouts written before part records.
		l, err := s.records.layout(ctx, bucket, object, backendETag)
		if err != nil {
			return "", false, err
		}
		if l.etag == "" {
			return backendETag, false, nil
		}
		return quoteETag(l.etag), true, nil
	}
	v := stored.Get(hdrClientETag)
	if s.cfg.DisableMD5ETags || v == "" {
		return backendETag, false, nil
	}
	if v == clientETagInIndex {
		e, found, err := s.records.lookupIndexEntry(ctx, bucket, object, backendETag)
		if err != nil {
			return "", false, err
		}
		if !found || e.clientETag == "" {
			return backendETag, false, nil
		}
		return quoteETag(e.clientETag), true, nil
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", false, s3err.Wrap(s3err.ObjectTampered, errors.New("sealed ETag is not base64"))
	}
	k, err := key()
	if err != nil {
		return "", false, err
	}
	plain, err := k.OpenValue(clientETagLabel, raw)
	if err != nil {
		return "", false, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("sealed ETag: %w", err))
	}
	return quoteETag(string(plain)), true, nil
}

// resolveIfMatch checks a write's If-Match against the client ETag of the
// current version of bucket/object and returns that version's backend
// ETag, for the backend to check atomically. Without a current version the
// client's value is returned for the backend to refuse.
func (s *Server) resolveIfMatch(ctx context.Context, bucket, object, ifMatch string) (string, error) {
	resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: bucket, Object: object})
	if err != nil {
		return "", backendError(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ifMatch, nil
	}
	meta, err := decodeMetadata(resp.Header)
	if err != nil {
		return "", err
	}
	etag, _, err := s.recordedETag(ctx, bucket, object, resp.Header, func() (crypto.ObjectKey, error) {
		if meta == nil {
			return crypto.ObjectKey{}, s3err.Wrap(s3err.ObjectTampered, errors.New("sealed ETag without s3seal metadata"))
		}
		return s.unsealObject(ctx, meta, bucket, object, nil)
	})
	if err != nil {
		return "", err
	}
	if !etagListMatches(ifMatch, etag) {
		return "", s3err.New(s3err.PreconditionFailed, "")
	}
	return resp.Header.Get("ETag"), nil
}

// md5ETag reports whether a quoted or unquoted ETag has the form of a
// single-part MD5 ETag.
func md5ETag(e string) bool {
	e = strings.Trim(e, `"`)
	if len(e) != 32 {
		return false
	}
	_, err := hex.DecodeString(e)
	return err == nil && strings.ToLower(e) == e
}

// The index entry's sealed client ETag: AES-256-GCM under a key derived
// from the index key, with a synthetic nonce (an HMAC of everything it
// seals), so the same version always gets the same name and two different
// values never share a nonce. The associated data binds it to its version.

func (rc *records) indexETagKey(purpose string) []byte {
	m := hmac.New(sha256.New, rc.indexKey)
	m.Write([]byte("s3seal index client etag v1\x00" + purpose))
	return m.Sum(nil)
}

func (rc *records) indexETagAEAD() (cipher.AEAD, error) {
	block, err := aes.NewCipher(rc.indexETagKey("encrypt"))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func indexETagAD(bucket, object, etag string, size int64) []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d", bucket, object, etag, size)
}

// encodeClientETag packs an ETag for sealing: an MD5-form ETag (with an
// optional multipart "-N") as 0x01 ‖ 16 bytes ‖ suffix, anything else as
// 0x00 ‖ the string.
func encodeClientETag(e string) []byte {
	if len(e) >= 32 {
		if b, err := hex.DecodeString(e[:32]); err == nil && strings.ToLower(e[:32]) == e[:32] {
			return append(append([]byte{1}, b...), e[32:]...)
		}
	}
	return append([]byte{0}, e...)
}

func decodeClientETag(b []byte) (string, error) {
	switch {
	case len(b) >= 17 && b[0] == 1:
		return hex.EncodeToString(b[1:17]) + string(b[17:]), nil
	case len(b) >= 1 && b[0] == 0:
		return string(b[1:]), nil
	}
	return "", errors.New("malformed client ETag")
}

func (rc *records) sealIndexETag(bucket, object, etag string, size int64, clientETag string) (string, error) {
	aead, err := rc.indexETagAEAD()
	if err != nil {
		return "", err
	}
	plain := encodeClientETag(clientETag)
	ad := indexETagAD(bucket, object, etag, size)
	m := hmac.New(sha256.New, rc.indexETagKey("nonce"))
	m.Write(ad)
	m.Write([]byte{0})
	m.Write(plain)
	nonce := m.Sum(nil)[:aead.NonceSize()]
	out := aead.Seal(nonce, nonce, plain, ad)
	s := base64.RawURLEncoding.EncodeToString(out)
	if len(s) > maxSealedETagLength {
		return "", fmt.Errorf("client ETag of %d bytes is too long for an index entry", len(clientETag))
	}
	return s, nil
}

func (rc *records) openIndexETag(bucket, object, etag string, size int64, sealed string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return "", err
	}
	aead, err := rc.indexETagAEAD()
	if err != nil {
		return "", err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("sealed client ETag too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], indexETagAD(bucket, object, etag, size))
	if err != nil {
		return "", err
	}
	return decodeClientETag(plain)
}

// Conditional requests compare ETags with what the client was shown, so
// when s3seal shows its own ETags the gateway evaluates them (with the
// date conditions, whose precedence depends on them) and pins the backend
// request to the backend ETag it resolved.

var conditionHeaders = []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// hasETagCondition reports whether h carries If-Match or If-None-Match
// under prefix ("" or "X-Amz-Copy-Source-").
func hasETagCondition(h http.Header, prefix string) bool {
	return h.Get(prefix+"If-Match") != "" || h.Get(prefix+"If-None-Match") != ""
}

// withoutConditions returns h without the conditional headers.
func withoutConditions(h http.Header) http.Header {
	out := h.Clone()
	for _, k := range conditionHeaders {
		out.Del(k)
	}
	return out
}

// etagListMatches reports whether a comma-separated If-Match or
// If-None-Match value names etag (quoted or not; "*" names any).
func etagListMatches(list, etag string) bool {
	etag = strings.Trim(etag, `"`)
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || strings.Trim(v, `"`) == etag {
			return true
		}
	}
	return false
}

// evalConditions evaluates the conditional headers (under prefix) of h
// against an object with the client ETag etag, last modified at
// lastModified, in MinIO's order (cmd/object-handlers-common.go, which the
// backend applied before s3seal had ETags of its own): If-None-Match, then
// If-Modified-Since (304), If-Match, then If-Unmodified-Since unless
// If-Match was given (412). It returns 0 when the request proceeds, else
// http.StatusNotModified or http.StatusPreconditionFailed.
func evalConditions(h http.Header, prefix, etag, lastModified string) int {
	mod, modErr := http.ParseTime(lastModified)
	modifiedSince := func(v string) (bool, bool) {
		t, err := http.ParseTime(v)
		if err != nil || modErr != nil {
			return false, false
		}
		// Last-Modified has whole seconds: modified means mtime >= t+1s.
		return !mod.Before(t.Add(time.Second)), true
	}
	if v := h.Get(prefix + "If-None-Match"); v != "" && etagListMatches(v, etag) {
		return http.StatusNotModified
	}
	if v := h.Get(prefix + "If-Modified-Since"); v != "" {
		if modified, ok := modifiedSince(v); ok && !modified {
			return http.StatusNotModified
		}
	}
	ifMatch := h.Get(prefix + "If-Match")
	if ifMatch != "" && !etagListMatches(ifMatch, etag) {
		return http.StatusPreconditionFailed
	}
	if v := h.Get(prefix + "If-Unmodified-Since"); v != "" && ifMatch == "" {
		if modified, ok := modifiedSince(v); ok && modified {
			return http.StatusPreconditionFailed
		}
	}
	return 0
}
