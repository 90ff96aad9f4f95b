package crypto

import (
	"errors"
	"testing"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		name                   string
		header                 string
		size                   int64
		wantOffset, wantLength int64
		wantErr                error
	}{
		{"first byte", "bytes=0-0", 100, 0, 1, nil},
		{"closed range", "bytes=10-19", 100, 10, 10, nil},
		{"last byte by position", "bytes=99-99", 100, 99, 1, nil},
		{"end beyond the object is clamped", "bytes=90-1000", 100, 90, 10, nil},
		{"end far beyond int64 is clamped", "bytes=90-99999999999999999999", 100, 90, 10, nil},
		{"open range", "bytes=40-", 100, 40, 60, nil},
		{"open range from zero is the whole object", "bytes=0-", 100, 0, 100, nil},
		{"suffix", "bytes=-10", 100, 90, 10, nil},
		{"suffix of the whole object", "bytes=-100", 100, 0, 100, nil},
		{"suffix longer than the object is the whole object", "bytes=-1000", 100, 0, 100, nil},
		{"suffix on an empty object selects nothing", "bytes=-5", 0, 0, 0, nil},
		{"spaces around the range are allowed", "bytes= 1-2 ", 100, 1, 2, nil},
		{"leading zeros are digits", "bytes=007-008", 100, 7, 2, nil},

		{"start at the end is unsatisfiable", "bytes=100-", 100, 0, 0, ErrInvalidRange},
		{"start beyond the end is unsatisfiable", "bytes=150-200", 100, 0, 0, ErrInvalidRange},
		{"start far beyond int64 is unsatisfiable", "bytes=99999999999999999999-", 100, 0, 0, ErrInvalidRange},
		{"zero suffix is unsatisfiable", "bytes=-0", 100, 0, 0, ErrInvalidRange},
		{"first byte of an empty object is unsatisfiable", "bytes=0-0", 0, 0, 0, ErrInvalidRange},
		{"open range of an empty object is unsatisfiable", "bytes=0-", 0, 0, 0, ErrInvalidRange},

		{"two ranges", "bytes=0-1,5-6", 100, 0, 0, ErrMultipleRanges},
		{"range and suffix", "bytes=0-1, -5", 100, 0, 0, ErrMultipleRanges},

		{"empty header", "", 100, 0, 0, ErrRangeSyntax},
		{"other unit", "items=0-1", 100, 0, 0, ErrRangeSyntax},
		{"unit in upper case", "Bytes=0-1", 100, 0, 0, ErrRangeSyntax},
		{"no dash", "bytes=5", 100, 0, 0, ErrRangeSyntax},
		{"dash only", "bytes=-", 100, 0, 0, ErrRangeSyntax},
		{"nothing after the unit", "bytes=", 100, 0, 0, ErrRangeSyntax},
		{"end before start", "bytes=10-5", 100, 0, 0, ErrRangeSyntax},
		{"plus sign", "bytes=+1-5", 100, 0, 0, ErrRangeSyntax},
		{"negative suffix", "bytes=--5", 100, 0, 0, ErrRangeSyntax},
		{"letters", "bytes=a-b", 100, 0, 0, ErrRangeSyntax},
		{"hex", "bytes=0x10-0x20", 100, 0, 0, ErrRangeSyntax},
		{"space inside a number", "bytes=1 0-20", 100, 0, 0, ErrRangeSyntax},
		{"two dashes", "bytes=1-2-3", 100, 0, 0, ErrRangeSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offset, length, err := ParseRange(tt.header, tt.size)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("ParseRange(%q, %d) error = %v, want %v", tt.header, tt.size, err, tt.wantErr)
			}
			if err == nil && (offset != tt.wantOffset || length != tt.wantLength) {
				t.Errorf("ParseRange(%q, %d) = %d, %d; want %d, %d", tt.header, tt.size, offset, length, tt.wantOffset, tt.wantLength)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-0", "bytes=5-", "bytes=-5", "bytes=1-2,3-4", "bytes=9-1", "bytes=-", "bytes= 1-2 "} {
		f.Add(h, int64(100))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		offset, length, err := ParseRange(header, size)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) && !errors.Is(err, ErrRangeSyntax) && !errors.Is(err, ErrMultipleRanges) {
				t.Fatalf("ParseRange(%q, %d) error %v is not a sentinel", header, size, err)
			}
			return
		}
		if offset < 0 || length < 0 || offset > size || length > size-offset {
			t.Fatalf("ParseRange(%q, %d) = %d, %d: outside the object", header, size, offset, length)
		}
		if length == 0 && size != 0 {
			t.Fatalf("ParseRange(%q, %d) = %d, 0: empty range of a non-empty object", header, size, offset)
		}
		if _, err := (Layout{size}).Plan(offset, length); err != nil && size <= MaxPlaintextSize {
			t.Fatalf("Plan of parsed range %d+%d of %d: %v", offset, length, size, err)
		}
	})
}
