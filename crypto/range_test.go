package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// testObject is an encrypted object as the backend holds it.
type testObject struct {
	layout    Layout
	multipart bool
	key       ObjectKey
	plain     []byte
	cipher    []byte
}

func newTestObject(t testing.TB, multipart bool, parts ...int64) *testObject {
	t.Helper()
	o := &testObject{layout: parts, multipart: multipart}
	o.key, _ = GenerateObjectKey(testExtKey(), nil)
	for i, size := range parts {
		part := plaintext(int(size), uint64(i+1))
		o.plain = append(o.plain, part...)
		o.cipher = append(o.cipher, encrypt(t, part, o.streamKey(i+1))...)
	}
	return o
}

// streamKey returns the key of the stream of Segment.Part part, mapping a
// one-part multipart object's Part 0 to part number 1.
func (o *testObject) streamKey(part int) ObjectKey {
	if !o.multipart {
		return o.key
	}
	return o.key.PartKey(max(part, 1))
}

// readRange plans [offset, offset+length), fetches each segment on its own
// and with one request for all, and checks both give the same plaintext.
func (o *testObject) readRange(t *testing.T, offset, length int64) []byte {
	t.Helper()
	segs, err := o.layout.Plan(offset, length)
	if err != nil {
		t.Fatalf("Plan(%d, %d): %v", offset, length, err)
	}
	var each bytes.Buffer
	for _, seg := range segs {
		fetched := o.cipher[seg.CipherOffset : seg.CipherOffset+seg.CipherLength]
		r, err := DecryptSegment(bytes.NewReader(fetched), o.streamKey(seg.Part), seg)
		if err != nil {
			t.Fatalf("DecryptSegment(%+v): %v", seg, err)
		}
		if _, err := io.Copy(&each, r); err != nil {
			t.Fatalf("decrypt segment %+v: %v", seg, err)
		}
	}
	if len(segs) > 0 {
		first, last := segs[0], segs[len(segs)-1]
		span := o.cipher[first.CipherOffset : last.CipherOffset+last.CipherLength]
		r, err := DecryptSegments(bytes.NewReader(span), segs, o.streamKey)
		if err != nil {
			t.Fatalf("DecryptSegments: %v", err)
		}
		all, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(all, each.Bytes()) {
			t.Fatalf("DecryptSegments = %d bytes, %v; want the %d bytes of the single fetches", len(all), err, each.Len())
		}
	}
	return each.Bytes()
}

func TestRangeReadsMatchPlaintext(t *testing.T) {
	const MiB = 1 << 20
	objects := []struct {
		name      string
		multipart bool
		parts     []int64
	}{
		{"single-part of one byte", false, []int64{1}},
		{"single-part of one package", false, []int64{65536}},
		{"single-part with a short last package", false, []int64{3*65536 + 100}},
		{"multipart with ragged parts", true, []int64{5*MiB + 1, 7*MiB + 13, 1000}},
		{"multipart with package-multiple parts", true, []int64{128 << 10, 64 << 10, 64 << 10, 17}},
		{"multipart of a single part", true, []int64{200000}},
		{"multipart with an empty part", true, []int64{100000, 0, 5}},
		{"multipart of one-byte parts", true, []int64{1, 1, 1}},
	}
	for _, obj := range objects {
		t.Run(obj.name, func(t *testing.T) {
			o := newTestObject(t, obj.multipart, obj.parts...)
			size := o.layout.Size()
			if got := int64(len(o.cipher)); got != o.layout.CipherSize() {
				t.Fatalf("ciphertext has %d bytes, CipherSize = %d", got, o.layout.CipherSize())
			}
			type span struct{ offset, length int64 }
			spans := []span{{0, 1}, {size - 1, 1}, {0, size}}
			var boundary int64
			for _, part := range o.layout[:len(o.layout)-1] {
				boundary += part
				for _, d := range []int64{-1, 0} { // ranges ending at, starting at and crossing the boundary
					if boundary+d >= 0 && boundary+d+2 <= size {
						spans = append(spans, span{boundary + d, 2})
					}
				}
			}
			for _, at := range []int64{PackageSize - 1, PackageSize, PackageSize + 1, 2*PackageSize - 1} {
				if at+2 <= size {
					spans = append(spans, span{at, 2}, span{at, size - at})
				}
			}
			rng := rand.New(rand.NewPCG(uint64(size), 9))
			for range 40 {
				offset := rng.Int64N(size)
				spans = append(spans, span{offset, 1 + rng.Int64N(size-offset)})
			}
			for _, s := range spans {
				got := o.readRange(t, s.offset, s.length)
				if want := o.plain[s.offset : s.offset+s.length]; !bytes.Equal(got, want) {
					t.Errorf("range %d+%d: got %d bytes differing from the plaintext slice", s.offset, s.length, len(got))
				}
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name           string
		layout         Layout
		offset, length int64
		want           []Segment
	}{
		{
			"first byte fetches only the first package",
			Layout{3 * 65536}, 0, 1,
			[]Segment{{CipherOffset: 0, CipherLength: 65568, Sequence: 0, Skip: 0, Length: 1}},
		},
		{
			"bytes inside a middle package",
			Layout{2*65536 + 10}, 65536 + 5, 10,
			[]Segment{{CipherOffset: 65568, CipherLength: 65568, Sequence: 1, Skip: 5, Length: 10}},
		},
		{
			"range across a package boundary fetches both packages",
			Layout{3 * 65536}, 65535, 2,
			[]Segment{{CipherOffset: 0, CipherLength: 2 * 65568, Sequence: 0, Skip: 65535, Length: 2}},
		},
		{
			"short last package is final",
			Layout{2*65536 + 10}, 2 * 65536, 10,
			[]Segment{{CipherOffset: 2 * 65568, CipherLength: 42, Sequence: 2, Length: 10, Final: true}},
		},
		{
			"range ending inside the last package still checks it is final",
			Layout{65536 + 10}, 0, 65537,
			[]Segment{{CipherOffset: 0, CipherLength: 65568 + 42, Length: 65537, Final: true}},
		},
		{
			"range across parts restarts the sequence in the next part",
			Layout{65536 + 1, 10}, 65536, 6,
			[]Segment{
				{Part: 1, CipherOffset: 65568, CipherLength: 33, Sequence: 1, Length: 1, Final: true},
				{Part: 2, CipherOffset: 65568 + 33, CipherLength: 42, Length: 5, Final: true},
			},
		},
		{
			"empty parts are skipped",
			Layout{10, 0, 10}, 5, 10,
			[]Segment{
				{Part: 1, CipherOffset: 0, CipherLength: 42, Skip: 5, Length: 5, Final: true},
				{Part: 3, CipherOffset: 42, CipherLength: 42, Length: 5, Final: true},
			},
		},
		{"empty range needs no segments", Layout{10}, 10, 0, nil},
		{"empty object needs no segments", Layout{0}, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.layout.Plan(tt.offset, tt.length)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan(%d, %d) = %+v, %v\nwant %+v, nil", tt.offset, tt.length, got, err, tt.want)
			}
		})
	}
}

func TestPlanRejects(t *testing.T) {
	tests := []struct {
		name           string
		layout         Layout
		offset, length int64
		want           error
	}{
		{"negative offset", Layout{10}, -1, 2, ErrInvalidRange},
		{"negative length", Layout{10}, 0, -1, ErrInvalidRange},
		{"range past the end", Layout{10}, 5, 6, ErrInvalidRange},
		{"offset past the end", Layout{10}, 11, 0, ErrInvalidRange},
		{"length overflowing int64", Layout{10}, 5, math.MaxInt64, ErrInvalidRange},
		{"negative part size", Layout{10, -1}, 0, 1, ErrInvalidSize},
		{"part beyond one DARE stream", Layout{MaxPlaintextSize + 1}, 0, 1, ErrInvalidSize},
		{"object beyond int64", hugeLayout(40000), 0, 1, ErrInvalidSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.layout.Plan(tt.offset, tt.length); !errors.Is(err, tt.want) {
				t.Errorf("Plan = %+v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestRangeReadDetectsTruncatedObject(t *testing.T) {
	// The backend lost the final package; the layout read from its size
	// describes a shorter object, which must not pass as genuine.
	o := newTestObject(t, false, 3*PackageSize+100)
	truncated := o.cipher[:3*EncryptedPackageSize]
	size, err := DecryptedSize(int64(len(truncated)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		offset, length int64
	}{
		{"whole object", 0, size},
		{"last byte", size - 1, 1},
		{"start of the last package", 2 * PackageSize, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := Layout{size}.Plan(tt.offset, tt.length)
			if err != nil {
				t.Fatal(err)
			}
			span := truncated[segs[0].CipherOffset:]
			r, err := DecryptSegments(bytes.NewReader(span), segs, func(int) ObjectKey { return o.key })
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if !errors.Is(err, ErrTampered) {
				t.Errorf("error = %v, want ErrTampered", err)
			}
			// The last bytes are withheld: a reader that counts bytes
			// (an HTTP response with a Content-Length) must not see the
			// whole shorter object.
			if int64(len(got)) >= tt.length {
				t.Errorf("delivered all %d bytes of the range before the error", len(got))
			}
		})
	}
}

func TestDecryptSegmentDetectsTampering(t *testing.T) {
	o := newTestObject(t, false, 4*PackageSize+100)
	segs, _ := o.layout.Plan(PackageSize+10, 2*PackageSize)
	seg := segs[0]
	fetched := func() []byte { return bytes.Clone(o.cipher[seg.CipherOffset : seg.CipherOffset+seg.CipherLength]) }
	flipped := fetched()
	flipped[EncryptedPackageSize+40] ^= 1
	shifted := seg
	shifted.Sequence++

	tests := []struct {
		name    string
		fetched []byte
		seg     Segment
	}{
		{"flipped byte", flipped, seg},
		{"backend returned too few bytes", fetched()[:2*EncryptedPackageSize], seg},
		{"backend returned a cut package", fetched()[:len(fetched())-1], seg},
		{"wrong sequence number", fetched(), shifted},
		{"packages from the wrong offset", o.cipher[0:seg.CipherLength], seg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecryptSegment(bytes.NewReader(tt.fetched), o.key, tt.seg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if !errors.Is(err, ErrTampered) {
				t.Errorf("error = %v, want ErrTampered", err)
			}
			if want := o.plain[PackageSize+10:]; !isPrefix(got, want) {
				t.Errorf("returned %d bytes that are not the range's prefix", len(got))
			}
		})
	}
}

func TestDecryptSegmentRejectsInconsistentSegments(t *testing.T) {
	valid := Segment{CipherOffset: 65568, CipherLength: 65568, Sequence: 1, Skip: 5, Length: 10}
	tests := []struct {
		name   string
		modify func(*Segment)
	}{
		{"skip of a whole package", func(s *Segment) { s.Skip = PackageSize }},
		{"negative skip", func(s *Segment) { s.Skip = -1 }},
		{"zero length", func(s *Segment) { s.Length = 0 }},
		{"more plaintext than fetched", func(s *Segment) { s.Length = PackageSize }},
		{"more packages fetched than needed", func(s *Segment) { s.CipherLength = 2 * EncryptedPackageSize }},
		{"short package not marked final", func(s *Segment) { s.CipherLength = 1000 }},
		{"package of overhead only", func(s *Segment) { s.CipherLength = PackageOverhead; s.Final = true }},
		{"sequence number running out", func(s *Segment) { s.Sequence = math.MaxUint32; s.Length = PackageSize; s.CipherLength *= 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := valid
			tt.modify(&seg)
			if _, err := DecryptSegment(bytes.NewReader(nil), ObjectKey{}, seg); !errors.Is(err, ErrInvalidRange) {
				t.Errorf("DecryptSegment(%+v) error = %v, want ErrInvalidRange", seg, err)
			}
		})
	}
	t.Run("non-contiguous segments", func(t *testing.T) {
		next := valid
		next.CipherOffset += valid.CipherLength + 1
		_, err := DecryptSegments(bytes.NewReader(nil), []Segment{valid, next}, func(int) ObjectKey { return ObjectKey{} })
		if !errors.Is(err, ErrInvalidRange) {
			t.Errorf("error = %v, want ErrInvalidRange", err)
		}
	})
	if err := valid.validate(); err != nil {
		t.Errorf("the unmodified segment is invalid: %v", err)
	}
}

func FuzzPlan(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0}, int64(0), int64(1))
	f.Add([]byte{0, 0, 1, 0, 13, 0, 1, 0, 0, 0, 0, 0}, int64(65535), int64(65540))
	f.Add([]byte{255, 255, 255, 255}, int64(1), int64(0))
	f.Fuzz(func(t *testing.T, raw []byte, offset, length int64) {
		var layout Layout
		for i := 0; i+4 <= len(raw) && len(layout) < 64; i += 4 {
			// Little-endian uint32 scaled up so parts reach many packages.
			n := int64(raw[i]) | int64(raw[i+1])<<8 | int64(raw[i+2])<<16 | int64(raw[i+3])<<24
			layout = append(layout, n*int64(raw[i]%3+1)-int64(raw[i+1]%2))
		}
		segs, err := layout.Plan(offset, length)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) && !errors.Is(err, ErrInvalidSize) {
				t.Fatalf("Plan error %v is neither ErrInvalidRange nor ErrInvalidSize", err)
			}
			return
		}
		checkSegments(t, layout, offset, length, segs)
	})
}

// checkSegments checks the invariants of a plan: segments in part order,
// contiguous in the ciphertext, internally consistent, inside their parts,
// and emitting exactly length bytes that start at offset.
func checkSegments(t *testing.T, layout Layout, offset, length int64, segs []Segment) {
	t.Helper()
	partStart := make([]int64, len(layout)+1) // plaintext
	cipherStart := make([]int64, len(layout)+1)
	for i, p := range layout {
		partStart[i+1] = partStart[i] + p
		cipherStart[i+1] = cipherStart[i] + EncryptedSize(p)
	}
	var emitted int64
	for i, seg := range segs {
		if err := seg.validate(); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		idx := seg.Part - 1
		if len(layout) == 1 {
			if seg.Part != 0 {
				t.Fatalf("segment %d of a one-part layout has Part %d", i, seg.Part)
			}
			idx = 0
		}
		if idx < 0 || idx >= len(layout) || (i > 0 && seg.Part <= segs[i-1].Part) {
			t.Fatalf("segment %d: Part %d out of order or range", i, seg.Part)
		}
		inPart := seg.CipherOffset - cipherStart[idx]
		if inPart != int64(seg.Sequence)*EncryptedPackageSize || seg.CipherOffset+seg.CipherLength > cipherStart[idx+1] {
			t.Fatalf("segment %d %+v is not package-aligned inside part %d", i, seg, idx+1)
		}
		if final := seg.CipherOffset+seg.CipherLength == cipherStart[idx+1]; final != seg.Final {
			t.Fatalf("segment %d: Final = %v, but ends at the part's end: %v", i, seg.Final, final)
		}
		if i > 0 && seg.CipherOffset != segs[i-1].CipherOffset+segs[i-1].CipherLength {
			t.Fatalf("segment %d does not follow segment %d", i, i-1)
		}
		plainAt := partStart[idx] + int64(seg.Sequence)*PackageSize + seg.Skip
		if plainAt != offset+emitted {
			t.Fatalf("segment %d starts at plaintext %d, want %d", i, plainAt, offset+emitted)
		}
		if i > 0 && seg.Skip != 0 {
			t.Fatalf("segment %d skips %d bytes though the range continues from the previous part", i, seg.Skip)
		}
		emitted += seg.Length
	}
	if emitted != length {
		t.Fatalf("segments emit %d bytes, want %d", emitted, length)
	}
}

func TestPlanInvariantsOnRandomLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		layout := make(Layout, 1+rng.IntN(6))
		for j := range layout {
			switch rng.IntN(4) {
			case 0:
				layout[j] = rng.Int64N(4) * PackageSize
			case 1:
				layout[j] = rng.Int64N(1 << 30)
			default:
				layout[j] = rng.Int64N(4*PackageSize + 3)
			}
		}
		size := layout.Size()
		offset := rng.Int64N(size + 1)
		length := rng.Int64N(size - offset + 1)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			segs, err := layout.Plan(offset, length)
			if err != nil {
				t.Fatalf("Plan(%v, %d, %d): %v", layout, offset, length, err)
			}
			checkSegments(t, layout, offset, length, segs)
		})
	}
}

// hugeLayout returns n parts of the largest size a DARE stream can have.
func hugeLayout(n int) Layout {
	l := make(Layout, n)
	for i := range l {
		l[i] = MaxPlaintextSize
	}
	return l
}
