package sigv4

import (
	"net/http"
	"strings"
	"testing"
)

func TestLowerHeaderName(t *testing.T) {
	t.Run("table keys are canonical and map to their lower case", func(t *testing.T) {
		for name, lower := range lowerNames {
			if c := http.CanonicalHeaderKey(name); c != name {
				t.Errorf("table key %q is not canonical (%q): it would never be looked up", name, c)
			}
			if lower != strings.ToLower(name) {
				t.Errorf("lowerNames[%q] = %q, want %q", name, lower, strings.ToLower(name))
			}
		}
	})
	for _, name := range []string{"X-Amz-Date", "x-amz-date", "X-AMZ-DATE", "X-Amz-Meta-Ünïcode", "", "Etag"} {
		if got, want := LowerHeaderName(name), strings.ToLower(name); got != want {
			t.Errorf("LowerHeaderName(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzLowerHeaderName(f *testing.F) {
	f.Add("X-Amz-Content-Sha256")
	f.Add("x-Amz-content-sha256")
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := LowerHeaderName(name), strings.ToLower(name); got != want {
			t.Errorf("LowerHeaderName(%q) = %q, want %q", name, got, want)
		}
	})
}
