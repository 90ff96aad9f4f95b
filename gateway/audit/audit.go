package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/s3seal/s3seal/gateway"
)

// ErrClosed is returned by Log after Close.
var ErrClosed = errors.New("audit log is closed")

// Logger appends audit records to a writer. It is safe for concurrent use.
// Each record is written with one Write call as soon as it is logged, so
// nothing is lost in a crash and, for a file opened with O_APPEND, lines
// from concurrent writers never interleave.
type Logger struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer // nil: the writer is not ours to close
	closed bool
	buf    []byte
}

// New returns a Logger writing to w. Close does not close w.
func New(w io.Writer) *Logger {
	return &Logger{w: w}
}

// Open returns a Logger for path: "stdout" writes to the process's standard
// output; anything else is a file, created with mode 0600 if absent and
// appended to. Close closes the file.
func Open(path string) (*Logger, error) {
	switch path {
	case "":
		return nil, errors.New("audit log path is empty")
	case "stdout":
		return New(os.Stdout), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l := New(f)
	l.closer = f
	return l, nil
}

// record is one audit line. Its fields are the whole of what is logged:
// adding one here is the only way to log more.
type record struct {
	Time       string  `json:"time"`
	RequestID  string  `json:"request_id"`
	AccessKey  string  `json:"access_key"`
	ParentUser string  `json:"parent_user"`
	Anonymous  bool    `json:"anonymous"`
	Operation  string  `json:"operation"`
	Bucket     string  `json:"bucket"`
	Object     string  `json:"object"`
	KeyID      string  `json:"key_id"`
	Encrypted  bool    `json:"encrypted"`
	Status     int     `json:"status"`
	BytesIn    int64   `json:"bytes_in"`
	BytesOut   int64   `json:"bytes_out"`
	DurationMS float64 `json:"duration_ms"`
}

// Log writes one line for info. It returns ErrClosed after Close and the
// writer's error if the line could not be written.
func (l *Logger) Log(info gateway.RequestInfo) error {
	line, err := json.Marshal(record{
		Time:       info.Time.UTC().Format(time.RFC3339Nano),
		RequestID:  info.RequestID,
		AccessKey:  info.AccessKey,
		ParentUser: info.ParentUser,
		Anonymous:  info.Anonymous,
		Operation:  info.Operation,
		Bucket:     info.Bucket,
		Object:     info.Object,
		KeyID:      info.KeyID,
		Encrypted:  info.Encrypted,
		Status:     info.Status,
		BytesIn:    info.BytesIn,
		BytesOut:   info.BytesOut,
		DurationMS: float64(info.Duration) / float64(time.Millisecond),
	})
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.buf = append(append(l.buf[:0], line...), '\n')
	if _, err := l.w.Write(l.buf); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// Close stops logging and closes the file Open opened. Calling it again
// does nothing.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.closer == nil {
		return nil
	}
	if err := l.closer.Close(); err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}
