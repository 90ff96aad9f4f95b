package crypto

import (
	"bytes"
	"testing"
)

func TestKMSContext(t *testing.T) {
	tests := []struct {
		name           string
		client         map[string]string
		bucket, object string
		want           string
	}{
		{"no client context binds bucket and object", nil, "photos", "2024/cat.jpg",
			`{"photos":"photos/2024/cat.jpg"}`},
		{"client keys are sorted around the bucket key", map[string]string{"z": "1", "a": "2"}, "m", "o",
			`{"a":"2","m":"m/o","z":"1"}`},
		{"client's bucket key wins", map[string]string{"b": "mine"}, "b", "o",
			`{"b":"mine"}`},
		{"quotes, backslashes and control characters are escaped", map[string]string{"k": "\"\\\n\t\x01"}, "b", "o",
			`{"b":"b/o","k":"\"\\\n\t\u0001"}`},
		{"HTML characters are not escaped", map[string]string{"k": "<a&b>"}, "b", "o",
			`{"b":"b/o","k":"<a&b>"}`},
		{"non-ASCII stays UTF-8", map[string]string{"k": "ü日本"}, "b", "o",
			`{"b":"b/o","k":"ü日本"}`},
		{"line separators are escaped", map[string]string{"k": "\u2028"}, "b", "o",
			`{"b":"b/o","k":"\u2028"}`},
		{"invalid UTF-8 becomes U+FFFD", map[string]string{"k": "\xff"}, "b", "o",
			`{"b":"b/o","k":"\ufffd"}`},
		{"object name is not cleaned", nil, "b", "a//./c/", `{"b":"b/a//./c/"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(KMSContext(tt.client, tt.bucket, tt.object)); got != tt.want {
				t.Errorf("KMSContext = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("client map is not modified", func(t *testing.T) {
		client := map[string]string{"k": "v"}
		KMSContext(client, "b", "o")
		if len(client) != 1 {
			t.Errorf("client context = %v, want it untouched", client)
		}
	})
}

// FuzzKMSContext holds KMSContext's direct encoding of the common case to
// encoding/json's bytes.
func FuzzKMSContext(f *testing.F) {
	for _, s := range [][2]string{{"photos", "2024/cat.jpg"}, {"b", "\"\\\n"}, {"b", `a"b`}, {"b", `a\b`}, {"b\x1f", "o"}, {"b", "ü\u2028\xff<&>"}, {"b\x7f", "o"}, {"", ""}} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, bucket, object string, withClient bool) {
		var client map[string]string
		if withClient {
			client = map[string]string{"k": object}
		}
		got, want := KMSContext(client, bucket, object), kmsContextJSON(client, bucket, object)
		if !bytes.Equal(got, want) {
			t.Errorf("KMSContext(%q, %q, %q) = %s, want %s", client, bucket, object, got, want)
		}
	})
}

func BenchmarkKMSContext(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		KMSContext(nil, "photos", "2024/cat.jpg")
	}
}
