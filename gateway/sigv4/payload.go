package sigv4

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/minio/crc64nvme"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// Payload is a verified request body.
type Payload struct {
	// Body yields the decoded payload bytes (aws-chunked framing removed).
	// Every error it returns is an *s3err.Error. It never returns the final
	// byte of the payload before every check on the payload has passed; see
	// the package documentation. Body is not safe for concurrent Reads, but
	// Close may be called concurrently with Read. The caller owns Body and
	// must Close it; Close closes the original request body.
	Body io.ReadCloser

	// Size is the decoded payload length, or -1 if the client did not declare
	// it (a non-aws-chunked body sent with Transfer-Encoding: chunked).
	Size int64

	// Checksum is the client's flexible checksum (x-amz-checksum-* header or
	// trailer), zero if it sent none. For a trailing checksum Algorithm is set
	// by Verify and Value once Body has returned io.EOF.
	Checksum Checksum

	// ContentMD5 is the client's Content-MD5 (base64), empty if none. It has
	// been verified by the time Body returns io.EOF.
	ContentMD5 string
}

// Checksum is an S3 flexible checksum as sent by the client.
type Checksum struct {
	Algorithm string // "CRC32", "CRC32C", "CRC64NVME", "SHA1" or "SHA256"
	Value     string // base64 of the big-endian digest, as on the wire
}

// RequireSize returns the declared payload size: 0 for a nil Payload (no
// body) and MissingContentLength if the client streamed a body of unknown
// length. Handlers whose operation requires a length (PutObject, UploadPart)
// call it.
func (p *Payload) RequireSize() (int64, error) {
	if p == nil {
		return 0, nil
	}
	if p.Size < 0 {
		return 0, s3err.New(s3err.MissingContentLength, "")
	}
	return p.Size, nil
}

// checksumAlgorithm describes one S3 flexible checksum algorithm.
type checksumAlgorithm struct {
	name   string // as in x-amz-sdk-checksum-algorithm and Checksum.Algorithm
	header string // lower-case header / trailer name
	size   int    // digest length in bytes
	new    func() hash.Hash
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var checksumAlgorithms = []checksumAlgorithm{
	{"CRC32", "x-amz-checksum-crc32", 4, func() hash.Hash { return crc32.NewIEEE() }},
	{"CRC32C", "x-amz-checksum-crc32c", 4, func() hash.Hash { return crc32.New(castagnoli) }},
	{"CRC64NVME", "x-amz-checksum-crc64nvme", 8, func() hash.Hash { return crc64nvme.New() }},
	{"SHA1", "x-amz-checksum-sha1", 20, sha1.New},
	{"SHA256", "x-amz-checksum-sha256", 32, sha256.New},
	// Not an AWS algorithm: minio-go sends it (ChecksumMD5) as a trailer.
	{"MD5", "x-amz-checksum-md5", 16, md5.New},
}

// checksumByHeader finds the algorithm for a lower-case header name.
func checksumByHeader(name string) *checksumAlgorithm {
	for i := range checksumAlgorithms {
		if checksumAlgorithms[i].header == name {
			return &checksumAlgorithms[i]
		}
	}
	return nil
}

// checksumByName finds the algorithm for an x-amz-sdk-checksum-algorithm
// value, case-insensitively.
func checksumByName(name string) *checksumAlgorithm {
	for i := range checksumAlgorithms {
		if strings.EqualFold(checksumAlgorithms[i].name, name) {
			return &checksumAlgorithms[i]
		}
	}
	return nil
}

// decodeChecksum decodes a base64 checksum value for alg.
func decodeChecksum(alg *checksumAlgorithm, value string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(b) != alg.size {
		return nil, s3err.New(s3err.InvalidChecksum, "Value for %s header is invalid.", alg.header)
	}
	return b, nil
}

// digests hashes the decoded payload and checks it against what the client
// declared: the x-amz-content-sha256 hash, Content-MD5 and a flexible
// checksum.
type digests struct {
	hashes []hash.Hash // everything below that is set, written with each byte

	sha256     hash.Hash
	wantSHA256 [32]byte

	md5     hash.Hash
	wantMD5 [16]byte

	checksum     hash.Hash
	checksumAlg  *checksumAlgorithm
	wantChecksum []byte // nil until known (trailers)

	sum [64]byte // scratch for Sum, so verify does not allocate
}

func (d *digests) expectSHA256(sum [32]byte) {
	d.sha256 = sha256.New()
	d.wantSHA256 = sum
	d.hashes = append(d.hashes, d.sha256)
}

func (d *digests) expectMD5(sum [16]byte) {
	d.md5 = md5.New()
	d.wantMD5 = sum
	d.hashes = append(d.hashes, d.md5)
}

func (d *digests) expectChecksum(alg *checksumAlgorithm, want []byte) {
	d.checksum = alg.new()
	d.checksumAlg = alg
	d.wantChecksum = want
	d.hashes = append(d.hashes, d.checksum)
}

func (d *digests) write(p []byte) {
	for _, h := range d.hashes {
		h.Write(p)
	}
}

// verify compares every digest with its expected value, once all payload
// bytes have been written.
func (d *digests) verify() error {
	if d.sha256 != nil && subtle.ConstantTimeCompare(d.sha256.Sum(d.sum[:0]), d.wantSHA256[:]) != 1 {
		return s3err.New(s3err.XAmzContentSHA256Mismatch, "")
	}
	if d.md5 != nil && subtle.ConstantTimeCompare(d.md5.Sum(d.sum[:0]), d.wantMD5[:]) != 1 {
		return s3err.New(s3err.BadDigest, "")
	}
	if d.checksum != nil {
		if d.wantChecksum == nil {
			return s3err.New(s3err.InvalidRequest, "The %s trailer was declared but not sent.", d.checksumAlg.header)
		}
		if subtle.ConstantTimeCompare(d.checksum.Sum(d.sum[:0]), d.wantChecksum) != 1 {
			return s3err.New(s3err.BadDigest, "The %s you specified did not match the calculated checksum.", d.checksumAlg.name)
		}
	}
	return nil
}

// readError translates an error from the client's body into an *s3err.Error:
// a body that ends or fails early is IncompleteBody, one cut off by an
// http.MaxBytesReader is EntityTooLarge.
func readError(err error) *s3err.Error {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return s3err.Wrap(s3err.EntityTooLarge, err)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return s3err.Wrap(s3err.IncompleteBody, err)
}

var errClosed = s3err.New(s3err.IncompleteBody, "The request body was closed before it was read completely.")

var errExcessData = s3err.New(s3err.IncompleteBody, "The request body is longer than the declared length.")

// plainReader streams a body that is not aws-chunked, hashing it and holding
// back its final byte until every digest has been checked.
type plainReader struct {
	body    io.ReadCloser
	left    int64 // bytes still to come; -1: unknown (read to EOF)
	digests digests
	err     error // sticky: io.EOF after a verified end, else *s3err.Error

	// Unknown length only: the newest byte read, not yet released, and
	// whether the end of the body has been seen and verified.
	held     byte
	hasHeld  bool
	verified bool

	scratch [1]byte
	closed  atomic.Bool
}

var _ io.ReadCloser = (*plainReader)(nil)

func (r *plainReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, errClosed
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.left < 0 {
		return r.readUnknown(p)
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.body.Read(p)
	if n > 0 {
		r.digests.write(p[:n])
		r.left -= int64(n)
	}
	if r.left == 0 {
		if err := r.finish(err); err != nil {
			return 0, r.fail(err)
		}
		r.err = io.EOF
		return n, nil
	}
	if err != nil {
		return 0, r.fail(readError(err))
	}
	return n, nil
}

// readUnknown reads a body of unknown length. The newest byte is always held
// back, because only a later read can tell whether it was the last one.
func (r *plainReader) readUnknown(p []byte) (int, error) {
	if r.verified { // the end has been checked; release the held byte
		r.err = io.EOF
		if !r.hasHeld {
			return 0, io.EOF
		}
		p[0], r.hasHeld = r.held, false
		return 1, nil
	}
	k := 0
	if r.hasHeld {
		p[0] = r.held
		k = 1
	}
	if len(p) == k { // room for the held byte only: read the next one aside
		n, err := r.body.Read(r.scratch[:])
		if err != nil && err != io.EOF {
			return 0, r.fail(readError(err))
		}
		if n == 0 && err == nil {
			return 0, nil
		}
		r.hasHeld = n == 1
		if r.hasHeld {
			r.digests.write(r.scratch[:])
			r.held = r.scratch[0]
		}
		if err == io.EOF {
			if err := r.digests.verify(); err != nil {
				return 0, r.fail(err)
			}
			r.verified = true
		}
		return k, nil
	}
	n, err := r.body.Read(p[k:])
	if n > 0 {
		r.digests.write(p[k : k+n])
	}
	if err == io.EOF {
		if err := r.digests.verify(); err != nil {
			return 0, r.fail(err)
		}
		r.hasHeld = false
		r.err = io.EOF
		return k + n, nil
	}
	if err != nil {
		return 0, r.fail(readError(err))
	}
	total := k + n
	if total == 0 {
		return 0, nil
	}
	r.held, r.hasHeld = p[total-1], true
	return total - 1, nil
}

// finish runs once the declared length has been read: the body must end
// there, and every digest must match.
func (r *plainReader) finish(readErr error) error {
	if readErr == nil {
		// Probe for bytes beyond the declared length; net/http bodies answer
		// io.EOF here without touching the connection.
		for range 8 {
			n, err := r.body.Read(r.scratch[:])
			if n > 0 {
				return errExcessData
			}
			if err != nil {
				readErr = err
				break
			}
		}
	}
	if readErr != io.EOF {
		return readError(readErr)
	}
	return r.digests.verify()
}

func (r *plainReader) fail(err error) error {
	r.err = err
	return err
}

// Close closes the client's body; it may be called concurrently with Read.
func (r *plainReader) Close() error {
	r.closed.Store(true)
	return r.body.Close()
}
