package gateway

import (
	"io"
)

// copyReadAhead streams src to dst like copyWith, but reads (decrypts) the
// next buffer from src in a second goroutine while the current one is
// written, so a single stream's backend read, decryption and client write
// overlap instead of taking turns. Each read fills a whole buffer, so dst
// gets large writes. first is a buffer from copyBuffers, which
// copyReadAhead takes over; a second one comes from the pool too. As
// copyWith, it returns only read errors: a failed write means the client
// went away.
//
// After a failed write the reading goroutine may still be in src.Read; it
// stops at its next step, at the latest when the caller closes the body
// src reads from, and both buffers are then left to the garbage collector
// rather than to the pool.
func copyReadAhead(dst io.Writer, src io.Reader, first *[]byte) (int64, error) {
	second := copyBuffers.Get().(*[]byte)
	release := func() {
		copyBuffers.Put(first)
		copyBuffers.Put(second)
	}
	type chunk struct {
		b   []byte
		err error // io.EOF after the last bytes
	}
	full := make(chan chunk, 1)
	free := make(chan []byte, 2)
	free <- *first
	free <- *second
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(src, b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case full <- chunk{b[:n], err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	for c := range full {
		if len(c.b) > 0 {
			n, err := dst.Write(c.b)
			written += int64(n)
			if err == nil && n != len(c.b) {
				err = io.ErrShortWrite
			}
			if err != nil {
				close(stop)
				return written, nil // the client went away
			}
		}
		switch {
		case c.err == io.EOF:
			for range full { // the reader has stopped: the buffers are free
			}
			release()
			return written, nil
		case c.err != nil:
			for range full {
			}
			release()
			return written, c.err
		}
		free <- c.b[:cap(c.b)]
	}
	release()
	return written, nil
}
