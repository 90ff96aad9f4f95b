package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/s3seal/s3seal/gateway/s3err"
	"github.com/s3seal/s3seal/kmsclient"
)

// The admin KMS API as MinIO serves it to madmin-go (mc admin kms key ...).
// Each endpoint needs its kms: action (operationAccess): root may use all
// of them, other users as their policies allow (consoleAdmin: all).
//
// Key rotation has no verb in MinIO's admin API (madmin-go has none), so
// s3seal adds POST /minio/kms/v1/key/rotate?key-id=KEY beside key/create,
// answered {"key-id":KEY,"version":N}, and key/status carries the key's
// versions in fields madmin-go ignores (so mc shows no versions; s3seal
// kms key status does).

func (s *Server) adminRoutes(r *mux.Router) {
	for _, rt := range []struct {
		name, method string
		paths        []string
		h            s3Handler
	}{
		{"KMSCreateKey", http.MethodPost, []string{"/minio/kms/v1/key/create", "/minio/admin/v3/kms/key/create"}, s.kmsCreateKey},
		{"KMSRotateKey", http.MethodPost, []string{"/minio/kms/v1/key/rotate", "/minio/admin/v3/kms/key/rotate"}, s.kmsRotateKey},
		{"KMSKeyStatus", http.MethodGet, []string{"/minio/kms/v1/key/status", "/minio/admin/v3/kms/key/status"}, s.kmsKeyStatus},
		{"KMSListKeys", http.MethodGet, []string{"/minio/kms/v1/key/list", "/minio/admin/v3/kms/key/list"}, s.kmsListKeys},
		{"KMSStatus", http.MethodGet, []string{"/minio/kms/v1/status", "/minio/admin/v3/kms/status"}, s.kmsStatus},
	} {
		for _, p := range rt.paths {
			r.Handle(p, s.serveAdmin(rt.name, rt.h)).Methods(rt.method).Name(rt.name)
		}
	}
	s.adminIAMRoutes(r)
}

// adminError is MinIO's JSON error document for admin APIs.
type adminError struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Resource  string `json:"Resource"`
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
}

func writeJSONError(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	e := s3err.From(err)
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code.Status)
	_ = json.NewEncoder(w).Encode(adminError{Code: e.Code.Name, Message: msg, Resource: r.URL.Path, RequestID: requestID, HostID: requestID})
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

func adminKMSError(err error, key string) error {
	switch {
	case errors.Is(err, kmsclient.ErrKeyExists):
		return &s3err.Error{Code: s3err.Code{Name: "XMinioKMSKeyExists", Status: http.StatusConflict}, Message: "key '" + key + "' already exists", Err: err}
	case errors.Is(err, kmsclient.ErrKeyNotFound):
		return &s3err.Error{Code: s3err.Code{Name: "XMinioKMSKeyNotFound", Status: http.StatusNotFound}, Message: "key '" + key + "' does not exist", Err: err}
	case errors.Is(err, kmsclient.ErrInvalidKeyName):
		return &s3err.Error{Code: s3err.InvalidArgument, Message: "invalid key name '" + key + "'", Err: err}
	case errors.Is(err, kmsclient.ErrRotationUnsupported):
		return &s3err.Error{Code: s3err.Code{Name: "XMinioKMSRotationNotSupported", Status: http.StatusNotImplemented}, Message: "the key store cannot rotate keys (key versions need the fs or the AWS Secrets Manager key store)", Err: err}
	case errors.Is(err, kmsclient.ErrKeyChanged):
		return &s3err.Error{Code: s3err.Code{Name: "XMinioKMSKeyChanged", Status: http.StatusConflict}, Message: "key '" + key + "' changed while it was being rotated; retry", Err: err}
	case errors.Is(err, kmsclient.ErrTooManyVersions):
		return &s3err.Error{Code: s3err.InvalidArgument, Message: "key '" + key + "' has as many versions as a key can have", Err: err}
	default:
		return &s3err.Error{Code: s3err.Code{Name: "XMinioKMSError", Status: http.StatusServiceUnavailable}, Message: "the KMS is unavailable", Err: err}
	}
}

func keyIDParam(r *http.Request) (string, error) {
	k := r.URL.Query().Get("key-id")
	if k == "" {
		return "", s3err.New(s3err.InvalidArgument, "key-id is required")
	}
	return k, nil
}

func (s *Server) kmsCreateKey(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	key, err := keyIDParam(r)
	if err != nil {
		return err
	}
	req.keyID = key
	if err := s.cfg.KMS.CreateKey(r.Context(), key); err != nil {
		return adminKMSError(err, key)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// keyVersionJSON is one key version in s3seal's admin answers.
type keyVersionJSON struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	CreatedBy string    `json:"createdBy,omitempty"`
}

// kmsRotateKey adds a version to a key: new data keys are sealed under it,
// older versions keep decrypting, the key id stays the same.
func (s *Server) kmsRotateKey(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	key, err := keyIDParam(r)
	if err != nil {
		return err
	}
	req.keyID = key
	version, err := s.cfg.KMS.RotateKey(r.Context(), key)
	if err != nil {
		return adminKMSError(err, key)
	}
	s.log.Info("rotated a KMS key", zapKey(key), zap.Int("version", version), zap.String("request_id", req.id))
	return writeJSON(w, struct {
		KeyID   string `json:"key-id"`
		Version int    `json:"version"`
	}{key, version})
}

// kmsKeyStatus tries the key as MinIO does: generate a data key, decrypt it
// and compare.
func (s *Server) kmsKeyStatus(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	key, err := keyIDParam(r)
	if err != nil {
		return err
	}
	req.keyID = key
	status := struct {
		KeyID         string `json:"key-id"`
		EncryptionErr string `json:"encryption-error,omitempty"`
		DecryptionErr string `json:"decryption-error,omitempty"`
		// s3seal's additions: the version new data keys are sealed
		// under, and every version (omitted for a KMS without versions).
		LatestVersion int              `json:"latest-version,omitempty"`
		Versions      []keyVersionJSON `json:"versions,omitempty"`
	}{KeyID: key}
	ctx := []byte(`{"MinIO admin API":"KMSKeyStatusHandler"}`)
	dek, err := s.cfg.KMS.GenerateKey(r.Context(), key, ctx)
	switch {
	case errors.Is(err, kmsclient.ErrKeyNotFound), errors.Is(err, kmsclient.ErrInvalidKeyName):
		return adminKMSError(err, key)
	case err != nil:
		status.EncryptionErr = "the KMS could not generate a data key"
		s.log.Warn("key status: generate", zapKey(key), zapErr(err))
	default:
		plain, err := s.cfg.KMS.Decrypt(r.Context(), key, dek.Ciphertext, ctx)
		switch {
		case err != nil:
			status.DecryptionErr = "the KMS could not decrypt a data key"
			s.log.Warn("key status: decrypt", zapKey(key), zapErr(err))
		case string(plain) != string(dek.Plaintext):
			status.DecryptionErr = "the decrypted data key does not match"
		}
		clear(plain)
		clear(dek.Plaintext)
	}
	if infos, err := s.cfg.KMS.ListKeys(r.Context(), key); err == nil && len(infos) == 1 {
		for _, v := range infos[0].Versions {
			status.Versions = append(status.Versions, keyVersionJSON{v.Version, v.CreatedAt, v.CreatedBy})
		}
		status.LatestVersion = infos[0].LatestVersion()
	}
	return writeJSON(w, status)
}

func (s *Server) kmsListKeys(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	pattern := r.URL.Query().Get("pattern")
	if pattern == "" {
		pattern = "*"
	}
	keys, err := s.cfg.KMS.ListKeys(r.Context(), pattern)
	if err != nil {
		return adminKMSError(err, pattern)
	}
	type keyInfo struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"createdAt"`
		CreatedBy string    `json:"createdBy"`
	}
	out := make([]keyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyInfo{Name: k.Name, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy})
	}
	return writeJSON(w, out)
}

func (s *Server) kmsStatus(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	st, err := s.cfg.KMS.Status(r.Context())
	if err != nil {
		return adminKMSError(err, "")
	}
	st.DefaultKeyID = s.cfg.DefaultKey
	return writeJSON(w, st)
}

// serveAdmin is serve with MinIO's JSON admin error documents.
func (s *Server) serveAdmin(name string, h s3Handler) http.Handler {
	return s.handle(nil, name, h, writeJSONError)
}
