package sigv4

import "sync/atomic"

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
}

// Get returns the signing key of the scope, derived or remembered. The
// caller must not modify it.
func (c *SigningKeys) Get(secret, date, region, service string) []byte {
	// The secrets compared are both the gateway's own (the one the access
	// key maps to), never a client's guess: no constant-time compare.
	if e := c.last.Load(); e != nil && e.secret == secret && e.date == date && e.region == region && e.service == service {
		return e.key
	}
	key := signingKey(secret, date, region, service)
	c.last.Store(&signingKeyEntry{secret: secret, date: date, region: region, service: service, key: key})
	return key
}
