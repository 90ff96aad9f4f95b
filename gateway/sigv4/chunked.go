package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"math/bits"
	"strings"
	"sync"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// Limits of the aws-chunked decoder.
const (
	defaultMaxChunkSize = 16 << 20
	chunkHeaderBuffer   = 8 << 10  // bufio size; also the longest chunk header line
	maxTailSize         = 16 << 10 // final-chunk remainder: trailers and their signature
	smallestPooledChunk = 64 << 10
)

// Pieces of the chunk and trailer strings to sign, kept as byte slices so
// that writing them into the HMAC does not allocate.
var (
	chunkAlgorithmLine   = []byte(chunkAlgorithm + "\n")
	trailerAlgorithmLine = []byte(trailerAlgorithm + "\n")
	emptyHashLines       = []byte("\n" + emptySHA256 + "\n")
	newline              = []byte("\n")
	emptySHA256Sum       = sha256.Sum256(nil)
	chunkSignatureExt    = []byte(";chunk-signature=")
)

// chunkPools hold signed-chunk buffers in power-of-two size classes from
// 64 KiB to 16 MiB; larger chunks (only if MaxChunkSize allows them) are not
// pooled.
var chunkPools [9]sync.Pool // 64 KiB << 0..8

func chunkSizeClass(size int) int {
	if size <= smallestPooledChunk {
		return 0
	}
	return bits.Len(uint(size-1)) - bits.TrailingZeros(smallestPooledChunk)
}

func getChunkBuffer(size int) *[]byte {
	class := chunkSizeClass(size)
	if class >= len(chunkPools) {
		b := make([]byte, size)
		return &b
	}
	if v, ok := chunkPools[class].Get().(*[]byte); ok {
		*v = (*v)[:size]
		return v
	}
	b := make([]byte, size, smallestPooledChunk<<class)
	return &b
}

func putChunkBuffer(b *[]byte) {
	c := cap(*b)
	class := chunkSizeClass(c)
	if class < len(chunkPools) && smallestPooledChunk<<class == c {
		chunkPools[class].Put(b)
	}
}

var bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, chunkHeaderBuffer) }}

// chunkedReader decodes an aws-chunked body:
//
//	signed:   hex-size;chunk-signature=SIG\r\n DATA \r\n ... 0;chunk-signature=SIG\r\n [trailers] \r\n
//	unsigned: hex-size\r\n DATA \r\n ... 0\r\n [trailers] \r\n
//
// Signed chunks are buffered whole and released only after their signature
// has been verified. The chunk that completes the declared decoded length is
// released only after the final chunk, the trailer (with its signature) and
// every payload digest have been verified.
type chunkedReader struct {
	body io.ReadCloser
	br   *bufio.Reader

	signed        bool               // chunk signatures
	trailer       bool               // a trailer section follows the final chunk
	signedTrailer bool               // ... carrying x-amz-trailer-signature
	trailerAlg    *checksumAlgorithm // declared trailing checksum; nil: none
	maxChunk      int64
	decodedLen    int64 // x-amz-decoded-content-length
	decoded       int64 // payload bytes taken from the framing so far

	// Signature chaining (signed streams only).
	mac        hash.Hash // HMAC-SHA256 keyed with the signing key
	sha        hash.Hash
	scopeLines []byte // "DATE\nSCOPE\n"
	prevSig    [32]byte
	hexBuf     [64]byte
	sumBuf     [32]byte
	macBuf     [32]byte

	digests digests
	payload *Payload

	chunk     *[]byte // pooled buffer of the current signed chunk
	data      []byte  // verified bytes not yet returned
	chunkLeft int64   // unsigned streams: bytes of the current chunk still to read
	done      bool    // final chunk, trailer and digests verified
	err       error   // sticky: io.EOF or *s3err.Error

	mu      sync.Mutex // guards reading, closed and the pooled buffers' release
	reading bool
	closed  bool
}

var _ io.ReadCloser = (*chunkedReader)(nil)

func malformedChunk(detail string) *s3err.Error {
	return s3err.New(s3err.InvalidRequest, "Malformed aws-chunked encoding: %s.", detail)
}

var errShortPayload = s3err.New(s3err.IncompleteBody,
	"The aws-chunked body ended before x-amz-decoded-content-length bytes were sent.")

func (c *chunkedReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, errClosed
	}
	c.reading = true
	c.mu.Unlock()

	n, err := c.read(p)

	c.mu.Lock()
	c.reading = false
	if c.closed || c.err != nil {
		c.release()
	}
	c.mu.Unlock()
	return n, err
}

// Close closes the client's body and returns the pooled buffers; it may be
// called concurrently with Read.
func (c *chunkedReader) Close() error {
	c.mu.Lock()
	c.closed = true
	if !c.reading {
		c.release()
	}
	c.mu.Unlock()
	return c.body.Close()
}

func (c *chunkedReader) release() {
	if c.chunk != nil {
		putChunkBuffer(c.chunk)
		c.chunk, c.data = nil, nil
	}
	if c.br != nil {
		c.br.Reset(nil)
		bufioPool.Put(c.br)
		c.br = nil
	}
}

func (c *chunkedReader) read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(c.data) > 0 {
			n := copy(p, c.data)
			c.data = c.data[n:]
			if len(c.data) == 0 && c.done {
				c.err = io.EOF
			}
			return n, nil
		}
		if c.done {
			c.err = io.EOF
			return 0, io.EOF
		}
		if c.signed {
			if err := c.nextSignedChunk(); err != nil {
				c.err = err
				return 0, err
			}
			continue
		}
		n, err := c.readUnsigned(p)
		if err != nil {
			c.err = err
			return 0, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// nextSignedChunk reads one signed chunk into c.data, verifying its
// signature (and, for the last data chunk, everything after it).
func (c *chunkedReader) nextSignedChunk() error {
	size, sig, err := c.readChunkHeader()
	if err != nil {
		return err
	}
	if size == 0 {
		if c.decoded != c.decodedLen {
			return errShortPayload
		}
		return c.finish(&sig)
	}
	if size > c.decodedLen-c.decoded {
		return errExcessData
	}
	if c.chunk != nil && int64(cap(*c.chunk)) < size {
		putChunkBuffer(c.chunk)
		c.chunk = nil
	}
	if c.chunk == nil {
		c.chunk = getChunkBuffer(int(size))
	}
	buf := (*c.chunk)[:size]
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return readError(err)
	}
	c.sha.Reset()
	c.sha.Write(buf)
	if err := c.verifySignature(chunkAlgorithmLine, emptyHashLines, c.sha.Sum(c.sumBuf[:0]), &sig); err != nil {
		return err
	}
	if err := c.readCRLF(); err != nil {
		return err
	}
	c.digests.write(buf)
	c.decoded += size
	if c.decoded == c.decodedLen {
		if err := c.readFinalChunk(); err != nil {
			return err
		}
	}
	c.data = buf
	return nil
}

// readUnsigned passes bytes of unsigned chunks straight through to p.
func (c *chunkedReader) readUnsigned(p []byte) (int, error) {
	if c.chunkLeft == 0 {
		size, _, err := c.readChunkHeader()
		if err != nil {
			return 0, err
		}
		if size == 0 {
			if c.decoded != c.decodedLen {
				return 0, errShortPayload
			}
			return 0, c.finish(nil)
		}
		if size > c.decodedLen-c.decoded {
			return 0, errExcessData
		}
		c.chunkLeft = size
	}
	if int64(len(p)) > c.chunkLeft {
		p = p[:c.chunkLeft]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		c.digests.write(p[:n])
		c.chunkLeft -= int64(n)
		c.decoded += int64(n)
	}
	if err != nil {
		return 0, readError(err)
	}
	if c.chunkLeft == 0 {
		if err := c.readCRLF(); err != nil {
			return 0, err
		}
		if c.decoded == c.decodedLen {
			// These bytes end the payload: verify everything before
			// releasing them.
			if err := c.readFinalChunk(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// readFinalChunk reads the zero-length chunk that must follow the declared
// payload length, then finishes the stream.
func (c *chunkedReader) readFinalChunk() error {
	size, sig, err := c.readChunkHeader()
	if err != nil {
		return err
	}
	if size != 0 {
		return errExcessData
	}
	if c.signed {
		return c.finish(&sig)
	}
	return c.finish(nil)
}

// finish verifies the final chunk's signature (signed streams), reads and
// verifies the trailer section and checks every payload digest.
func (c *chunkedReader) finish(sig *[32]byte) error {
	if c.signed {
		if err := c.verifySignature(chunkAlgorithmLine, emptyHashLines, emptySHA256Sum[:], sig); err != nil {
			return err
		}
	}
	tail, err := io.ReadAll(io.LimitReader(c.br, maxTailSize+1))
	if err != nil {
		return readError(err)
	}
	if len(tail) > maxTailSize {
		return malformedChunk("the trailer section is too long")
	}
	if err := c.verifyTail(tail); err != nil {
		return err
	}
	if err := c.digests.verify(); err != nil {
		return err
	}
	c.done = true
	return nil
}

// trailerField is one trailing header as received.
type trailerField struct {
	name  string // lower case
	value string // trimmed
	raw   []byte // the line as sent, without its line break
}

// verifyTail checks what follows the final chunk header: nothing but blank
// lines for streams without trailers; otherwise the declared trailing
// headers and, for signed trailers, x-amz-trailer-signature over them.
// Clients differ in line breaks here (AWS SDKs send "name:value\r\n",
// minio-go "name:value\n" then "\r\n"), so lines end in "\n" with an optional
// "\r" and blank lines are skipped.
func (c *chunkedReader) verifyTail(tail []byte) error {
	var (
		fields    []trailerField
		sig       [32]byte
		haveSig   bool
		remaining = tail
	)
	for len(remaining) > 0 {
		line := remaining
		if i := bytes.IndexByte(remaining, '\n'); i >= 0 {
			line, remaining = remaining[:i], remaining[i+1:]
		} else {
			remaining = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if haveSig {
			return malformedChunk("data follows the trailer signature")
		}
		if !c.trailer {
			return errExcessData
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return malformedChunk("a trailer line has no ':'")
		}
		lname := strings.ToLower(string(bytes.TrimSpace(name)))
		if lname == "x-amz-trailer-signature" {
			if !c.signedTrailer {
				return malformedChunk("x-amz-trailer-signature in an unsigned trailer")
			}
			if !decodeSignature(bytes.TrimSpace(value), &sig) {
				return malformedChunk("the trailer signature must be 64 hexadecimal characters")
			}
			haveSig = true
			continue
		}
		fields = append(fields, trailerField{name: lname, value: string(bytes.TrimSpace(value)), raw: line})
	}
	if !c.trailer {
		return nil
	}
	if c.signedTrailer {
		if !haveSig {
			return s3err.New(s3err.SignatureDoesNotMatch, "The x-amz-trailer-signature is missing.")
		}
		if err := c.verifyTrailerSignature(fields, &sig); err != nil {
			return err
		}
	}
	for i, f := range fields {
		if c.trailerAlg == nil || f.name != c.trailerAlg.header {
			return s3err.New(s3err.InvalidRequest, "The trailer %s was not declared in x-amz-trailer.", f.name)
		}
		if i > 0 {
			return s3err.New(s3err.InvalidRequest, "The trailer %s is repeated.", f.name)
		}
		want, err := decodeChecksum(c.trailerAlg, f.value)
		if err != nil {
			return err
		}
		c.digests.wantChecksum = want
		c.payload.Checksum.Value = f.value
	}
	return nil
}

// verifyTrailerSignature checks x-amz-trailer-signature. The signed bytes
// are the trailing headers, each as "name:value\n"; the canonical form
// (lower-case name, trimmed value) is tried first, then the lines exactly as
// sent, which differ only for clients that do not canonicalise.
func (c *chunkedReader) verifyTrailerSignature(fields []trailerField, sig *[32]byte) error {
	c.sha.Reset()
	canonical := true
	for _, f := range fields {
		c.sha.Write([]byte(f.name))
		c.sha.Write([]byte(":"))
		c.sha.Write([]byte(f.value))
		c.sha.Write(newline)
		canonical = canonical && string(f.raw) == f.name+":"+f.value
	}
	prev := c.prevSig
	err := c.verifySignature(trailerAlgorithmLine, newline, c.sha.Sum(c.sumBuf[:0]), sig)
	if err == nil || canonical {
		return err
	}
	c.prevSig = prev
	c.sha.Reset()
	for _, f := range fields {
		c.sha.Write(f.raw)
		c.sha.Write(newline)
	}
	return c.verifySignature(trailerAlgorithmLine, newline, c.sha.Sum(c.sumBuf[:0]), sig)
}

// verifySignature checks a chained chunk or trailer signature:
//
//	ALGORITHM\nDATE\nSCOPE\nPREV_SIG<sep>HEX(dataHash)
//
// where sep is "\n" + SHA256("") + "\n" for chunks and "\n" for trailers.
func (c *chunkedReader) verifySignature(algLine, sep, dataHash []byte, sig *[32]byte) error {
	c.mac.Reset()
	c.mac.Write(algLine)
	c.mac.Write(c.scopeLines)
	hex.Encode(c.hexBuf[:], c.prevSig[:])
	c.mac.Write(c.hexBuf[:])
	c.mac.Write(sep)
	hex.Encode(c.hexBuf[:], dataHash)
	c.mac.Write(c.hexBuf[:])
	if !hmac.Equal(c.mac.Sum(c.macBuf[:0]), sig[:]) {
		return s3err.New(s3err.SignatureDoesNotMatch, "")
	}
	c.prevSig = *sig
	return nil
}

// readChunkHeader reads "HEX-SIZE[;extensions]\r\n". Signed streams require
// the chunk-signature extension, and nothing else.
func (c *chunkedReader) readChunkHeader() (int64, [32]byte, error) {
	var sig [32]byte
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return 0, sig, malformedChunk("a chunk header is too long")
		}
		return 0, sig, readError(err)
	}
	line = line[:len(line)-1]
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return 0, sig, malformedChunk("a chunk header does not end in CRLF")
	}
	line = line[:len(line)-1]
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if size > c.maxChunk>>4 {
			return 0, sig, s3err.New(s3err.InvalidRequest, "An aws-chunked chunk is larger than the maximum of %d bytes.", c.maxChunk)
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, sig, malformedChunk("a chunk size is not hexadecimal")
	}
	if size > c.maxChunk {
		return 0, sig, s3err.New(s3err.InvalidRequest, "An aws-chunked chunk is larger than the maximum of %d bytes.", c.maxChunk)
	}
	ext := line[i:]
	if c.signed {
		if !bytes.HasPrefix(ext, chunkSignatureExt) {
			return 0, sig, malformedChunk("a chunk has no chunk-signature")
		}
		if !decodeSignature(ext[len(chunkSignatureExt):], &sig) {
			return 0, sig, malformedChunk("a chunk-signature must be 64 hexadecimal characters")
		}
	} else if len(ext) > 0 && ext[0] != ';' {
		return 0, sig, malformedChunk("a chunk size is not hexadecimal")
	}
	return size, sig, nil
}

func (c *chunkedReader) readCRLF() error {
	for _, want := range [2]byte{'\r', '\n'} {
		b, err := c.br.ReadByte()
		if err != nil {
			return readError(err)
		}
		if b != want {
			return malformedChunk("chunk data is not followed by CRLF")
		}
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
