package kes

import (
	"strings"
	"testing"
)

func TestNewServerRefusesBadConfigurations(t *testing.T) {
	id1 := strings.Repeat("a", 64)
	id2 := strings.Repeat("b", 64)
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no KMS", Config{AdminIdentity: id1}, "no KMS"},
		{"admin identity not hex", Config{KMS: failingKMS{}, AdminIdentity: "admin"}, "not 64 hex digits"},
		{"policy identity too short", Config{KMS: failingKMS{}, Policies: map[string]Policy{"p": {Identities: []string{"abc"}}}}, `policy "p": identity "abc"`},
		{"admin in a policy", Config{KMS: failingKMS{}, AdminIdentity: id1, Policies: map[string]Policy{"p": {Identities: []string{strings.ToUpper(id1)}}}}, "is the admin identity"},
		{"identity in two policies", Config{KMS: failingKMS{}, Policies: map[string]Policy{
			"a": {Identities: []string{id2}}, "b": {Identities: []string{id2}},
		}}, `already has policy "a"`},
		{"invalid policy name", Config{KMS: failingKMS{}, Policies: map[string]Policy{"my policy": {}}}, `policy name "my policy"`},
		{"pattern with an inner star", Config{KMS: failingKMS{}, Policies: map[string]Policy{"p": {Allow: []string{"/v1/key/*/k"}}}}, "'*' before its end"},
		{"relative pattern", Config{KMS: failingKMS{}, Policies: map[string]Policy{"p": {Deny: []string{"v1/status"}}}}, "does not start with '/'"},
		{"empty pattern", Config{KMS: failingKMS{}, Policies: map[string]Policy{"p": {Allow: []string{""}}}}, "empty path pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServer(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NewServer error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewServerAcceptsKESConfigurations(t *testing.T) {
	for name, cfg := range map[string]Config{
		"admin only":    {KMS: failingKMS{}, AdminIdentity: strings.Repeat("A", 64)},
		"policies only": {KMS: failingKMS{}, Policies: map[string]Policy{"my-app_1": {Allow: []string{"/v1/key/generate/*", "*"}, Identities: []string{strings.Repeat("c", 64)}}}},
		"nobody":        {KMS: failingKMS{}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewServer(cfg); err != nil {
				t.Errorf("NewServer: %v", err)
			}
		})
	}
}
