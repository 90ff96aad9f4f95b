package harness

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Direction is the way bytes flow through a FaultProxy.
type Direction int

const (
	// Upstream is from the connecting client to the target: request bodies.
	Upstream Direction = iota
	// Downstream is from the target back to the client: response bodies.
	Downstream
)

func (d Direction) String() string {
	if d == Upstream {
		return "upstream"
	}
	return "downstream"
}

// FaultProxy forwards TCP connections from a 127.0.0.1 port to a target and
// breaks them on demand, so a test can put a network fault between two real
// servers: cut every open connection, cut one after a number of bytes, stall
// all forwarding, refuse new connections, and restore normal service.
//
// A cut resets both halves of a forwarded connection (SO_LINGER 0), as a
// dropped link or a crashed peer would look to each side.
type FaultProxy struct {
	Addr   string // 127.0.0.1:PORT, the same for the proxy's whole life
	target string

	mu         sync.Mutex
	ln         net.Listener // nil while refusing
	conns      map[*proxiedConn]struct{}
	resume     chan struct{} // non-nil while stalled; closed by Resume
	cutAfter   [2]int64      // bytes left per direction before a cut; <0: not armed
	stallAfter [2]int64      // bytes left per direction before a stall; <0: not armed
	closed     bool
	accepted   int
	cuts       int
	stalled    int // copy loops holding bytes at the stall gate

	wg sync.WaitGroup
}

type proxiedConn struct {
	client, upstream net.Conn
	done             chan struct{} // closed when the connection is cut or ends
	once             sync.Once
}

// close resets both halves.
func (c *proxiedConn) close() {
	c.once.Do(func() {
		close(c.done)
		for _, nc := range []net.Conn{c.client, c.upstream} {
			if nc == nil {
				continue
			}
			if tc, ok := nc.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			nc.Close()
		}
	})
}

// StartFaultProxy listens on 127.0.0.1:0 and forwards every connection to
// target (host:port). It is closed in t.Cleanup.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fault proxy: listen: %v", err)
	}
	p := &FaultProxy{Addr: ln.Addr().String(), target: target, conns: map[*proxiedConn]struct{}{}, cutAfter: [2]int64{-1, -1}, stallAfter: [2]int64{-1, -1}}
	p.serve(ln)
	t.Cleanup(p.Close)
	return p
}

// Endpoint returns http://Addr.
func (p *FaultProxy) Endpoint() string { return "http://" + p.Addr }

func (p *FaultProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	}()
}

func (p *FaultProxy) forward(client net.Conn) {
	pc := &proxiedConn{client: client, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed || p.ln == nil {
		p.mu.Unlock()
		pc.close()
		return
	}
	p.accepted++
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.drop(pc)
		upstream, err := net.DialTimeout("tcp", p.target, 10*time.Second)
		if err != nil {
			return
		}
		p.mu.Lock()
		pc.upstream = upstream
		cut := p.closed
		p.mu.Unlock()
		select {
		case <-pc.done: // cut while dialling
			cut = true
		default:
		}
		if cut {
			upstream.Close()
			return
		}
		ended := make(chan struct{}, 2)
		go func() { p.copy(pc, Upstream, upstream, client); ended <- struct{}{} }()
		go func() { p.copy(pc, Downstream, client, upstream); ended <- struct{}{} }()
		// A half-close on one side ends the other's copy too: an HTTP peer
		// that closes has nothing more to say.
		<-ended
		pc.close()
		<-ended
	}()
}

// copy forwards src to dst in direction dir until either fails, honouring
// stalls and armed cuts.
func (p *FaultProxy) copy(pc *proxiedConn, dir Direction, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitUnstalled(pc) {
				return
			}
			send, fault := p.take(dir, n)
			if send > 0 {
				if _, werr := dst.Write(buf[:send]); werr != nil {
					return
				}
			}
			switch fault {
			case faultCut:
				pc.close()
				return
			case faultStall:
				if !p.waitUnstalled(pc) {
					return
				}
				if _, werr := dst.Write(buf[send:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// waitUnstalled blocks while the proxy is stalled; false means the
// connection was cut meanwhile.
func (p *FaultProxy) waitUnstalled(pc *proxiedConn) bool {
	p.mu.Lock()
	resume := p.resume
	if resume == nil {
		p.mu.Unlock()
		return true
	}
	p.stalled++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.stalled--
		p.mu.Unlock()
	}()
	select {
	case <-resume:
		return true
	case <-pc.done:
		return false
	}
}

type fault int

const (
	faultNone  fault = iota
	faultCut         // reset the connection after the bytes sent
	faultStall       // the proxy is now stalled; hold the rest
)

// take accounts n bytes read in direction dir and returns how many to
// forward now and which armed fault, if any, fires after them.
func (p *FaultProxy) take(dir Direction, n int) (send int, f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	send, f = n, faultNone
	if left := p.stallAfter[dir]; left >= 0 {
		if int64(n) < left {
			p.stallAfter[dir] -= int64(n)
		} else {
			p.stallAfter[dir] = -1
			if p.resume == nil {
				p.resume = make(chan struct{})
			}
			send, f = int(left), faultStall
		}
	}
	if left := p.cutAfter[dir]; left >= 0 {
		if int64(send) < left {
			p.cutAfter[dir] -= int64(send)
		} else {
			p.cutAfter[dir] = -1
			p.cuts++
			send, f = int(left), faultCut
		}
	}
	return send, f
}

func (p *FaultProxy) drop(pc *proxiedConn) {
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// CutAll resets every open connection now and returns how many it cut. New
// connections are still accepted.
func (p *FaultProxy) CutAll() int {
	p.mu.Lock()
	n := len(p.conns)
	for pc := range p.conns {
		pc.close()
	}
	p.cuts += n
	p.mu.Unlock()
	return n
}

// CutAfter arms a one-shot fault: once n more bytes have been forwarded in
// direction dir, counted from now over all connections, the connection that
// carried the n-th byte is reset. Other connections are untouched.
func (p *FaultProxy) CutAfter(dir Direction, n int64) {
	if n < 0 {
		n = 0
	}
	p.mu.Lock()
	p.cutAfter[dir] = n
	p.mu.Unlock()
}

// StallAfter arms a one-shot stall: once n more bytes have been forwarded
// in direction dir, counted from now over all connections, the proxy stalls
// as if Stall had been called, so a test can stop traffic in the middle of
// a body rather than before it.
func (p *FaultProxy) StallAfter(dir Direction, n int64) {
	if n < 0 {
		n = 0
	}
	p.mu.Lock()
	p.stallAfter[dir] = n
	p.mu.Unlock()
}

// Stall stops forwarding in both directions on every connection, open or
// new, until Resume; bytes read meanwhile are held, not dropped. Connections
// stay open, so the peers see a silent network, not an error.
func (p *FaultProxy) Stall() {
	p.mu.Lock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
	p.mu.Unlock()
}

// Resume ends a stall; held bytes are forwarded.
func (p *FaultProxy) Resume() {
	p.mu.Lock()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
	p.mu.Unlock()
}

// Stalled returns how many copies are holding bytes at a stall: a positive
// number proves traffic was in flight when it stopped.
func (p *FaultProxy) Stalled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

// WaitStalled polls until at least one copy holds bytes at a stall, and
// fails the test if none does within timeout.
func (p *FaultProxy) WaitStalled(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for p.Stalled() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("fault proxy to %s: no traffic reached the stall within %v", p.target, timeout)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(pollInterval / 5):
		}
	}
}

// Refuse closes the listening socket, so new connections are refused
// (ECONNREFUSED), and resets every open one.
func (p *FaultProxy) Refuse() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.CutAll()
}

// Restore undoes every fault: it ends a stall, disarms pending faults and
// listens again on the same address if the proxy was refusing.
func (p *FaultProxy) Restore() error {
	p.Resume()
	p.mu.Lock()
	p.cutAfter, p.stallAfter = [2]int64{-1, -1}, [2]int64{-1, -1}
	listening, closed := p.ln != nil, p.closed
	p.mu.Unlock()
	if listening || closed {
		return nil
	}
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		return fmt.Errorf("fault proxy: listen again on %s: %w", p.Addr, err)
	}
	p.serve(ln)
	return nil
}

// Accepted returns how many connections the proxy has accepted.
func (p *FaultProxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Cuts returns how many connections the proxy has cut, by CutAll, Refuse or
// an armed CutAfter.
func (p *FaultProxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Open returns how many forwarded connections are open.
func (p *FaultProxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops the proxy, resets every connection and waits for its
// goroutines. Safe to call more than once.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	ln := p.ln
	p.ln = nil
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
	for pc := range p.conns {
		pc.close()
	}
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.wg.Wait()
}
