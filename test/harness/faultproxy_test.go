package harness

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tcpTarget is a loopback TCP server for the proxy tests: it counts the
// bytes it receives and, if echo is set, sends them back.
type tcpTarget struct {
	ln       net.Listener
	received atomic.Int64
	ended    chan int64 // bytes received by each connection, when it ends
	wg       sync.WaitGroup
}

func startTCPTarget(t *testing.T, echo bool) *tcpTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpTarget{ln: ln, ended: make(chan int64, 16)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				var n int64
				buf := make([]byte, 8<<10)
				for {
					k, err := c.Read(buf)
					n += int64(k)
					s.received.Add(int64(k))
					if k > 0 && echo {
						if _, werr := c.Write(buf[:k]); werr != nil {
							err = werr
						}
					}
					if err != nil {
						s.ended <- n
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *tcpTarget) addr() string { return s.ln.Addr().String() }

func dialProxy(t *testing.T, p *FaultProxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// roundTrip writes data and reads the echo back.
func roundTrip(t *testing.T, c net.Conn, data []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { _, err := c.Write(data); errc <- err }()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo differs from what was sent (%d bytes)", len(data))
	}
}

// endedWithin returns the byte count of the next target connection to end.
func (s *tcpTarget) endedWithin(t *testing.T, d time.Duration) int64 {
	t.Helper()
	select {
	case n := <-s.ended:
		return n
	case <-time.After(d):
		t.Fatalf("target connection still open after %v", d)
		return 0
	}
}

func TestFaultProxy(t *testing.T) {
	data := RandomBytes(t, 200<<10)

	t.Run("forwards both directions byte for byte", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		roundTrip(t, dialProxy(t, p), data)
		if got := p.Accepted(); got != 1 {
			t.Errorf("Accepted() = %d, want 1", got)
		}
	})

	t.Run("CutAll resets open connections and keeps accepting", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		c := dialProxy(t, p)
		roundTrip(t, c, data[:1000])
		if got := p.CutAll(); got != 1 {
			t.Errorf("CutAll() = %d, want 1", got)
		}
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("read after CutAll succeeded, want an error")
		}
		target.endedWithin(t, 10*time.Second)
		roundTrip(t, dialProxy(t, p), data[:1000])
	})

	t.Run("CutAfter upstream forwards exactly n bytes, then resets", func(t *testing.T) {
		target := startTCPTarget(t, false)
		p := StartFaultProxy(t, target.addr())
		const n = 70_001
		p.CutAfter(Upstream, n)
		c := dialProxy(t, p)
		_, _ = c.Write(data) // fails part way: the proxy resets the connection
		if got := target.endedWithin(t, 10*time.Second); got != n {
			t.Errorf("target received %d bytes, want exactly %d", got, n)
		}
		if _, err := io.ReadAll(c); err == nil {
			t.Errorf("client read to a clean EOF after the cut, want a reset")
		}
		if got := p.Cuts(); got != 1 {
			t.Errorf("Cuts() = %d, want 1", got)
		}
		// One-shot: the next connection is not cut.
		c2 := dialProxy(t, p)
		if _, err := c2.Write(data[:5000]); err != nil {
			t.Fatal(err)
		}
		c2.Close()
		if got := target.endedWithin(t, 10*time.Second); got != 5000 {
			t.Errorf("target received %d bytes on the next connection, want all 5000", got)
		}
	})

	t.Run("Restore disarms a pending cut", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		p.CutAfter(Downstream, 0)
		if err := p.Restore(); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, dialProxy(t, p), data[:5000])
	})

	t.Run("CutAfter downstream delivers exactly n bytes, then an error", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		const n = 100_003
		p.CutAfter(Downstream, n)
		c := dialProxy(t, p)
		go func() { _, _ = c.Write(data) }() // echoed back until the cut
		got, err := io.ReadAll(c)
		if err == nil {
			t.Errorf("read to the end without an error, want a reset")
		}
		if len(got) != n || !bytes.Equal(got, data[:n]) {
			t.Errorf("client received %d bytes (prefix intact: %v), want exactly the first %d", len(got), bytes.Equal(got, data[:len(got)]), n)
		}
	})

	t.Run("Stall holds bytes until Resume", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		c := dialProxy(t, p)
		roundTrip(t, c, data[:10]) // the upstream connection is up
		before := target.received.Load()
		p.Stall()
		if _, err := c.Write(data[:1000]); err != nil {
			t.Fatal(err)
		}
		p.WaitStalled(t, 10*time.Second)
		if got := target.received.Load(); got != before {
			t.Errorf("target received %d bytes during the stall, want 0", got-before)
		}
		p.Resume()
		got := make([]byte, 1000)
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data[:1000]) {
			t.Errorf("echo after Resume: err %v, intact %v", err, bytes.Equal(got, data[:1000]))
		}
	})

	t.Run("StallAfter forwards exactly n bytes, then holds the rest until Resume", func(t *testing.T) {
		target := startTCPTarget(t, false)
		p := StartFaultProxy(t, target.addr())
		c := dialProxy(t, p)
		const n = 50_001
		p.StallAfter(Upstream, n)
		errc := make(chan error, 1)
		go func() { _, err := c.Write(data); errc <- err }()
		p.WaitStalled(t, 10*time.Second)
		// The n bytes were written before the stall took hold; wait for
		// them to land, then no more can arrive until Resume.
		waitFor(t, "target to receive the bytes before the stall", func() bool { return target.received.Load() >= n })
		if got := target.received.Load(); got != n {
			t.Errorf("target received %d bytes during the stall, want exactly %d", got, n)
		}
		p.Resume()
		waitFor(t, "target to receive everything after Resume", func() bool { return target.received.Load() == int64(len(data)) })
		if err := <-errc; err != nil {
			t.Errorf("write: %v", err)
		}
	})

	t.Run("a cut ends a stalled connection", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		c := dialProxy(t, p)
		roundTrip(t, c, data[:10])
		p.Stall()
		if _, err := c.Write(data[:1000]); err != nil {
			t.Fatal(err)
		}
		p.WaitStalled(t, 10*time.Second)
		p.CutAll()
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("read after a cut of a stalled connection succeeded")
		}
		if got := target.endedWithin(t, 10*time.Second); got != 10 {
			t.Errorf("target received %d bytes, want the 10 sent before the stall", got)
		}
	})

	t.Run("Refuse refuses new connections; Restore listens on the same address", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		open := dialProxy(t, p)
		roundTrip(t, open, data[:10])
		p.Refuse()
		if _, err := open.Read(make([]byte, 1)); err == nil {
			t.Errorf("open connection survived Refuse")
		}
		if c, err := net.DialTimeout("tcp", p.Addr, 5*time.Second); err == nil {
			c.Close()
			t.Errorf("dial while refusing succeeded")
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial while refusing: %v, want ECONNREFUSED", err)
		}
		if err := p.Restore(); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, dialProxy(t, p), data[:1000])
	})

	t.Run("Close ends everything and is idempotent", func(t *testing.T) {
		target := startTCPTarget(t, true)
		p := StartFaultProxy(t, target.addr())
		c := dialProxy(t, p)
		roundTrip(t, c, data[:10])
		p.Stall()
		p.Close()
		p.Close()
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("read after Close succeeded")
		}
		if got := p.Open(); got != 0 {
			t.Errorf("Open() after Close = %d, want 0", got)
		}
	})
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollInterval / 10) // a poll interval, not a fixed wait
	}
}
