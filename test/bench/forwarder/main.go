// Command forwarder is the benchmark's floor for any gateway: an HTTP
// reverse proxy that passes every request to one backend unchanged (the
// Host header included, so the client's SigV4 signature still verifies at
// the backend) and its answer back, with no authentication, no crypto and
// no rewriting. A path through it costs what a second hop costs on this
// machine (two more socket copies per byte, one more HTTP parse, and over
// https one more TLS session each way); s3seal's cost above it is its own.
//
// It uses the same connection-pool and buffer sizes as s3seal's backend
// client, so the comparison is between the work done, not the tuning.
//
//	forwarder -listen 127.0.0.1:0 -backend http://127.0.0.1:9000 [-cert c -key k -ca ca.crt]
//
// It prints "listening on HOST:PORT" once it accepts connections.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	backend := flag.String("backend", "", "backend URL, http://host:port or https://host:port")
	cert := flag.String("cert", "", "TLS certificate to serve with (https)")
	key := flag.String("key", "", "TLS key to serve with (https)")
	ca := flag.String("ca", "", "CA file the backend's certificate is checked against")
	flag.Parse()
	if err := run(*listen, *backend, *cert, *key, *ca); err != nil {
		log.Fatal(err)
	}
}

func run(listen, backend, cert, key, ca string) error {
	target, err := url.Parse(backend)
	if err != nil || target.Host == "" {
		return fmt.Errorf("-backend %q: want http://host:port or https://host:port", backend)
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ca %s: no certificate", ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
			r.Out.Host = r.In.Host // the client signed this Host
		},
		Transport:  tr,
		BufferPool: pool{},
		ErrorLog:   log.New(os.Stderr, "forwarder: ", 0),
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Printf("listening on %s\n", ln.Addr())
	if cert != "" {
		return srv.ServeTLS(ln, cert, key)
	}
	return srv.Serve(ln)
}

// pool hands out 256 KiB copy buffers, the size s3seal streams bodies with.
type pool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (pool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (pool) Put(b []byte) { buffers.Put(&b) }
