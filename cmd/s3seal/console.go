package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/console"
	"github.com/s3seal/s3seal/gateway"
)

// startConsole serves the operators' web console on console.address
// (S3SEAL_CONSOLE_ADDRESS) when it is set, with the S3 listener's TLS
// configuration (https when tls is configured). The returned function
// shuts it down, letting requests in flight finish for up to 60s; calling
// it again does nothing.
func startConsole(cfg *fileConfig, gw *gateway.Server, obs *observability, tlsConfig *tls.Config, log *zap.Logger) (func(), error) {
	if cfg.Console.Address == "" {
		return func() {}, nil
	}
	var key []byte
	if cfg.Console.SessionKey != "" {
		key, _ = hex.DecodeString(cfg.Console.SessionKey) // validate checked it
	}
	c, err := console.New(console.Config{
		Gateway:    gw,
		Region:     cfg.Region,
		SessionKey: key,
		SessionTTL: cfg.Console.SessionTTL,
		Ready:      gw.Ready,
		Metrics:    obs.metrics.Registry(),
		Observe:    obs.Observe,
		Version:    version,
		Logger:     log,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Console.Address)
	if err != nil {
		return nil, fmt.Errorf("listen on S3SEAL_CONSOLE_ADDRESS: %w", err)
	}
	// As the S3 listener: no ReadTimeout or WriteTimeout, which would cut
	// off large uploads and downloads; the gateway's idle deadlines reach
	// the browser's connection through the console (console/transport.go).
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("console-http")),
	}
	scheme := "http"
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	} else {
		log.Warn("the console serves plain http: browsers keep its Secure session cookie only on loopback addresses; configure tls for any other")
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("console stopped", zap.Error(err))
		}
	}()
	log.Info("console listening", zap.String("url", scheme+"://"+ln.Addr().String()))
	if cfg.Console.SessionKey == "" {
		log.Info("console sessions are sealed under a per-process key: they end when s3seal restarts and do not move between replicas (set S3SEAL_CONSOLE_SESSION_KEY to share one)")
	}
	return sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("console shutdown", zap.Error(err))
		}
	}), nil
}
