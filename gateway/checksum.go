package gateway

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"

	"github.com/minio/crc64nvme"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// S3 flexible checksums of plaintext. The gateway keeps every checksum a
// client sends (or that it computes for a copy) sealed in its records:
// they are plaintext-derived and never reach the backend in the clear.
//
// A multipart object's checksum is either COMPOSITE, the checksum of the
// concatenated binary part checksums with "-N" appended, or FULL_OBJECT,
// the CRC of the whole plaintext, which for CRCs follows from the part
// CRCs and sizes (crcCombine) without reading the data again.

// checksumAlgorithm is one S3 flexible checksum algorithm.
type checksumAlgorithm struct {
	name string // as in x-amz-checksum-algorithm: "CRC32"
	size int    // digest length in bytes
	new  func() hash.Hash
	// poly is the reflected CRC polynomial; zero for a cryptographic hash,
	// which has no FULL_OBJECT form.
	poly uint64
}

// header is the algorithm's checksum header: X-Amz-Checksum-Crc32.
func (a *checksumAlgorithm) header() string { return "X-Amz-Checksum-" + a.name }

var checksumAlgorithms = []checksumAlgorithm{
	{"CRC32", 4, func() hash.Hash { return crc32.NewIEEE() }, 0xedb88320},
	{"CRC32C", 4, func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }, 0x82f63b78},
	{"CRC64NVME", 8, func() hash.Hash { return crc64nvme.New() }, 0x9a6c9329ac4bc9b5},
	{"SHA1", 20, sha1.New, 0},
	{"SHA256", 32, sha256.New, 0},
	// Not an AWS algorithm: minio-go sends it (ChecksumMD5).
	{"MD5", 16, md5.New, 0},
}

// checksumAlgorithmNamed finds an algorithm by name, case-insensitively;
// nil if there is none.
func checksumAlgorithmNamed(name string) *checksumAlgorithm {
	for i := range checksumAlgorithms {
		if strings.EqualFold(checksumAlgorithms[i].name, name) {
			return &checksumAlgorithms[i]
		}
	}
	return nil
}

// Checksum types, as in x-amz-checksum-type.
const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// checksumMode is how an upload's object checksum is formed: the
// algorithm from x-amz-checksum-algorithm and the type from
// x-amz-checksum-type. The zero value is an upload without one.
type checksumMode struct {
	Algorithm string `json:"alg,omitempty"`
	Type      string `json:"type,omitempty"`
}

func (m checksumMode) alg() *checksumAlgorithm { return checksumAlgorithmNamed(m.Algorithm) }

// parseChecksumMode reads x-amz-checksum-algorithm and x-amz-checksum-type
// of a CreateMultipartUpload. As S3 and MinIO: FULL_OBJECT only for CRCs,
// CRC64NVME is always FULL_OBJECT, a type needs an algorithm.
func parseChecksumMode(h http.Header) (checksumMode, error) {
	bad := s3err.New(s3err.InvalidArgument, "Invalid checksum provided.")
	name, typ := strings.TrimSpace(h.Get("X-Amz-Checksum-Algorithm")), strings.ToUpper(strings.TrimSpace(h.Get("X-Amz-Checksum-Type")))
	if typ != "" && typ != checksumComposite && typ != checksumFullObject {
		return checksumMode{}, bad
	}
	if name == "" {
		if typ == checksumFullObject {
			return checksumMode{}, bad
		}
		return checksumMode{}, nil
	}
	alg := checksumAlgorithmNamed(name)
	switch {
	case alg == nil:
		return checksumMode{}, bad
	case alg.name == "CRC64NVME":
		typ = checksumFullObject
	case typ == checksumFullObject && alg.poly == 0:
		return checksumMode{}, bad
	case typ == "":
		typ = checksumComposite
	}
	return checksumMode{Algorithm: alg.name, Type: typ}, nil
}

// partChecksum is one part's checksum as combined into the object's.
type partChecksum struct {
	raw  []byte
	size int64 // plaintext bytes
}

// objectChecksum combines the parts' checksums of alg into the object's:
// base64, with "-N" for a composite one.
func objectChecksum(alg *checksumAlgorithm, typ string, parts []partChecksum) string {
	if typ == checksumFullObject {
		var crc uint64
		for i, p := range parts {
			c := beUint(p.raw)
			if i == 0 {
				crc = c
			} else {
				crc = crcCombine(alg.poly, alg.size*8, crc, c, p.size)
			}
		}
		out := make([]byte, alg.size)
		putBEUint(out, crc)
		return base64.StdEncoding.EncodeToString(out)
	}
	h := alg.new()
	for _, p := range parts {
		h.Write(p.raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

func beUint(b []byte) uint64 {
	if len(b) == 4 {
		return uint64(binary.BigEndian.Uint32(b))
	}
	return binary.BigEndian.Uint64(b)
}

func putBEUint(b []byte, v uint64) {
	if len(b) == 4 {
		binary.BigEndian.PutUint32(b, uint32(v))
		return
	}
	binary.BigEndian.PutUint64(b, v)
}

// crcCombine returns the CRC of A||B from crc1 = CRC(A), crc2 = CRC(B) and
// len2 = len(B), for a reflected CRC of width bits (32 or 64) with
// polynomial poly whose initial value and final XOR are all ones (CRC32,
// CRC32C, CRC64NVME). It is zlib's crc32_combine: appending len2 zero bytes
// to A is a linear map on the CRC register, applied by repeated squaring
// of the one-zero-bit operator.
func crcCombine(poly uint64, width int, crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	odd := make([]uint64, width)  // operator for one zero bit
	even := make([]uint64, width) // operator for two zero bits, then squared
	odd[0] = poly
	row := uint64(1)
	for i := 1; i < width; i++ {
		odd[i] = row
		row <<= 1
	}
	gf2Square(even, odd) // two zero bits
	gf2Square(odd, even) // four zero bits
	for {
		gf2Square(even, odd) // apply len2 bits, one byte (8 zero bits) first
		if len2&1 != 0 {
			crc1 = gf2Times(even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(odd, even)
		if len2&1 != 0 {
			crc1 = gf2Times(odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for i := range mat {
		square[i] = gf2Times(mat, mat[i])
	}
}

// decodeChecksumValue decodes a base64 checksum of alg; ok is false for
// one of the wrong length or encoding.
func decodeChecksumValue(alg *checksumAlgorithm, value string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(value)
	return b, err == nil && len(b) == alg.size
}

// checksumSet is a part's or an object's checksums by algorithm name
// (base64 values, "-N" for a composite object checksum).
type checksumSet map[string]string

// setHeaders answers with the checksums as x-amz-checksum-* headers.
func (c checksumSet) setHeaders(h http.Header, typ string) {
	for name, v := range c {
		if alg := checksumAlgorithmNamed(name); alg != nil {
			h.Set(alg.header(), v)
		}
	}
	if len(c) > 0 && typ != "" {
		h.Set("X-Amz-Checksum-Type", typ)
	}
}

// xmlChecksums is the checksum elements of S3 documents (CompleteMultipart
// UploadResult, ListParts' Part, GetObjectAttributes). ChecksumMD5 is not
// S3's: minio-go reads it (and other clients ignore it).
type xmlChecksums struct {
	ChecksumCRC32     string `xml:",omitempty"`
	ChecksumCRC32C    string `xml:",omitempty"`
	ChecksumCRC64NVME string `xml:",omitempty"`
	ChecksumSHA1      string `xml:",omitempty"`
	ChecksumSHA256    string `xml:",omitempty"`
	ChecksumMD5       string `xml:",omitempty"`
}

func (c checksumSet) xml() xmlChecksums {
	return xmlChecksums{
		ChecksumCRC32: c["CRC32"], ChecksumCRC32C: c["CRC32C"], ChecksumCRC64NVME: c["CRC64NVME"],
		ChecksumSHA1: c["SHA1"], ChecksumSHA256: c["SHA256"], ChecksumMD5: c["MD5"],
	}
}

// get returns the value for an algorithm element of a client document.
func (c xmlChecksums) get(name string) string {
	switch name {
	case "CRC32":
		return c.ChecksumCRC32
	case "CRC32C":
		return c.ChecksumCRC32C
	case "CRC64NVME":
		return c.ChecksumCRC64NVME
	case "SHA1":
		return c.ChecksumSHA1
	case "SHA256":
		return c.ChecksumSHA256
	case "MD5":
		return c.ChecksumMD5
	}
	return ""
}

func (c xmlChecksums) empty() bool { return c == xmlChecksums{} }
