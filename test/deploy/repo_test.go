package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot returns the repository root: go test runs in test/deploy.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root %s has no go.mod: %v", root, err)
	}
	return root
}

// readRepoFile reads a file given relative to the repository root.
func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

// imageRef is a container image reference split into its parts.
type imageRef struct {
	Name, Tag, Digest string
}

func parseImageRef(ref string) imageRef {
	var r imageRef
	rest := ref
	if i := strings.Index(rest, "@"); i >= 0 {
		rest, r.Digest = rest[:i], rest[i+1:]
	}
	// A colon after the last slash separates the tag; one before it belongs
	// to a registry host:port.
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, r.Tag = rest[:i], rest[i+1:]
	}
	r.Name = rest
	return r
}

// checkImagePinned fails unless ref names an exact tag (not latest) or a
// digest, and contains no unresolved variable.
func checkImagePinned(t *testing.T, where, ref string) {
	t.Helper()
	r := parseImageRef(ref)
	switch {
	case ref == "":
		t.Errorf("%s: no image", where)
	case strings.ContainsAny(ref, "${}"):
		t.Errorf("%s: image %q contains an unresolved variable", where, ref)
	case r.Tag == "" && r.Digest == "":
		t.Errorf("%s: image %q has no tag: pin an exact version", where, ref)
	case strings.EqualFold(r.Tag, "latest"):
		t.Errorf("%s: image %q uses the floating tag latest: pin an exact version", where, ref)
	}
}

func TestParseImageRef(t *testing.T) {
	tests := []struct {
		ref  string
		want imageRef
	}{
		{"s3seal/s3seal:0.1.0", imageRef{Name: "s3seal/s3seal", Tag: "0.1.0"}},
		{"golang", imageRef{Name: "golang"}},
		{"localhost:5000/s3seal", imageRef{Name: "localhost:5000/s3seal"}},
		{"localhost:5000/s3seal:1.2", imageRef{Name: "localhost:5000/s3seal", Tag: "1.2"}},
		{"gcr.io/distroless/static-debian12:nonroot@sha256:abc", imageRef{Name: "gcr.io/distroless/static-debian12", Tag: "nonroot", Digest: "sha256:abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := parseImageRef(tt.ref); got != tt.want {
				t.Errorf("parseImageRef(%q) = %+v, want %+v", tt.ref, got, tt.want)
			}
		})
	}
}
