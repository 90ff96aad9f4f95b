// Package testproc holds what the product's unit tests share to run real
// peer processes (moto, KES, pykmip-server). It is imported only by tests.
package testproc

import (
	"bytes"
	"sync"
)

// Output collects a child process's stdout and stderr; it is safe to
// write from the process's pipes while a test reads it.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
