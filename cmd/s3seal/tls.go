package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

// certReloader serves a certificate from files and reloads it when they
// change, so certificates can be rotated without a restart.
type certReloader struct {
	certFile, keyFile string
	log               *zap.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func newCertReloader(certFile, keyFile string, log *zap.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate (S3SEAL_TLS_CERT, S3SEAL_TLS_KEY): %w", err)
	}
	c.cert = &cert
	c.modTime = c.latestModTime()
	return nil
}

func (c *certReloader) latestModTime() time.Time {
	var t time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// GetCertificate implements tls.Config.GetCertificate. Files are checked at
// most once a second; a broken new pair keeps the old certificate.
func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) > time.Second {
		c.checked = time.Now()
		if m := c.latestModTime(); m.After(c.modTime) {
			if err := c.reload(); err != nil {
				c.log.Error("reload TLS certificate; keeping the previous one", zap.Error(err))
				c.modTime = m
			} else {
				c.log.Info("reloaded TLS certificate")
			}
		}
	}
	return c.cert, nil
}
