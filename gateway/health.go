package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

func (s *Server) healthLive(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amz-Request-Id", newRequestID())
	w.WriteHeader(http.StatusOK)
}

// healthReady answers 200 only when the gateway is initialised and both the
// backend and the KMS answer.
func (s *Server) healthReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amz-Request-Id", newRequestID())
	if err := s.Ready(r.Context()); err != nil {
		s.log.Debug("not ready", zapErr(err))
		if rke, ok := errors.AsType[*RecordKeyError](err); ok {
			// Say why: an operator's probe should not need the logs to
			// tell a wrong key store from an outage. Names only, no keys.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: the system record %s is sealed under KMS key %q, which the configured key store cannot open\n", rke.Record, rke.KeyID)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Ready reports whether the gateway can serve: initialised, backend
// reachable, KMS reachable. The backend and KMS checks are shared: callers
// within readinessTTL of the last check get its result, and concurrent
// callers wait for one check in flight, so probes (unauthenticated, from
// every load balancer and kubelet) cost at most one backend HEAD and one
// KMS status call per readinessTTL.
func (s *Server) Ready(ctx context.Context) error {
	if !s.ready.Load() {
		if rke := s.initErr.Load(); rke != nil {
			return rke
		}
		return errNotInitialised
	}
	return s.readiness.check(ctx, s.probeReady)
}

// probeReady asks the backend and the KMS.
func (s *Server) probeReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	if err := s.records.probe(ctx); err != nil {
		return err
	}
	if _, err := s.cfg.KMS.Status(ctx); err != nil {
		return err
	}
	return nil
}

const (
	// readinessTTL is how long a readiness result is reused: short enough
	// for a load balancer to notice an outage within a few seconds.
	readinessTTL = 2 * time.Second
	// readinessTimeout bounds one check.
	readinessTimeout = 5 * time.Second
)

// readinessProbe is a single-flight cache of one check's result. The zero
// value is ready to use, with readinessTTL.
type readinessProbe struct {
	ttl time.Duration // zero: readinessTTL

	mu      sync.Mutex
	checked time.Time     // when err was found; zero: never
	err     error         // the last result
	running chan struct{} // closed when the check in flight ends; nil: none
}

// check returns the cached result if it is fresh, else the result of a
// check it starts or one already in flight. The check runs detached from
// any one caller's context (a caller that gives up does not fail the
// others) and ends within readinessTimeout.
func (p *readinessProbe) check(ctx context.Context, probe func(context.Context) error) error {
	ttl := p.ttl
	if ttl == 0 {
		ttl = readinessTTL
	}
	p.mu.Lock()
	if !p.checked.IsZero() && time.Since(p.checked) < ttl {
		err := p.err
		p.mu.Unlock()
		return err
	}
	done := p.running
	if done == nil {
		done = make(chan struct{})
		p.running = done
		go func() {
			err := probe(context.WithoutCancel(ctx))
			p.mu.Lock()
			p.err, p.checked, p.running = err, time.Now(), nil
			p.mu.Unlock()
			close(done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
