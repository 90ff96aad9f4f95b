package sigv4

import (
	"slices"
	"testing"
)

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		raw, want string
		wantErr   bool
	}{
		{"", "", false},
		{"uploads", "uploads=", false},
		{"%75ploads", "uploads=", false},
		{"%70artNumber=1&%75ploadId=U%2FV&tagging", "partNumber=1&uploadId=U%2FV&tagging=", false},
		{"prefix=a+b&delimiter=%2f", "prefix=a%20b&delimiter=%2F", false},
		{"a&&b", "a=&b=", false},
		{"uploadId=a&uploadId=b", "", true},
		{"%75ploadId=a&uploadId=b", "", true},
		{"tagging&tagging=", "", true},
		{"a=%zz", "", true},
		{"%=a", "", true},
	}
	for _, tc := range tests {
		got, err := CanonicalQuery(tc.raw)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("CanonicalQuery(%q) = %q, %v; want %q, error %v", tc.raw, got, err, tc.want, tc.wantErr)
		}
	}
}

// FuzzCanonicalQuery checks that the canonical query reads back as the
// same parameters (what was authenticated is what is routed and
// forwarded) and is its own canonical form.
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"uploads", "%70artNumber=1&%75ploadId=U&tagging", "a=b+c&d=%2F", "x=%zz", "a&a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		canon, err := CanonicalQuery(raw)
		if err != nil {
			return
		}
		want, _ := parseQuery(raw)
		got, ok := parseQuery(canon)
		if !ok || !slices.Equal(got, want) {
			t.Fatalf("CanonicalQuery(%q) = %q, which reads as %v, not %v", raw, canon, got, want)
		}
		again, err := CanonicalQuery(canon)
		if err != nil || again != canon {
			t.Fatalf("CanonicalQuery is not idempotent: %q → %q → %q (%v)", raw, canon, again, err)
		}
	})
}
