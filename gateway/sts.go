package gateway

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/policy"
	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/gateway/sigv4"
)

// Temporary credentials (STS AssumeRole, MinIO's user-credential form) are
// stateless: nothing about them is stored. The session token is the
// credential's whole state — access key, secret key, parent user, expiry
// and session policy — as JSON sealed with AES-256-GCM under a random key
// that every replica reads from the system bucket (the record keys/sts,
// sealed like every record). Any replica opens a token without asking
// another; a forged or altered token fails authentication; the secret
// never appears in clear. The parent is looked up on every request (root,
// or Config.Credentials), so removing or disabling it ends its temporary
// credentials at once, on every replica within the store's own bound.
//
// Wire format of a token: base64url (no padding) of
//
//	version (1 byte, 1) | nonce (12 bytes) | AES-256-GCM(claims JSON), AAD "s3seal-sts" | version

const (
	stsKeyRecord         = "keys/sts"
	sessionTokenVersion  = 1
	sessionTokenAAD      = "s3seal-sts"
	maxSessionTokenBytes = 8 << 10
	// maxSessionPolicySize bounds a session policy as MinIO does (the
	// compacted document).
	maxSessionPolicySize = 2048
	// STS durations, as MinIO's: 15 minutes to 365 days, 1 hour by default.
	minSessionDuration     = 900 * time.Second
	maxSessionDuration     = 365 * 24 * time.Hour
	defaultSessionDuration = time.Hour
	stsAPIVersion          = "2011-06-15"
	stsBody                = 1 << 20 // a form with a policy of at most 2 KiB
)

// sessionClaims are what a session token carries.
type sessionClaims struct {
	AccessKey string          `json:"ak"`
	SecretKey string          `json:"sk"`
	Parent    string          `json:"parent"`
	Expiry    int64           `json:"exp"` // Unix seconds
	Policy    json.RawMessage `json:"policy,omitempty"`
}

// sessionSealer seals and opens session tokens.
type sessionSealer struct{ aead cipher.AEAD }

func newSessionSealer(key []byte) (*sessionSealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sessionSealer{aead: aead}, nil
}

func (s *sessionSealer) seal(c sessionClaims) (string, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out[0] = sessionTokenVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return "", err
	}
	out = s.aead.Seal(out, out[1:], plain, sessionAAD(out[0]))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

var errBadSessionToken = errors.New("session token does not authenticate")

func (s *sessionSealer) open(token string) (sessionClaims, error) {
	var c sessionClaims
	if len(token) > maxSessionTokenBytes {
		return c, errBadSessionToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < 1+n+s.aead.Overhead() || raw[0] != sessionTokenVersion {
		return c, errBadSessionToken
	}
	plain, err := s.aead.Open(nil, raw[1:1+n], raw[1+n:], sessionAAD(raw[0]))
	if err != nil {
		return c, errBadSessionToken
	}
	if err := json.Unmarshal(plain, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" || c.Parent == "" {
		return c, errBadSessionToken
	}
	return c, nil
}

func sessionAAD(version byte) []byte { return append([]byte(sessionTokenAAD), version) }

// session resolves temporary credentials: the token must open, name
// accessKey, be unexpired, and its parent must still exist. Errors are
// those MinIO answers: InvalidTokenId for a token that is not this key's,
// ExpiredToken (AWS's code; MinIO forgets expired keys and answers
// InvalidAccessKeyId) and InvalidAccessKeyId for a parent that is gone or
// disabled.
func (s *Server) session(accessKey, token string) (sessionClaims, principal, error) {
	sealer := s.sessions.Load()
	if sealer == nil {
		return sessionClaims{}, principal{}, s3err.New(s3err.ServiceUnavailable, "s3seal is starting: the backend or the KMS is not ready yet.")
	}
	o, err := s.openSession(sealer, accessKey, token)
	if err != nil {
		return sessionClaims{}, principal{}, err
	}
	c := o.claims
	if !s.now().Before(time.Unix(c.Expiry, 0)) {
		return c, principal{}, s3err.New(s3err.ExpiredToken, "")
	}
	p, ok := s.longTermPrincipal(c.Parent)
	if !ok {
		return c, principal{}, s3err.New(s3err.InvalidAccessKeyID, "")
	}
	p.accessKey, p.temporary, p.sessionPolicy = accessKey, true, o.policy
	return c, p, nil
}

// openedSession is a token opened and its session policy parsed, cached by
// access key: a request looks its session up twice (verification and
// authorisation) and a client sends many, and parsing the policy is most
// of the cost. Expiry and the parent are checked on every lookup.
type openedSession struct {
	token  string
	claims sessionClaims
	policy *policy.Policy
}

func (s *Server) openSession(sealer *sessionSealer, accessKey, token string) (*openedSession, error) {
	if o, ok := s.openedSessions.get(accessKey); ok && subtle.ConstantTimeCompare([]byte(o.token), []byte(token)) == 1 {
		return o, nil
	}
	c, err := sealer.open(token)
	if err != nil || c.AccessKey != accessKey {
		return nil, s3err.New(s3err.InvalidTokenID, "")
	}
	o := &openedSession{token: token, claims: c}
	if len(c.Policy) > 0 {
		sp, err := policy.Parse(c.Policy)
		if err != nil {
			// Parsed when issued: a token that no longer parses is a
			// policy-language change. Fail closed.
			return nil, s3err.Wrap(s3err.InvalidTokenID, fmt.Errorf("session policy: %w", err))
		}
		o.policy = sp
	}
	s.openedSessions.put(accessKey, o)
	return o, nil
}

// sessionSecret is the verifier's lookup of temporary credentials.
func (s *Server) sessionSecret(accessKey, token string) (string, error) {
	c, _, err := s.session(accessKey, token)
	if err != nil {
		return "", err
	}
	return c.SecretKey, nil
}

// stsRequest reports MinIO's AssumeRole route: a POST to any path with a
// form body, signed with SigV4, without a query. No S3 operation is such
// a request (PostObject's form is multipart/form-data; every other S3
// POST has a query).
func stsRequest(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded" && r.URL.RawQuery == "" &&
		strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256")
}

// serveSTS answers AssumeRole, logged and audited like every request.
func (s *Server) serveSTS() http.Handler {
	return http.HandlerFunc(func(hw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req, w := begin(hw, "AssumeRole")
		if err := s.assumeRole(w, r, req); err != nil {
			e := s3err.From(err)
			if e.Code.Status >= 500 {
				s.log.Error("request failed", zap.String("request_id", req.id), zap.String("operation", req.operation), zap.Error(err))
			} else if e.Err != nil {
				s.log.Debug("request refused", zap.String("request_id", req.id), zap.String("operation", req.operation), zap.Error(err))
			}
			writeSTSError(w, req.id, e)
		}
		s.finish(w, r, req, start, nil)
	})
}

// assumeRole issues temporary credentials to the long-term credentials
// that signed the request, in MinIO's order of checks: the form, Version
// and Action first, then the authentication result, then the session
// policy and DurationSeconds.
func (s *Server) assumeRole(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, stsBody))
	if err != nil {
		return s3err.New(s3err.InvalidParameterValue, "The request body is too large or could not be read.")
	}
	// STS clients sign the body's hash without sending it (only S3 wants
	// x-amz-content-sha256): supply it, so the signature is checked over
	// the body. A hash the client did send is checked against the body.
	if r.Header.Get("X-Amz-Content-Sha256") == "" {
		sum := sha256.Sum256(body)
		r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	res, authErr := s.stsVerifier.Verify(r)
	if authErr == nil {
		req.accessKey = res.AccessKey
		if res.Payload != nil {
			body, authErr = io.ReadAll(res.Payload.Body)
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return s3err.New(s3err.InvalidParameterValue, "%s", err.Error())
	}
	if v := form.Get("Version"); v != stsAPIVersion {
		return s3err.New(s3err.MissingParameter, "Invalid STS API version %s, expecting %s", v, stsAPIVersion)
	}
	if a := form.Get("Action"); a != "AssumeRole" {
		return s3err.New(s3err.InvalidParameterValue, "Unsupported action %s", a)
	}
	if authErr != nil {
		// MinIO answers every authentication failure as AccessDenied,
		// with the S3 error's message.
		e := s3err.From(authErr)
		if e.Code.Status >= 500 {
			return authErr
		}
		msg := e.Message
		if msg == "" {
			msg = e.Code.Message
		}
		return &s3err.Error{Code: s3err.AccessDenied, Message: msg, Err: authErr}
	}
	if !s.ready.Load() || s.sessions.Load() == nil {
		return s3err.New(s3err.ServiceUnavailable, "s3seal is starting: the backend or the KMS is not ready yet.")
	}
	parent, ok := s.longTermPrincipal(req.accessKey)
	if !ok {
		return s3err.New(s3err.AccessDenied, "Generating temporary credentials not allowed for this request.")
	}
	if parent.identity != nil && parent.identity.SessionPolicy != nil {
		// Access keys that narrow their user cannot be widened into a
		// session, and MinIO refuses service accounts here.
		return s3err.New(s3err.AccessDenied, "Generating temporary credentials not allowed for this request.")
	}
	var sessionPolicy json.RawMessage
	if doc := form.Get("Policy"); doc != "" {
		p, err := policy.Parse([]byte(doc))
		if err != nil {
			return &s3err.Error{Code: s3err.InvalidParameterValue, Message: err.Error(), Err: err}
		}
		if p.Version == "" {
			return s3err.New(s3err.InvalidParameterValue, "Version cannot be empty expecting '2012-10-17'")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(doc)); err != nil {
			return s3err.New(s3err.InvalidParameterValue, "%s", err.Error())
		}
		if compact.Len() > maxSessionPolicySize {
			return s3err.New(s3err.InvalidParameterValue, "Session policy should not exceed 2048 characters")
		}
		sessionPolicy = compact.Bytes()
	}
	duration, err := sessionDuration(form.Get("DurationSeconds"))
	if err != nil {
		return err
	}
	creds := sessionClaims{
		AccessKey: randomKey(20, upperAlnum),
		SecretKey: randomKey(40, secretAlphabet),
		Parent:    req.accessKey,
		Expiry:    s.now().Add(duration).Unix(),
		Policy:    sessionPolicy,
	}
	token, err := s.sessions.Load().seal(creds)
	if err != nil {
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("seal session token: %w", err))
	}
	out := assumeRoleResponse{}
	out.Result.Credentials = stsCredentials{
		AccessKeyID:     creds.AccessKey,
		SecretAccessKey: creds.SecretKey,
		SessionToken:    token,
		Expiration:      time.Unix(creds.Expiry, 0).UTC().Format(time.RFC3339),
	}
	out.Metadata.RequestID = req.id
	data, err := xml.Marshal(out)
	if err != nil {
		return s3err.Wrap(s3err.InternalError, err)
	}
	w.Header().Set("Content-Type", "application/xml")
	_, err = w.Write(append([]byte(xml.Header), data...))
	return err
}

// sessionDuration parses DurationSeconds as MinIO does.
func sessionDuration(v string) (time.Duration, error) {
	if v == "" {
		return defaultSessionDuration, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	d := time.Duration(n) * time.Second
	if err != nil || d < minSessionDuration || d > maxSessionDuration {
		return 0, s3err.New(s3err.InvalidParameterValue, "invalid token expiry")
	}
	return d, nil
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// secretAlphabet is base64's without '/', as MinIO's secret keys: a
	// secret may then sit in a URL's userinfo (mc's MC_HOST_alias).
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
)

// randomKey returns n characters drawn uniformly from alphabet (bytes
// beyond the largest multiple of its length are rejected, so no character
// is likelier than another).
func randomKey(n int, alphabet string) string {
	out := make([]byte, 0, n)
	limit := 256 - 256%len(alphabet)
	var b [1]byte
	for len(out) < n {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if int(b[0]) < limit {
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out)
}

// The STS response documents, as MinIO writes them.
type (
	stsCredentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	assumeRoleResponse struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
		Result  struct {
			AssumedRoleUser struct {
				Arn           string `xml:"Arn"`
				AssumedRoleID string `xml:"AssumeRoleId"`
			} `xml:"AssumedRoleUser"`
			Credentials stsCredentials `xml:"Credentials"`
		} `xml:"AssumeRoleResult"`
		Metadata struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}
	stsErrorResponse struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}
)

// writeSTSError answers in STS's error document. Internal errors say no
// more than their code's message.
func writeSTSError(w http.ResponseWriter, requestID string, e *s3err.Error) {
	var doc stsErrorResponse
	doc.Error.Code = e.Code.Name
	doc.Error.Message = e.Code.Message
	if e.Message != "" && e.Code.Status < 500 {
		doc.Error.Message = e.Message
	}
	doc.RequestID = requestID
	data, _ := xml.Marshal(doc)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Code.Status)
	_, _ = w.Write(append([]byte(xml.Header), data...))
}

// stsVerifierFor authenticates STS requests: SigV4 for service sts, long-
// term credentials only (a request carrying a session token is refused, as
// MinIO refuses AssumeRole to temporary credentials).
func stsVerifierFor(s *Server) *sigv4.Verifier {
	return &sigv4.Verifier{Region: s.cfg.Region, Service: "sts", Secret: s.lookupSecret}
}
