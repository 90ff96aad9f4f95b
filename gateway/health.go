package gateway

import (
	"context"
	"net/http"
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
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Ready reports whether the gateway can serve: initialised, backend
// reachable, KMS reachable.
func (s *Server) Ready(ctx context.Context) error {
	if !s.ready.Load() {
		return errNotInitialised
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.records.probe(ctx); err != nil {
		return err
	}
	if _, err := s.cfg.KMS.Status(ctx); err != nil {
		return err
	}
	return nil
}
