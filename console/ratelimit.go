package console

import (
	"net"
	"sync"
	"time"
)

// loginLimiter refuses logins from a source that failed too often: after
// maxFailures failed attempts within window, every attempt is refused until
// window has passed since the first of them. A successful login does not
// clear the count: one valid low-privilege account must not reset the
// guessing budget for another's secret. Sources are client IP
// addresses as the console's listener sees them (no X-Forwarded-For: a
// header would let an attacker pick their own bucket). State is per
// process; a deployment with N replicas allows N times as many guesses.
type loginLimiter struct {
	maxFailures int
	window      time.Duration
	now         func() time.Time

	mu      sync.Mutex
	sources map[string]*failures
}

type failures struct {
	count int
	first time.Time
}

// maxTrackedSources bounds the limiter's memory under a spray from many
// addresses: beyond it, expired entries are dropped and, if that is not
// enough, new sources share one bucket (refused together).
const maxTrackedSources = 10000

func newLoginLimiter(maxFailures int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{maxFailures: maxFailures, window: window, now: now, sources: map[string]*failures{}}
}

func sourceOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// allowed reports whether source may try to log in now, and if not, how
// long until it may.
func (l *loginLimiter) allowed(source string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.sources[l.key(source)]
	if f == nil {
		return true, 0
	}
	if elapsed := l.now().Sub(f.first); elapsed >= l.window {
		delete(l.sources, l.key(source))
		return true, 0
	} else if f.count >= l.maxFailures {
		return false, l.window - elapsed
	}
	return true, 0
}

// failed counts a failed login from source.
func (l *loginLimiter) failed(source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := l.key(source)
	f := l.sources[k]
	if f == nil || now.Sub(f.first) >= l.window {
		if len(l.sources) >= maxTrackedSources {
			l.sweep(now)
		}
		f = &failures{first: now}
		l.sources[k] = f
	}
	f.count++
}

// key is source, or the shared overflow bucket when the table is full of
// sources still within their window.
func (l *loginLimiter) key(source string) string {
	if _, ok := l.sources[source]; ok || len(l.sources) < maxTrackedSources {
		return source
	}
	return "overflow"
}

func (l *loginLimiter) sweep(now time.Time) {
	for k, f := range l.sources {
		if now.Sub(f.first) >= l.window {
			delete(l.sources, k)
		}
	}
}
