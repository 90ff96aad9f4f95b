package harness

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// RandomBytes returns n bytes from crypto/rand. Random data cannot be
// compressed and makes any plaintext that reaches the backend findable.
func RandomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return b
}

// SHA256Hex returns the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// PlaintextRunLen is the length of the plaintext runs FindPlaintextRun looks
// for in stored bytes.
const PlaintextRunLen = 32

// FindPlaintextRun reports whether stored contains a run of plaintext, and
// where. For plaintexts up to 256 KiB it finds any PlaintextRunLen-byte run;
// for larger ones it fingerprints by winnowing (Schleimer et al.) over
// windows of 64 runs and finds any copied stretch of 95 bytes or more (and
// most shorter ones). Time is linear in len(stored)+len(plaintext); every hit
// is confirmed byte by byte. Plaintexts shorter than PlaintextRunLen are
// looked for whole.
func FindPlaintextRun(stored, plaintext []byte) (storedOffset, plainOffset int, found bool) {
	return NewPlaintextIndex(plaintext).Find(stored)
}

// PlaintextIndex is FindPlaintextRun's fingerprints of one plaintext, for
// looking for it in many stored files without fingerprinting it again.
type PlaintextIndex struct {
	plaintext []byte
	w         int
	table     *fingerprintTable
}

// NewPlaintextIndex fingerprints plaintext (see FindPlaintextRun).
func NewPlaintextIndex(plaintext []byte) *PlaintextIndex {
	x := &PlaintextIndex{plaintext: plaintext, w: 1}
	if len(plaintext) < PlaintextRunLen {
		return x
	}
	if len(plaintext) > 256<<10 {
		x.w = 64
	}
	x.table = newFingerprintTable(2*len(plaintext)/(x.w+1) + 1)
	winnow(plaintext, x.w, func(off int, h uint64) bool { x.table.add(off, h); return true })
	return x
}

// Find is FindPlaintextRun(stored, the indexed plaintext).
func (x *PlaintextIndex) Find(stored []byte) (storedOffset, plainOffset int, found bool) {
	const n = PlaintextRunLen
	plaintext := x.plaintext
	if len(plaintext) < n {
		if len(plaintext) == 0 {
			return 0, 0, false
		}
		i := bytes.Index(stored, plaintext)
		return max(i, 0), 0, i >= 0
	}
	if len(stored) < n {
		return 0, 0, false
	}
	storedOffset, plainOffset = -1, -1
	winnow(stored, x.w, func(off int, h uint64) bool {
		x.table.each(h, func(p int) bool {
			if bytes.Equal(stored[off:off+n], plaintext[p:p+n]) {
				storedOffset, plainOffset = off, p
				return false
			}
			return true
		})
		return storedOffset < 0
	})
	return storedOffset, plainOffset, storedOffset >= 0
}

// fingerprintTable maps window hashes to plaintext offsets: open
// addressing with linear probing, at most 5/8 full.
type fingerprintTable struct {
	mask   uint64
	hashes []uint64
	offs   []uint32 // offset+1; 0 marks an empty slot
}

func newFingerprintTable(n int) *fingerprintTable {
	size := 16
	for size*5/8 < n {
		size *= 2
	}
	return &fingerprintTable{mask: uint64(size - 1), hashes: make([]uint64, size), offs: make([]uint32, size)}
}

func (t *fingerprintTable) add(off int, h uint64) {
	i := h & t.mask
	for t.offs[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.hashes[i], t.offs[i] = h, uint32(off+1)
}

// each calls fn with every offset recorded under h until fn returns false.
func (t *fingerprintTable) each(h uint64, fn func(off int) bool) {
	for i := h & t.mask; t.offs[i] != 0; i = (i + 1) & t.mask {
		if t.hashes[i] == h && !fn(int(t.offs[i])-1) {
			return
		}
	}
}

// winnow calls fn with the offset and hash of the selected windows of b
// until fn returns false: among every w consecutive PlaintextRunLen-byte
// windows, the one with the smallest hash (the rightmost on ties). Two
// inputs that share a stretch of w+PlaintextRunLen-1 bytes select a window
// inside it in both. Window hashes are a polynomial rolling hash mod 2^64
// finished with the splitmix64 mixer.
func winnow(b []byte, w int, fn func(off int, h uint64) bool) {
	const n = PlaintextRunLen
	const base = 1099511628211 // FNV prime: odd, so multiplication is invertible mod 2^64
	var pow uint64 = 1         // base^(n-1)
	for range n - 1 {
		pow *= base
	}
	// A monotonic deque of candidates (increasing hash; the front is the
	// current minimum) in a power-of-two ring: it never holds more than w.
	ringSize := 1
	for ringSize < w+1 {
		ringSize *= 2
	}
	mask := ringSize - 1
	offs := make([]int, ringSize)
	hashes := make([]uint64, ringSize)
	head, size, last := 0, 0, -1

	var roll uint64
	for i := range n {
		roll = roll*base + uint64(b[i])
	}
	for off := 0; ; off++ {
		h := mix(roll)
		for size > 0 && hashes[(head+size-1)&mask] >= h {
			size--
		}
		offs[(head+size)&mask], hashes[(head+size)&mask] = off, h
		size++
		if offs[head] <= off-w {
			head = (head + 1) & mask
			size--
		}
		if off >= w-1 && offs[head] != last {
			last = offs[head]
			if !fn(offs[head], hashes[head]) {
				return
			}
		}
		if off+n >= len(b) {
			break
		}
		roll = (roll-uint64(b[off])*pow)*base + uint64(b[off+n])
	}
	// Inputs shorter than w windows still get their minimum.
	if last < 0 && size > 0 {
		fn(offs[head], hashes[head])
	}
}

// mix is the splitmix64 finalizer: it spreads the rolling hash, whose low
// bits depend only on the inputs' low bits, over all 64 bits.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// RandomHex returns 2n random hex characters.
func RandomHex(t testing.TB, n int) string {
	t.Helper()
	return randomHex(t, n)
}
