// Command s3seal runs the s3seal encrypting S3 gateway.
//
//	s3seal --version
//	s3seal server [--config FILE]     configured by S3SEAL_* variables and the file
//	s3seal healthcheck [--url URL]    exit 0 when a gateway's liveness probe answers 200
//	s3seal identity CERTFILE|APIKEY   print the KES identity of a certificate or API key
//	s3seal kms migrate|key ...        copy keys between key stores; rotate a key, show its versions
//	s3seal rekey --bucket B ...       re-seal a bucket's objects under another key or key version
//	s3seal encrypt-existing --bucket B  encrypt objects stored before s3seal, in place
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/s3seal/s3seal/gateway"
	"github.com/s3seal/s3seal/kmsclient"
)

// version is stamped at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: s3seal server [--config FILE] | s3seal healthcheck [--url URL] | s3seal identity CERTFILE|APIKEY | s3seal kms migrate --from FILE --to FILE [--dry-run] | s3seal kms key rotate|status KEY | s3seal rekey --bucket B --to-key K | s3seal encrypt-existing --bucket B | s3seal --version")
		return 2
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "s3seal", version)
		return 0
	case "server":
		return runServer(args[1:], getenv, stderr)
	case "healthcheck":
		return runHealthcheck(args[1:], getenv, stderr)
	case "identity":
		return runIdentity(args[1:], stdout, stderr)
	case "kms":
		return runKMS(args[1:], getenv, stdout, stderr)
	case "rekey":
		return runRekey(args[1:], getenv, stdout, stderr)
	case "encrypt-existing":
		return runEncryptExisting(args[1:], getenv, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "s3seal: unknown command %q\n", args[0])
		return 2
	}
}

func runHealthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	fl := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := getenv("S3SEAL_ADDRESS")
	if addr == "" {
		addr = "127.0.0.1:9010"
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if getenv("S3SEAL_TLS_CERT") != "" {
		scheme = "https"
	}
	target := fl.String("url", scheme+"://"+net.JoinHostPort(host, port)+"/minio/health/live", "liveness URL")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The probe checks that the process answers, not who it is.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	resp, err := client.Get(*target)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "s3seal healthcheck:", resp.Status)
		return 1
	}
	return 0
}

func runServer(args []string, getenv func(string) string, stderr io.Writer) int {
	fl := flag.NewFlagSet("server", flag.ContinueOnError)
	fl.SetOutput(stderr)
	configPath := fl.String("config", getenv("S3SEAL_CONFIG"), "YAML config file (env S3SEAL_CONFIG); S3SEAL_* variables override it")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal:", err)
		return 2
	}
	log, stopLog, err := newLogger(cfg.Log.Level, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "s3seal:", err)
		return 2
	}
	defer stopLog()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("s3seal stopped", zap.Error(err))
		return 1
	}
	return 0
}

// Log lines are buffered: one write(2) per logBufferSize bytes or
// logFlushInterval instead of one per request line, which cost the gateway
// about 2% of its CPU under small-object load. Lines at warn level and
// above flush the buffer at once (in order), so only info lines, the
// per-request ones, can trail by up to logFlushInterval, or be lost in a
// crash (the audit log, S3SEAL_AUDIT_LOG, writes each record at once).
const (
	logBufferSize    = 64 << 10
	logFlushInterval = 100 * time.Millisecond
)

// newLogger returns the JSON-lines logger on w and the function that
// flushes it and stops its flushing goroutine.
func newLogger(level string, w io.Writer) (*zap.Logger, func(), error) {
	lvl := zapcore.InfoLevel
	if level != "" {
		if err := lvl.Set(level); err != nil {
			return nil, nil, fmt.Errorf("S3SEAL_LOG_LEVEL (log.level): %w", err)
		}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	// Sync flushes the buffer; stderr is not fsynced (a pipe refuses it).
	ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(struct{ io.Writer }{w}), Size: logBufferSize, FlushInterval: logFlushInterval}
	core := flushAtWarn{zapcore.NewCore(zapcore.NewJSONEncoder(enc), ws, lvl)}
	return zap.New(core), func() { _ = ws.Stop() }, nil
}

// flushAtWarn is a core that syncs (flushes its buffered writer) after
// every entry at warn level or above.
type flushAtWarn struct{ zapcore.Core }

func (c flushAtWarn) With(fields []zapcore.Field) zapcore.Core {
	return flushAtWarn{c.Core.With(fields)}
}

func (c flushAtWarn) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c flushAtWarn) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if err := c.Core.Write(ent, fields); err != nil {
		return err
	}
	if ent.Level >= zapcore.WarnLevel {
		return c.Core.Sync()
	}
	return nil
}

// openKMS opens the KMS over the configured key store, which wrap (nil:
// none) decorates.
func openKMS(ctx context.Context, cfg *fileConfig, wrap storeWrapper) (gateway.KMS, func() error, error) {
	sections := cfg.KMS.Keystore.sections()
	if len(sections) == 0 {
		return nil, nil, errors.New("kms.keystore: no key store configured")
	}
	kms, err := sections[0].Open(ctx, kmsclient.Config{
		CreatedBy: cfg.Root.User,
		CacheExpiry: kmsclient.CacheExpiry{
			Any:     cfg.KMS.Cache.Expiry.Any,
			Unused:  cfg.KMS.Cache.Expiry.Unused,
			Offline: cfg.KMS.Cache.Expiry.Offline,
		},
	}, wrap)
	if err != nil {
		return nil, nil, err
	}
	return kms, kms.Close, nil
}

func serve(ctx context.Context, cfg *fileConfig, log *zap.Logger) error {
	// Observability (metrics, audit log): see observe.go.
	obs, err := newObservability(cfg, log)
	if err != nil {
		return err
	}
	defer obs.Close()
	kms, closeKMS, err := openKMS(ctx, cfg, obs.WrapKeyStore)
	if err != nil {
		return err
	}
	defer closeKMS()
	embeddedKMS := kms // the KES API (kes.go) serves the KMS itself, not its instrumented wrapper
	kms = obs.WrapKMS(kms)
	// KES semantics: every configured key exists before anything is served.
	for _, k := range cfg.KMS.Keys {
		if err := kms.CreateKey(ctx, k.Name); err != nil && !errors.Is(err, kmsclient.ErrKeyExists) {
			return fmt.Errorf("kms.keys: create %q: %w", k.Name, err)
		}
	}
	stopKES, err := startKESServer(cfg, embeddedKMS, log)
	if err != nil {
		return err
	}
	defer stopKES(context.Background())
	backendURL, _ := url.Parse(cfg.Backend.URL)
	backendCreds, err := backendCredentials(ctx, cfg.Backend)
	if err != nil {
		return err
	}
	creds, err := staticCredentials(cfg)
	if err != nil {
		return err
	}
	var credentials gateway.CredentialStore
	if len(creds) > 0 {
		credentials = creds
		log.Info("static users", zap.Int("count", len(creds)))
	}
	gw, err := gateway.New(gateway.Config{
		Backend: gateway.BackendConfig{
			URL: backendURL, AccessKey: cfg.Backend.AccessKey, SecretKey: cfg.Backend.SecretKey, SessionToken: cfg.Backend.SessionToken,
			Credentials: backendCreds, Region: cfg.Backend.Region, CAFile: cfg.Backend.CAFile,
		},
		Region:                     cfg.Region,
		RootUser:                   cfg.Root.User,
		RootPassword:               cfg.Root.Password,
		Credentials:                credentials,
		Domain:                     cfg.Domain,
		KMS:                        kms,
		RemoteKMS:                  cfg.KMS.Keystore.remote(),
		DefaultKey:                 cfg.KMS.DefaultKey,
		PlaintextBuckets:           cfg.PlaintextBuckets,
		LegacyPlaintextReadBuckets: cfg.LegacyPlaintextReadBuckets,
		SystemBucket:               cfg.SystemBucket,
		AllowInsecureSSEC:          cfg.AllowInsecureSSEC,
		DisableMD5ETags:            cfg.MD5ETags != nil && !*cfg.MD5ETags,
		Logger:                     log,
		Version:                    version,
		Observe:                    obs.Observe,
		ObserveBackend:             obs.ObserveBackend,
		ObserveUnsealedRead:        obs.ObserveUnsealedRead,
		BodyReadIdleTimeout:        cfg.Timeouts.BodyReadIdle,
		WriteIdleTimeout:           cfg.Timeouts.WriteIdle,
		Metrics:                    obs.MetricsHandler(),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return fmt.Errorf("listen on S3SEAL_ADDRESS: %w", err)
	}
	// No ReadTimeout or WriteTimeout: they bound whole requests and would
	// cut off slow multi-GiB transfers. The gateway's idle deadlines
	// (BodyReadIdleTimeout, WriteIdleTimeout) bound silence instead.
	srv := &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	if cfg.TLS.Cert != "" {
		certs, err := newCertReloader(cfg.TLS.Cert, cfg.TLS.Key, log)
		if err != nil {
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	stopConsole, err := startConsole(cfg, gw, obs, srv.TLSConfig, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopConsole()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("s3seal listening", zap.String("address", ln.Addr().String()), zap.String("backend", backendURL.Redacted()), zap.String("version", version))

	// The backend may come up after us (compose, Kubernetes): until Init
	// succeeds, liveness is 200, readiness 503 and S3 requests are refused.
	go func() {
		var told string // the record-key problem already explained
		for {
			err := gw.Init(ctx)
			if err == nil {
				log.Info("s3seal ready")
				return
			}
			wait := 2 * time.Second
			if rke, ok := errors.AsType[*gateway.RecordKeyError](err); ok {
				// Not an outage: retrying fast helps nobody, and repeating
				// the same warning hides the advice.
				wait = 30 * time.Second
				if told != rke.Record+"\x00"+rke.KeyID {
					told = rke.Record + "\x00" + rke.KeyID
					log.Error("initialise: the configured key store cannot open s3seal's system records; "+
						"point kms.keystore at the key store that wrote them, or copy their key into this one; "+
						"readiness stays 503 and s3seal checks again every 30s",
						zap.String("record", rke.Record), zap.String("key_id", rke.KeyID), zap.Error(rke.Err))
				}
			} else {
				log.Warn("initialise: backend or KMS not ready, retrying", zap.Error(err))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("s3seal shutting down: finishing in-flight requests")
	consoleStopped := make(chan struct{})
	go func() { // both listeners drain at once
		stopConsole()
		close(consoleStopped)
	}()
	defer func() { <-consoleStopped }()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// backendCredentials returns nil for static backend credentials, else a
// provider over AWS's default credential chain (environment, shared config
// and credentials files, web identity, container and instance roles), which
// caches and refreshes what it finds.
func backendCredentials(ctx context.Context, b backendConfig) (func(context.Context) (string, string, string, error), error) {
	if b.AccessKey != "" {
		return nil, nil
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(b.Region))
	if err != nil {
		return nil, fmt.Errorf("backend credentials from AWS's default chain: %w", err)
	}
	provider := awsCfg.Credentials
	if provider == nil {
		return nil, errors.New("backend credentials: none configured and AWS's default chain has none")
	}
	return func(ctx context.Context) (string, string, string, error) {
		v, err := provider.Retrieve(ctx)
		return v.AccessKeyID, v.SecretAccessKey, v.SessionToken, err
	}, nil
}
