package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// A session is sealed into its cookie (AES-256-GCM under the session key):
// the server keeps no session table, so any replica holding the same key
// opens any replica's cookie. The cookie carries the user's access key and
// secret because every console action is a request signed as that user
// (api.go); without the session key the cookie reveals nothing and cannot
// be forged or altered.

const (
	sessionCookie = "s3seal_console"
	// loginCookie carries the nonce the login form's CSRF token is bound
	// to, before there is a session.
	loginCookie = "s3seal_console_login"
	// sessionAAD binds sealed cookies to their purpose and format version.
	sessionAAD = "s3seal console session v1"
)

// session is what a sealed cookie holds.
type session struct {
	ID        string `json:"id"` // random; names the session for revocation and logs
	AccessKey string `json:"ak"`
	SecretKey string `json:"sk"`
	CSRF      string `json:"csrf"` // the synchronizer token every form and upload carries
	Expires   int64  `json:"exp"`  // Unix seconds
}

// sessions seals and opens session cookies and remembers logouts.
type sessions struct {
	aead    cipher.AEAD
	csrfKey []byte // HMAC key for login-form tokens, derived from the session key
	ttl     time.Duration
	secure  bool
	now     func() time.Time

	mu      sync.Mutex
	revoked map[string]int64 // session id → expiry; a logout on this replica
}

func newSessions(key []byte, ttl time.Duration, secure bool, now func() time.Time) (*sessions, error) {
	if len(key) != 32 {
		return nil, errors.New("console session key must be 32 bytes")
	}
	enc := sha256.Sum256(append([]byte("s3seal console cookie encryption\x00"), key...))
	block, err := aes.NewCipher(enc[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac := sha256.Sum256(append([]byte("s3seal console login csrf\x00"), key...))
	return &sessions{aead: aead, csrfKey: mac[:], ttl: ttl, secure: secure, now: now, revoked: map[string]int64{}}, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start seals a new session for the credentials into the response.
func (s *sessions) start(w http.ResponseWriter, accessKey, secretKey string) *session {
	sess := &session{
		ID: randomToken(), AccessKey: accessKey, SecretKey: secretKey, CSRF: randomToken(),
		Expires: s.now().Add(s.ttl).Unix(),
	}
	plain, _ := json.Marshal(sess)
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(sessionAAD))
	clear(plain)
	http.SetCookie(w, s.cookie(sessionCookie, base64.RawURLEncoding.EncodeToString(sealed), s.ttl))
	return sess
}

// open returns the request's session, or nil for none, a forged or altered
// cookie, an expired session or one logged out on this replica.
func (s *sessions) open(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(sealed) < s.aead.NonceSize() {
		return nil
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(sessionAAD))
	if err != nil {
		return nil
	}
	defer clear(plain)
	sess := &session{}
	if json.Unmarshal(plain, sess) != nil || sess.ID == "" || sess.CSRF == "" {
		return nil
	}
	if s.now().Unix() >= sess.Expires {
		return nil
	}
	s.mu.Lock()
	_, gone := s.revoked[sess.ID]
	s.mu.Unlock()
	if gone {
		return nil
	}
	return sess
}

// end revokes sess on this replica and clears the cookie.
func (s *sessions) end(w http.ResponseWriter, sess *session) {
	now := s.now().Unix()
	s.mu.Lock()
	for id, exp := range s.revoked {
		if exp <= now {
			delete(s.revoked, id)
		}
	}
	s.revoked[sess.ID] = sess.Expires
	s.mu.Unlock()
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
}

// validCSRF reports whether token is the session's synchronizer token.
func (sess *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) == 1
}

// loginToken sets a fresh login nonce cookie and returns the token the
// login form must send back with it (a double-submit bound by HMAC, so a
// cookie planted by a sibling domain cannot be paired with a made-up token).
func (s *sessions) loginToken(w http.ResponseWriter) string {
	nonce := randomToken()
	http.SetCookie(w, s.cookie(loginCookie, nonce, 10*time.Minute))
	return s.loginMAC(nonce)
}

func (s *sessions) validLoginToken(r *http.Request, token string) bool {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(s.loginMAC(c.Value)))
}

func (s *sessions) loginMAC(nonce string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookie is a console cookie: HttpOnly, SameSite=Strict, Secure, for the
// whole console. maxAge < 0 deletes it.
func (s *sessions) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
		c.Expires = s.now().Add(maxAge)
	}
	return c
}
