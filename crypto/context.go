package crypto

import (
	"bytes"
	"encoding/json"
)

// KMSContext returns the KMS context of an object, the associated data its
// data key is bound to: the client's context plus {bucket: bucket+"/"+object}
// unless the client already set the key bucket. The encoding is canonical —
// keys sorted, no spaces, strings escaped as encoding/json does with HTML
// escaping off — so the same inputs always give the same bytes. A nil client
// context is empty.
func KMSContext(client map[string]string, bucket, object string) []byte {
	if len(client) == 0 && jsonVerbatim(bucket) && jsonVerbatim(object) {
		// The common case, written directly: encoding/json's map encoder
		// (reflection, key sorting) was a visible share of a small GET.
		b := make([]byte, 0, len(bucket)*2+len(object)+8)
		b = append(b, `{"`...)
		b = append(b, bucket...)
		b = append(b, `":"`...)
		b = append(b, bucket...)
		b = append(b, '/')
		b = append(b, object...)
		return append(b, `"}`...)
	}
	return kmsContextJSON(client, bucket, object)
}

// jsonVerbatim reports whether encoding/json writes s unchanged inside a
// string: printable ASCII other than the quote and the backslash (with
// HTML escaping off).
func jsonVerbatim(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// kmsContextJSON is KMSContext through encoding/json, for any input.
func kmsContextJSON(client map[string]string, bucket, object string) []byte {
	ctx := make(map[string]string, len(client)+1)
	for k, v := range client {
		ctx[k] = v
	}
	if _, ok := ctx[bucket]; !ok {
		ctx[bucket] = bucket + "/" + object
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ctx); err != nil {
		panic("crypto: encode KMS context: " + err.Error()) // unreachable for map[string]string
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}
