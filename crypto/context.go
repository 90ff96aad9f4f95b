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
