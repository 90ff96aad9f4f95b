package gateway

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadAheadCopiesExactly(t *testing.T) {
	for _, n := range []int{0, 1, 256<<10 - 1, 256 << 10, 256<<10 + 1, 3<<20 + 7} {
		data := testData(n)
		var out bytes.Buffer
		got, err := copyReadAhead(&out, iotest.HalfReader(bytes.NewReader(data)), copyBuffers.Get().(*[]byte))
		if err != nil || got != int64(n) || !bytes.Equal(out.Bytes(), data) {
			t.Errorf("%d bytes: copied %d, %v, equal %v", n, got, err, bytes.Equal(out.Bytes(), data))
		}
	}
}

func TestReadAheadStopsAtAReadError(t *testing.T) {
	data := testData(600 << 10)
	bad := errors.New("tampered")
	src := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(bad))
	var out bytes.Buffer
	n, err := copyReadAhead(&out, src, copyBuffers.Get().(*[]byte))
	if !errors.Is(err, bad) {
		t.Errorf("error %v, want %v", err, bad)
	}
	if n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
		t.Errorf("wrote %d bytes before the error, want the %d before it", n, len(data))
	}
}

// failingWriter fails every write after the first.
type failingWriter struct{ writes int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.writes++
	if f.writes > 1 {
		return 0, errors.New("client went away")
	}
	return len(p), nil
}

func TestReadAheadEndsWhenTheClientGoesAway(t *testing.T) {
	// An endless source: only the failed write can end the copy.
	src := iotest.HalfReader(neverEnding{})
	w := &failingWriter{}
	n, err := copyReadAhead(w, src, copyBuffers.Get().(*[]byte))
	if err != nil || n != 256<<10 || w.writes != 2 {
		t.Errorf("copied %d, %v after %d writes; want the first buffer, no error, 2 writes", n, err, w.writes)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) { return len(p), nil }
