package harness

import (
	"bytes"
	"testing"
)

func TestFindPlaintextRun(t *testing.T) {
	small := RandomBytes(t, 4096)
	large := RandomBytes(t, 2<<20)
	noise := RandomBytes(t, 8192)
	splice := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name      string
		stored    []byte
		plaintext []byte
		want      bool
	}{
		{"unrelated bytes", noise, small, false},
		{"whole plaintext stored", splice(noise[:100], small, noise[:7]), small, true},
		{"one 32-byte run at an odd offset", splice(noise[:333], small[1001:1033], noise[333:]), small, true},
		{"31 bytes are not a run", splice(noise[:333], small[1001:1032], noise[333:]), small, false},
		{"95-byte stretch of a large plaintext", splice(noise, large[1<<20+3:1<<20+98], noise), large, true},
		{"the last 95 bytes of a large plaintext", splice(noise, large[len(large)-95:]), large, true},
		{"the first 95 bytes of a large plaintext", splice(large[:95], noise), large, true},
		{"large plaintext stored whole", splice(noise[:5], large), large, true},
		{"large plaintext, unrelated bytes", splice(noise, noise, noise), large, false},
		{"short plaintext found whole", splice(noise, []byte("hello"), noise), []byte("hello"), true},
		{"stored shorter than a run", noise[:10], small, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			so, po, got := FindPlaintextRun(tc.stored, tc.plaintext)
			if got != tc.want {
				t.Fatalf("FindPlaintextRun found=%v (stored offset %d, plaintext offset %d), want %v", got, so, po, tc.want)
			}
			if got && len(tc.plaintext) >= PlaintextRunLen && !bytes.Equal(tc.stored[so:so+PlaintextRunLen], tc.plaintext[po:po+PlaintextRunLen]) {
				t.Fatalf("reported run at stored %d / plaintext %d does not match", so, po)
			}
		})
	}
}
