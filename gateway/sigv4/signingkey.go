package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
	"sync/atomic"
)

// SigningKeys remembers the most recently derived SigV4 signing key. A
// signing key depends only on the secret, the date, the region and the
// service, so a gateway with one set of credentials derives one key a day
// instead of four HMAC-SHA256 per request. A different scope replaces the
// remembered one; concurrent callers never block each other. The zero
// value is ready to use; a SigningKeys must not be copied after first use.
type SigningKeys struct {
	last atomic.Pointer[signingKeyEntry]
}

type signingKeyEntry struct {
	secret, date, region, service string
	key                           []byte
	macs                          sync.Pool // of HMAC-SHA256 keyed with key, reset
}

// Get returns the signing key of the scope, derived or remembered. The
// caller must not modify it.
func (c *SigningKeys) Get(secret, date, region, service string) []byte {
	return c.entry(secret, date, region, service).key
}

// Sign returns HMAC-SHA256(signing key of the scope, stringToSign), the
// request signature, from a pooled HMAC state rather than a new one.
func (c *SigningKeys) Sign(secret, date, region, service, stringToSign string) []byte {
	e := c.entry(secret, date, region, service)
	mac, _ := e.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, e.key)
	}
	mac.Write([]byte(stringToSign))
	sum := mac.Sum(make([]byte, 0, sha256.Size))
	mac.Reset()
	e.macs.Put(mac)
	return sum
}

func (c *SigningKeys) entry(secret, date, region, service string) *signingKeyEntry {
	// The secrets compared are both the gateway's own (the one the access
	// key maps to), never a client's guess: no constant-time compare.
	if e := c.last.Load(); e != nil && e.secret == secret && e.date == date && e.region == region && e.service == service {
		return e
	}
	e := &signingKeyEntry{secret: secret, date: date, region: region, service: service, key: signingKey(secret, date, region, service)}
	c.last.Store(e)
	return e
}
