package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3seal/s3seal/gateway"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var sample = gateway.RequestInfo{
	RequestID:  "17C0FFEE00000001",
	Operation:  "PutObject",
	AccessKey:  "ASIATEMPORARY",
	ParentUser: "alice",
	Bucket:     "photos",
	Object:     "2026/cat.jpg",
	KeyID:      "tenant-a",
	Encrypted:  true,
	Status:     200,
	BytesIn:    1 << 20,
	BytesOut:   0,
	Duration:   3250 * time.Microsecond,
	Time:       time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.FixedZone("CET", 3600)),
}

func TestLogWritesOneJSONLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	if err := l.Log(sample); err != nil {
		t.Fatalf("Log: %v", err)
	}
	got := buf.String()
	want := `{"time":"2026-01-02T14:04:05.123456789Z","request_id":"17C0FFEE00000001","access_key":"ASIATEMPORARY",` +
		`"parent_user":"alice","anonymous":false,"operation":"PutObject","bucket":"photos","object":"2026/cat.jpg","key_id":"tenant-a","encrypted":true,` +
		`"status":200,"bytes_in":1048576,"bytes_out":0,"duration_ms":3.25}` + "\n"
	if got != want {
		t.Errorf("line:\ngot  %s\nwant %s", got, want)
	}
}

func TestLogRecordHasExactlyTheDocumentedFields(t *testing.T) {
	var buf bytes.Buffer
	if err := New(&buf).Log(gateway.RequestInfo{}); err != nil {
		t.Fatalf("Log: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(buf.Bytes(), &fields); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, buf.Bytes())
	}
	var got []string
	for k := range fields {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"access_key", "anonymous", "bucket", "bytes_in", "bytes_out", "duration_ms", "encrypted", "key_id", "object",
		"operation", "parent_user", "request_id", "status", "time"}
	if !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

func TestLogIsSafeForConcurrentUse(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				info := sample
				info.RequestID = fmt.Sprintf("%d-%d", w, i)
				info.Object = strings.Repeat("x", 100+i)
				if err := l.Log(info); err != nil {
					t.Errorf("Log: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not JSON (interleaved write?): %v\n%s", len(seen)+1, err, sc.Bytes())
		}
		seen[r.RequestID] = true
	}
	if got, want := len(seen), writers*each; got != want {
		t.Errorf("distinct records = %d, want %d", got, want)
	}
}

func TestOpenAppendsToAPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for i := range 2 {
		l, err := Open(path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		if err := l.Log(sample); err != nil {
			t.Fatalf("Log #%d: %v", i+1, err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(string(data), "\n"), 2; got != want {
		t.Errorf("lines after two opens = %d, want %d (appended)\n%s", got, want, data)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("file mode = %v, want %v", got, want)
	}
}

func TestOpenRejectsAnUnwritablePath(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing-dir", "audit.log"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open in a missing directory: error = %v, want one wrapping os.ErrNotExist", err)
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\"): error = nil, want one")
	}
}

func TestOpenStdoutIsNotClosed(t *testing.T) {
	l, err := Open("stdout")
	if err != nil {
		t.Fatalf("Open(stdout): %v", err)
	}
	if l.w != os.Stdout {
		t.Errorf("writer = %v, want os.Stdout", l.w)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("stdout after Close: %v, want still open", err)
	}
}

func TestLogAfterCloseReportsErrClosed(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	if err := l.Log(sample); !errors.Is(err, ErrClosed) {
		t.Errorf("Log after Close: error = %v, want ErrClosed", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Log after Close wrote %q", buf.String())
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestLogReportsWriteErrors(t *testing.T) {
	diskFull := errors.New("no space left on device")
	if err := New(failingWriter{diskFull}).Log(sample); !errors.Is(err, diskFull) {
		t.Errorf("Log to a failing writer: error = %v, want one wrapping %v", err, diskFull)
	}
}
