package kes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/kmsclient"
)

// Request and response bodies, field for field as KES v0.24 sends them.
// []byte fields are base64 in JSON.
type (
	versionResponse struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	statusResponse struct {
		Version             string `json:"version"`
		OS                  string `json:"os"`
		Arch                string `json:"arch"`
		UpTime              uint64 `json:"uptime"` // seconds
		CPUs                int    `json:"num_cpu"`
		UsableCPUs          int    `json:"num_cpu_used"`
		HeapAlloc           uint64 `json:"mem_heap_used"`
		StackAlloc          uint64 `json:"mem_stack_used"`
		KeyStoreLatency     int64  `json:"keystore_latency,omitempty"` // milliseconds
		KeyStoreUnreachable bool   `json:"keystore_unreachable,omitempty"`
	}
	apiResponse struct {
		Method  string `json:"method"`
		Path    string `json:"path"`
		MaxBody int64  `json:"max_body"`
		Timeout int64  `json:"timeout"` // seconds
	}
	generateKeyRequest struct {
		Context []byte `json:"context"`
	}
	generateKeyResponse struct {
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	}
	decryptKeyRequest struct {
		Ciphertext []byte `json:"ciphertext"`
		Context    []byte `json:"context"`
	}
	decryptKeyResponse struct {
		Plaintext []byte `json:"plaintext"`
	}
	describeKeyResponse struct {
		Name      string    `json:"name"`
		Algorithm string    `json:"algorithm,omitempty"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by,omitempty"`
	}
	listKeysResponse struct {
		Names      []string `json:"names"`
		ContinueAt string   `json:"continue_at,omitempty"`
	}
	policyResponse struct {
		Name      string              `json:"name"`
		Allow     map[string]struct{} `json:"allow,omitempty"`
		Deny      map[string]struct{} `json:"deny,omitempty"`
		CreatedAt time.Time           `json:"created_at"`
		CreatedBy string              `json:"created_by"`
	}
	selfDescribeResponse struct {
		Identity  string          `json:"identity"`
		IsAdmin   bool            `json:"admin,omitempty"`
		CreatedAt time.Time       `json:"created_at"`
		CreatedBy string          `json:"created_by,omitempty"`
		Policy    *policyResponse `json:"policy,omitempty"`
	}
)

func (s *Server) handleVersion(w http.ResponseWriter, _ *request) error {
	return replyJSON(w, versionResponse{Version: s.version, Commit: s.commit})
}

// handleStatus answers 200 even when the key store is down, saying so, as
// KES does: the server itself is up.
func (s *Server) handleStatus(w http.ResponseWriter, req *request) error {
	resp := statusResponse{
		Version:    s.version,
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		UpTime:     uint64(s.now().Sub(s.started).Round(time.Second).Seconds()),
		CPUs:       runtime.NumCPU(),
		UsableCPUs: runtime.GOMAXPROCS(0),
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	resp.HeapAlloc, resp.StackAlloc = mem.HeapAlloc, mem.StackSys

	status, err := s.kms.Status(req.Context())
	if err != nil {
		s.logFailure(req, "key store status", err)
		resp.KeyStoreUnreachable = true
	} else {
		// KES reports at least 1 ms, so a reachable store never looks
		// like "no latency reported".
		resp.KeyStoreLatency = max(status.State.KeyStoreLatency.Round(time.Millisecond).Milliseconds(), 1)
	}
	return replyJSON(w, resp)
}

func (s *Server) handleReady(w http.ResponseWriter, req *request) error {
	if _, err := s.kms.Status(req.Context()); err != nil {
		if errors.Is(err, kmsclient.ErrUnavailable) {
			return &apiError{status: http.StatusGatewayTimeout, message: "key store is not reachable", cause: err}
		}
		return &apiError{status: http.StatusBadGateway, message: "key store is unavailable", cause: err}
	}
	return replyOK(w)
}

func (s *Server) handleMetrics(w http.ResponseWriter, req *request) error {
	s.metrics.handler.ServeHTTP(w, req.Request)
	return nil
}

func (s *Server) handleListAPIs(w http.ResponseWriter, _ *request) error {
	apis := make([]apiResponse, 0, len(s.routes))
	for _, rt := range s.routes {
		apis = append(apis, apiResponse{
			Method:  rt.Methods[0],
			Path:    rt.Path,
			MaxBody: rt.MaxBody,
			Timeout: int64(rt.Timeout.Truncate(time.Second).Seconds()),
		})
	}
	return replyJSON(w, apis)
}

// handleSelfDescribe tells any client with a certificate who it is to this
// server and what it may do.
func (s *Server) handleSelfDescribe(w http.ResponseWriter, req *request) error {
	if s.admin != "" && req.identity == s.admin {
		return replyJSON(w, selfDescribeResponse{Identity: req.identity, IsAdmin: true, CreatedAt: s.started})
	}
	p, ok := s.byIdentity[req.identity]
	if !ok {
		return &apiError{status: http.StatusNotFound, message: "identity does not exist"}
	}
	set := func(patterns []string) map[string]struct{} {
		m := make(map[string]struct{}, len(patterns))
		for _, pattern := range patterns {
			m[pattern] = struct{}{}
		}
		return m
	}
	return replyJSON(w, selfDescribeResponse{
		Identity:  req.identity,
		CreatedAt: s.started,
		CreatedBy: s.admin,
		Policy: &policyResponse{
			Name: p.name, Allow: set(p.allow), Deny: set(p.deny),
			CreatedAt: s.started, CreatedBy: s.admin,
		},
	})
}

// keyName returns the route's resource if it is a valid key name.
func keyName(req *request) (string, error) {
	if kmsclient.ValidateKeyName(req.resource) != nil {
		return "", &apiError{status: http.StatusBadRequest,
			message: fmt.Sprintf("key name '%s' is empty, too long or contains invalid characters", req.resource)}
	}
	return req.resource, nil
}

func (s *Server) handleCreateKey(w http.ResponseWriter, req *request) error {
	name, err := keyName(req)
	if err != nil {
		return err
	}
	if err := s.kms.CreateKey(req.Context(), name); err != nil {
		return kmsFailure(err, "failed to create key")
	}
	s.log.Info("key created", zap.String("key", name), zap.String("identity", req.identity))
	return replyOK(w)
}

func (s *Server) handleGenerateKey(w http.ResponseWriter, req *request) error {
	name, err := keyName(req)
	if err != nil {
		return err
	}
	var body generateKeyRequest
	if err := readJSON(req, &body, true); err != nil {
		return err
	}
	dek, err := s.kms.GenerateKey(req.Context(), name, body.Context)
	if err != nil {
		return kmsFailure(err, "failed to generate key")
	}
	defer clear(dek.Plaintext)
	return replyJSON(w, generateKeyResponse{Plaintext: dek.Plaintext, Ciphertext: dek.Ciphertext})
}

func (s *Server) handleDecryptKey(w http.ResponseWriter, req *request) error {
	name, err := keyName(req)
	if err != nil {
		return err
	}
	var body decryptKeyRequest
	if err := readJSON(req, &body, false); err != nil {
		return err
	}
	plaintext, err := s.kms.Decrypt(req.Context(), name, body.Ciphertext, body.Context)
	if err != nil {
		return kmsFailure(err, "failed to decrypt ciphertext")
	}
	defer clear(plaintext)
	return replyJSON(w, decryptKeyResponse{Plaintext: plaintext})
}

func (s *Server) handleDescribeKey(w http.ResponseWriter, req *request) error {
	name, err := keyName(req)
	if err != nil {
		return err
	}
	info, err := s.kms.DescribeKey(req.Context(), name)
	if err != nil {
		return kmsFailure(err, "failed to read key")
	}
	return replyJSON(w, describeKeyResponse{
		Name:      name,
		Algorithm: "AES256", // the only kind of key the embedded KMS has
		CreatedAt: info.CreatedAt,
		CreatedBy: info.CreatedBy,
	})
}

// handleListKeys lists the names that start with the pattern without its
// trailing '*'; "*" and "" list all.
func (s *Server) handleListKeys(w http.ResponseWriter, req *request) error {
	if !validListPattern(req.resource) {
		return &apiError{status: http.StatusBadRequest,
			message: fmt.Sprintf("listing pattern '%s' is empty, too long or is invalid", req.resource)}
	}
	prefix := strings.TrimSuffix(req.resource, "*")
	keys, err := s.kms.ListKeys(req.Context(), prefix+"*")
	if err != nil {
		return kmsFailure(err, "failed to list keys")
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	return replyJSON(w, listKeysResponse{Names: names})
}

func (s *Server) handleDeleteKey(w http.ResponseWriter, req *request) error {
	name, err := keyName(req)
	if err != nil {
		return err
	}
	if err := s.kms.DeleteKey(req.Context(), name); err != nil {
		return kmsFailure(err, "failed to delete key")
	}
	s.log.Info("key deleted", zap.String("key", name), zap.String("identity", req.identity))
	return replyOK(w)
}

// readJSON decodes the request body into v. An empty body is fine when
// emptyOK (generate: no context); otherwise, like a malformed one, it is
// 400. A body over the route's limit is 413.
func readJSON(req *request, v any, emptyOK bool) error {
	err := json.NewDecoder(req.Body).Decode(v)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) && emptyOK:
		return nil
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &apiError{status: http.StatusRequestEntityTooLarge, message: "request body too large", cause: err}
	}
	return &apiError{status: http.StatusBadRequest, message: "invalid request body", cause: err}
}

// logFailure logs a failure that does not fail the request.
func (s *Server) logFailure(req *request, what string, err error) {
	s.log.Warn(what, zap.String("path", req.URL.Path), zap.String("identity", req.identity), zap.Error(err))
}
