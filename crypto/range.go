package crypto

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Layout is an object's plaintext part sizes in order. A single-part object
// has one element; so does a multipart object of one part (its stream is
// still under PartKey, see Segment.Part).
type Layout []int64

// Size returns the plaintext size of the object, the sum of its parts.
func (l Layout) Size() int64 {
	var size int64
	for _, part := range l {
		size += part
	}
	return size
}

// CipherSize returns the size of the backend object: the sum of the parts'
// EncryptedSize. Comparing it with the backend's size catches a layout that
// does not belong to the object.
func (l Layout) CipherSize() int64 {
	var size int64
	for _, part := range l {
		size += EncryptedSize(part)
	}
	return size
}

// validate checks that every part can be a DARE stream and that the object
// sizes fit in an int64.
func (l Layout) validate() error {
	var cipher int64
	for i, part := range l {
		if part < 0 || part > MaxPlaintextSize {
			return fmt.Errorf("%w: part %d has %d bytes", ErrInvalidSize, i+1, part)
		}
		if EncryptedSize(part) > math.MaxInt64-cipher {
			return fmt.Errorf("%w: object too large", ErrInvalidSize)
		}
		cipher += EncryptedSize(part)
	}
	return nil
}

// Segment is one contiguous ciphertext range to fetch from the backend
// object and how to turn it into plaintext (see DecryptSegment).
type Segment struct {
	// Part is the 1-based position of the part in the Layout when the
	// Layout has more than one part, and 0 for a one-element Layout. The
	// stream's key is the object key for a single-part object and
	// PartKey(n) for a multipart one, where n is the S3 part number the part
	// was uploaded with: Part itself when the upload numbered its parts
	// 1..N, and 1 (not 0) for a multipart object of one part.
	Part int
	// CipherOffset is the absolute offset in the backend (ciphertext)
	// object of the first package to fetch; CipherLength the bytes to fetch.
	CipherOffset int64
	CipherLength int64
	// Sequence is the DARE sequence number of the first fetched package:
	// its index within the part's stream.
	Sequence uint32
	// Skip is the plaintext to discard at the start of the decrypted
	// segment (less than PackageSize); Length the plaintext to emit after.
	Skip   int64
	Length int64
	// Final says the last fetched package is the last of the part's
	// stream, so the reader can check it carries DARE's final flag.
	Final bool
}

// validate checks that the segment's fields agree with one another: the
// fetched packages are exactly those that hold [Skip, Skip+Length), all
// but the last are full, and only a final one may be short.
func (s Segment) validate() error {
	if s.Part < 0 || s.CipherOffset < 0 || s.CipherLength <= 0 ||
		s.Skip < 0 || s.Skip >= PackageSize || s.Length <= 0 || s.Length > MaxPlaintextSize {
		return fmt.Errorf("%w: inconsistent segment %+v", ErrInvalidRange, s)
	}
	end := s.Skip + s.Length
	packages := (end + PackageSize - 1) / PackageSize
	lastPayload := s.CipherLength - (packages-1)*EncryptedPackageSize - PackageOverhead
	switch {
	case lastPayload < end-(packages-1)*PackageSize, lastPayload > PackageSize,
		lastPayload < PackageSize && !s.Final,
		int64(s.Sequence)+packages > 1<<32:
		return fmt.Errorf("%w: inconsistent segment %+v", ErrInvalidRange, s)
	}
	return nil
}

// Plan returns the segments that cover the plaintext [offset, offset+length)
// in order: one per part touched, each fetching only the packages that hold
// requested bytes. Consecutive segments are contiguous in the ciphertext. A
// zero length at an offset within [0, Size] needs no segments. A range
// outside the object returns ErrInvalidRange; an impossible layout
// ErrInvalidSize.
func (l Layout) Plan(offset, length int64) ([]Segment, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	size := l.Size()
	if offset < 0 || length < 0 || offset > size || length > size-offset {
		return nil, fmt.Errorf("%w: %d bytes at %d of %d", ErrInvalidRange, length, offset, size)
	}
	if length == 0 {
		return nil, nil
	}
	end := offset + length
	var (
		segs        []Segment
		plainStart  int64 // of the current part in the object
		cipherStart int64
	)
	for i, partSize := range l {
		if plainStart >= end {
			break
		}
		plainEnd := plainStart + partSize
		if partSize > 0 && offset < plainEnd {
			lo := max(offset, plainStart) - plainStart // within the part
			hi := min(end, plainEnd) - plainStart
			first, last := lo/PackageSize, (hi-1)/PackageSize
			cipherEnd := min((last+1)*EncryptedPackageSize, EncryptedSize(partSize))
			seg := Segment{
				CipherOffset: cipherStart + first*EncryptedPackageSize,
				CipherLength: cipherEnd - first*EncryptedPackageSize,
				Sequence:     uint32(first),
				Skip:         lo - first*PackageSize,
				Length:       hi - lo,
				Final:        last == (partSize-1)/PackageSize,
			}
			if len(l) > 1 {
				seg.Part = i + 1
			}
			segs = append(segs, seg)
		}
		plainStart = plainEnd
		cipherStart += EncryptedSize(partSize)
	}
	return segs, nil
}

// ParseRange parses the value of an HTTP Range header against an object of
// size bytes and returns the selected plaintext range. It follows S3:
//
//   - "bytes=a-b" selects a through b; b beyond the end is clamped.
//   - "bytes=a-" selects a through the end.
//   - "bytes=-n" selects the last n bytes, or the whole object when n > size.
//   - a >= size, and "bytes=-0", return ErrInvalidRange: S3 answers 416
//     InvalidRange.
//   - Several ranges ("bytes=0-1,4-5") return ErrMultipleRanges: S3 serves
//     only single ranges.
//   - Anything else — another unit, a > b, signs, "bytes=-" — returns
//     ErrRangeSyntax: like S3, the gateway then ignores the header and
//     answers 200 with the whole object.
//
// A zero length is returned only for "bytes=-n" on an empty object; no 206
// can express it (S3 answers 416 for every other range of an empty object),
// so the gateway answers 200 with the empty object.
func ParseRange(header string, size int64) (offset, length int64, err error) {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q", ErrRangeSyntax, header)
	}
	if strings.Contains(spec, ",") {
		return 0, 0, fmt.Errorf("%w: %q", ErrMultipleRanges, header)
	}
	first, last, ok := strings.Cut(strings.Trim(spec, " \t"), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q", ErrRangeSyntax, header)
	}
	start, hasStart := parsePosition(first)
	end, hasEnd := parsePosition(last)
	if (!hasStart && first != "") || (!hasEnd && last != "") || (!hasStart && !hasEnd) {
		return 0, 0, fmt.Errorf("%w: %q", ErrRangeSyntax, header)
	}
	if hasStart && hasEnd && start > end {
		return 0, 0, fmt.Errorf("%w: %q ends before it starts", ErrRangeSyntax, header)
	}
	if size < 0 {
		return 0, 0, fmt.Errorf("%w: object size %d", ErrInvalidRange, size)
	}

	if !hasStart { // suffix: the last end bytes
		if end == 0 {
			return 0, 0, fmt.Errorf("%w: %q selects no bytes", ErrInvalidRange, header)
		}
		length = min(end, size)
		return size - length, length, nil
	}
	if start >= size {
		return 0, 0, fmt.Errorf("%w: %q starts beyond the %d-byte object", ErrInvalidRange, header, size)
	}
	if !hasEnd || end >= size {
		end = size - 1
	}
	return start, end - start + 1, nil
}

// parsePosition parses a non-empty run of ASCII digits. Values beyond int64
// saturate: they are valid syntax, just beyond any object.
func parsePosition(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64, true // only a range error is possible here
	}
	return n, true
}
