package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway"
	kesapi "github.com/s3seal/s3seal/gateway/kes"
	"github.com/s3seal/s3seal/kmsclient"
	"github.com/s3seal/s3seal/kmsclient/kes"
)

// startKESServer serves the embedded KMS over the KES API on kms.address
// (s3seal as a KES server for MinIO and other KES clients), with mutual TLS
// from kms.tls, the admin identity kms.admin.identity (or the older
// kms.root) and the policies kms.policy. With no kms.address it does
// nothing. kms must be the KMS openKMS returned, before any decoration: the
// KES API needs the embedded KMS itself, so an external KES key store
// (kms.keystore.kes) is refused.
//
// It returns once the listener is bound; shutdown stops the server,
// letting requests finish until ctx ends.
func startKESServer(cfg *fileConfig, kms gateway.KMS, log *zap.Logger) (shutdown func(context.Context) error, err error) {
	c := cfg.KMS
	if c.Address == "" {
		return func(context.Context) error { return nil }, nil
	}
	embedded, ok := kms.(*kmsclient.KMS)
	if !ok {
		return nil, errors.New("kms.address: the KES API is served only over s3seal's embedded KMS (kms.keystore.fs, aws or kmip), not over an external KES server (kms.keystore.kes)")
	}
	if c.TLS.Cert == "" || c.TLS.Key == "" {
		return nil, errors.New("kms.address: kms.tls.cert and kms.tls.key are required: the KES API is served over TLS only")
	}
	// Loaded once here for an error that names the settings; the reloader
	// then serves the pair and picks up rotated files.
	if _, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key); err != nil {
		return nil, fmt.Errorf("kms.tls.cert, kms.tls.key: %w", err)
	}
	certs, err := newCertReloader(c.TLS.Cert, c.TLS.Key, log.Named("kes"))
	if err != nil {
		return nil, fmt.Errorf("kms.tls.cert, kms.tls.key: %w", err)
	}
	var clientCAs *x509.CertPool
	if c.TLS.CA != "" {
		pem, err := os.ReadFile(c.TLS.CA)
		if err != nil {
			return nil, fmt.Errorf("kms.tls.ca: %w", err)
		}
		clientCAs = x509.NewCertPool()
		if !clientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kms.tls.ca: %s holds no PEM certificate", c.TLS.CA)
		}
	}

	admin := c.Admin.Identity
	switch {
	case admin != "" && c.Root != "" && admin != c.Root:
		return nil, errors.New("kms.admin.identity and kms.root (its older spelling) are both set and differ: set one")
	case admin == "":
		admin = c.Root
	}
	policies := make(map[string]kesapi.Policy, len(c.Policy))
	anyIdentity := admin != ""
	for name, p := range c.Policy {
		policies[name] = kesapi.Policy{Allow: p.Allow, Deny: p.Deny, Identities: p.Identities}
		anyIdentity = anyIdentity || len(p.Identities) > 0
	}
	if !anyIdentity {
		return nil, errors.New("kms.address: no identity may use the KES API: set kms.admin.identity or give a kms.policy identities (see `s3seal identity CERTFILE`)")
	}
	srv, err := kesapi.NewServer(kesapi.Config{
		KMS:           embedded,
		AdminIdentity: admin,
		Policies:      policies,
		Logger:        log.Named("kes"),
		Version:       version,
	})
	if err != nil {
		return nil, fmt.Errorf("kms.admin, kms.policy: %w", err)
	}

	ln, err := net.Listen("tcp", c.Address)
	if err != nil {
		return nil, fmt.Errorf("listen on kms.address: %w", err)
	}
	httpSrv := &http.Server{
		Handler:   srv.Handler(),
		TLSConfig: kesapi.TLSConfig(certs.GetCertificate, clientCAs),
		// Bodies are at most 1 MiB and routes time out after 15 s.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("kes.http")),
	}
	go func() {
		if err := httpSrv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("KES API server stopped", zap.Error(err))
		}
	}()
	log.Info("serving the KES API", zap.String("address", ln.Addr().String()),
		zap.Bool("admin", admin != ""), zap.Int("policies", len(policies)),
		zap.Bool("verify_client_certificates", clientCAs != nil))

	return func(ctx context.Context) error {
		err := httpSrv.Shutdown(ctx)
		if ctx.Err() != nil {
			err = errors.Join(err, httpSrv.Close())
		}
		if err != nil {
			return fmt.Errorf("shut down the KES API server: %w", err)
		}
		return nil
	}, nil
}

// runIdentity implements `s3seal identity CERTFILE|APIKEY`: it prints the
// KES identity of a PEM certificate or a KES API key, as `kes identity of`
// does — the value for kms.admin.identity and kms.policy identities.
func runIdentity(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("identity", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: s3seal identity CERTFILE|APIKEY\n\nPrints the KES identity (hex SHA-256 of the public key) of a PEM certificate or a kes:v1: API key.")
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	arg := fl.Arg(0)
	var (
		identity string
		err      error
	)
	if kes.IsAPIKey(arg) {
		identity, err = kes.IdentityOfAPIKey(arg)
	} else {
		var data []byte
		if data, err = os.ReadFile(arg); err == nil {
			if identity, err = kesapi.IdentityOfPEM(data); err != nil {
				err = fmt.Errorf("%s: %w", arg, err)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "s3seal identity:", err)
		return 1
	}
	fmt.Fprintln(stdout, identity)
	return 0
}
