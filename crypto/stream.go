package crypto

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/minio/sio"
)

// dareConfig is the only DARE configuration s3seal uses: version 2.0 and
// AES-256-GCM, for both directions. A nil random means crypto/rand.
func dareConfig(key []byte, random io.Reader) sio.Config {
	return sio.Config{
		MinVersion:   sio.Version20,
		MaxVersion:   sio.Version20,
		CipherSuites: []byte{sio.AES_256_GCM},
		Key:          key,
		Rand:         random,
	}
}

// EncryptReader returns a reader of the DARE 2.0 ciphertext of src under
// key; package sequence numbers start at 0. The ciphertext has exactly
// EncryptedSize(n) bytes for n bytes of plaintext, so an empty src yields an
// empty stream. Reading more than MaxPlaintextSize bytes from src fails with
// ErrInvalidSize. Errors from src are returned, wrapped at most, and end the
// stream without a final package: src must signal the end of the plaintext
// with io.EOF only.
func EncryptReader(src io.Reader, key ObjectKey) (io.Reader, error) {
	return encryptReader(src, key, nil, MaxPlaintextSize)
}

// encryptReader is EncryptReader with injectable nonce randomness and
// plaintext limit, for tests.
func encryptReader(src io.Reader, key ObjectKey, random io.Reader, limit int64) (io.Reader, error) {
	r, err := sio.EncryptReader(&plaintextSource{r: src, left: limit}, dareConfig(key[:], random))
	if err != nil {
		return nil, fmt.Errorf("dare encrypt: %w", err)
	}
	return &encryptingReader{r: r}, nil
}

type encryptingReader struct{ r io.Reader }

func (e *encryptingReader) Read(p []byte) (int, error) { return e.r.Read(p) }

// WriteTo lets io.Copy use a pooled buffer of one encrypted package, into
// which DARE seals directly.
func (e *encryptingReader) WriteTo(w io.Writer) (int64, error) {
	return copyPooled(w, e.r, EncryptedPackageSize)
}

// plaintextSource guards what DARE reads. It fails once the source yields
// more than left bytes, before DARE could seal a package whose sequence
// number wrapped around. And it wraps io.ErrUnexpectedEOF, which sio would
// take for the end of the plaintext and seal as a valid, truncated stream
// (net/http reports a client that hung up mid-body this way).
type plaintextSource struct {
	r    io.Reader
	left int64
	err  error
}

func (s *plaintextSource) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if int64(len(p)) > s.left+1 {
		p = p[:s.left+1] // one byte more tells "at the limit" from "beyond"
	}
	n, err := s.r.Read(p)
	if int64(n) > s.left {
		n = int(s.left)
		s.left = 0
		s.err = fmt.Errorf("%w: plaintext exceeds %d bytes", ErrInvalidSize, int64(MaxPlaintextSize))
		return n, s.err
	}
	s.left -= int64(n)
	if err == io.ErrUnexpectedEOF {
		s.err = fmt.Errorf("read plaintext: %w", err)
		return n, s.err
	}
	return n, err
}

// DecryptReader returns a reader of the plaintext of src, a DARE 2.0 stream
// under key whose first package has sequence number seq: 0 for a whole
// stream, the package index for a stream read from a package boundary.
//
// The reader demands the stream's final package, so it suits whole-stream
// reads; for ranges use DecryptSegment. It returns only authenticated
// bytes. An altered, reordered or truncated stream, or data after the final
// package, yields an error wrapping ErrTampered; the error sticks. An empty
// src with seq 0 is the valid encryption of an empty plaintext. Errors from
// src other than io.EOF are returned as they are.
func DecryptReader(src io.Reader, key ObjectKey, seq uint32) (io.Reader, error) {
	return newDecryptingReader(src, key, seq)
}

func newDecryptingReader(src io.Reader, key ObjectKey, seq uint32) (*decryptingReader, error) {
	cfg := dareConfig(key[:], nil)
	cfg.SequenceNumber = seq
	s := &sourceReader{r: src}
	r, err := sio.DecryptReader(s, cfg)
	if err != nil {
		return nil, fmt.Errorf("dare decrypt: %w", err)
	}
	return &decryptingReader{dare: r, src: s, seq: seq}, nil
}

type decryptingReader struct {
	dare io.Reader
	src  *sourceReader
	seq  uint32
	err  error // sticky: sio does not always remember its own failures
}

func (d *decryptingReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.dare.Read(p)
	if err != nil {
		d.err = d.translate(err)
	}
	return n, d.err
}

// WriteTo lets io.Copy use a pooled buffer of one package payload, into
// which DARE decrypts directly.
func (d *decryptingReader) WriteTo(w io.Writer) (int64, error) {
	return copyPooled(w, d, PackageSize)
}

func (d *decryptingReader) translate(err error) error {
	var dareErr sio.Error
	switch {
	case err == io.EOF:
		return io.EOF
	case d.src.err != nil && d.src.err != io.EOF:
		return d.src.err // the source failed; sio may have misread it as truncation
	case errors.As(err, &dareErr):
		if d.seq == 0 && d.src.n == 0 && d.src.err == io.EOF {
			return io.EOF // EncryptedSize(0) == 0: the empty stream
		}
		return fmt.Errorf("%w: %v", ErrTampered, err)
	default:
		return err
	}
}

// sourceReader remembers how much its source delivered and how it ended.
type sourceReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

// DecryptSegment returns a reader of exactly seg.Length plaintext bytes.
// src holds the seg.CipherLength ciphertext bytes at seg.CipherOffset of the
// backend object (any bytes after them are never read); key is the key of
// the stream the segment lies in: the object key for a single-part object,
// else ObjectKey.PartKey of the part's S3 part number.
//
// The reader decrypts only the fetched packages, discards seg.Skip bytes and
// ends with io.EOF after seg.Length bytes. When seg.Final is set it checks,
// before it reports io.EOF, that the last fetched package is the stream's
// final one, so a truncated object does not pass as a shorter one; if it is
// not, the segment's last bytes are withheld and the read fails. Failures
// wrap ErrTampered as in DecryptReader. An inconsistent seg returns ErrInvalidRange.
func DecryptSegment(src io.Reader, key ObjectKey, seg Segment) (io.Reader, error) {
	if err := seg.validate(); err != nil {
		return nil, err
	}
	dec, err := newDecryptingReader(io.LimitReader(src, seg.CipherLength), key, seg.Sequence)
	if err != nil {
		return nil, err
	}
	return &segmentReader{dec: dec, skip: seg.Skip, remaining: seg.Length, final: seg.Final}, nil
}

type segmentReader struct {
	dec       *decryptingReader
	pos       int64 // plaintext bytes taken from dec, skipped ones included
	skip      int64
	remaining int64
	final     bool
	err       error
}

func (s *segmentReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for s.pos < s.skip {
		n, err := s.dec.Read(p[:min(int64(len(p)), s.skip-s.pos)])
		s.pos += int64(n)
		if err != nil {
			s.err = s.early(err)
			return 0, s.err
		}
	}
	// Keep reads package-aligned after the skip so DARE decrypts into p
	// instead of its own buffer.
	if off := s.pos % PackageSize; off != 0 && int64(len(p)) > PackageSize-off {
		p = p[:PackageSize-off]
	}
	p = p[:min(int64(len(p)), s.remaining)]
	n, err := s.dec.Read(p)
	s.pos += int64(n)
	s.remaining -= int64(n)
	switch {
	case s.remaining == 0 && (err == nil || err == io.EOF):
		if s.err = s.end(err); s.err != io.EOF {
			// The stream fails its final check: withhold the segment's
			// last bytes, so the plaintext never arrives whole and a
			// truncated object cannot pass for a shorter one (a response
			// with a Content-Length would otherwise look complete).
			return 0, s.err
		}
	case err != nil:
		s.err = s.early(err)
	}
	return n, s.err
}

func (s *segmentReader) WriteTo(w io.Writer) (int64, error) {
	return copyPooled(w, s, PackageSize)
}

// early reports the stream stopping before the segment's last byte.
func (s *segmentReader) early(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: stream ends %d bytes before the segment does", ErrTampered, s.remaining)
	}
	return err
}

// end runs once the segment's last byte was read; err is what that read
// returned (nil or io.EOF, which DARE only returns after a final package).
// For a Final segment it reads out the rest of the last package, at most
// PackageSize-1 bytes already decrypted, and demands the stream end there.
func (s *segmentReader) end(err error) error {
	if !s.final || err == io.EOF {
		return io.EOF
	}
	n, err := io.CopyN(io.Discard, s.dec, PackageSize)
	switch {
	case err == io.EOF:
		return io.EOF
	case err != nil:
		return err
	default:
		return fmt.Errorf("%w: stream continues %d bytes past its recorded end", ErrTampered, n)
	}
}

// DecryptSegments returns a reader of the plaintext of segs, the result of
// one Layout.Plan, from src: the backend ciphertext from segs[0].CipherOffset
// to the end of the last segment, which one ranged GET fetches because
// Plan's segments are contiguous. key returns the key for a Segment.Part
// (see DecryptSegment). Non-contiguous or inconsistent segments return
// ErrInvalidRange.
func DecryptSegments(src io.Reader, segs []Segment, key func(part int) ObjectKey) (io.Reader, error) {
	for i, seg := range segs {
		if err := seg.validate(); err != nil {
			return nil, err
		}
		if i > 0 && seg.CipherOffset != segs[i-1].CipherOffset+segs[i-1].CipherLength {
			return nil, fmt.Errorf("%w: segment %d does not follow segment %d", ErrInvalidRange, i, i-1)
		}
	}
	return &segmentsReader{src: src, segs: segs, key: key}, nil
}

type segmentsReader struct {
	src  io.Reader
	segs []Segment
	key  func(part int) ObjectKey
	cur  io.Reader
	err  error
}

func (r *segmentsReader) Read(p []byte) (int, error) {
	for r.err == nil {
		if r.cur == nil {
			if len(r.segs) == 0 {
				r.err = io.EOF
				break
			}
			seg := r.segs[0]
			r.segs = r.segs[1:]
			if r.cur, r.err = DecryptSegment(r.src, r.key(seg.Part), seg); r.err != nil {
				break
			}
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur = nil
			err = nil
		}
		r.err = err
		if n > 0 || len(p) == 0 {
			return n, r.err
		}
	}
	return 0, r.err
}

func (r *segmentsReader) WriteTo(w io.Writer) (int64, error) {
	return copyPooled(w, r, PackageSize)
}

var bufferPool = sync.Pool{New: func() any {
	b := make([]byte, EncryptedPackageSize)
	return &b
}}

// copyPooled is io.Copy with a pooled buffer of size bytes (at most
// EncryptedPackageSize), sized so DARE works in place.
func copyPooled(w io.Writer, r io.Reader, size int) (int64, error) {
	bp := bufferPool.Get().(*[]byte)
	defer bufferPool.Put(bp)
	buf := (*bp)[:size]
	var written int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			nw, werr := w.Write(buf[:n])
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
			if nw != n {
				return written, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return written, nil
		}
		if err != nil {
			return written, err
		}
	}
}
