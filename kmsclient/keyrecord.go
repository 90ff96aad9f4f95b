package kmsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// externalKeySize is the size of an External Key: AES-256.
const externalKeySize = 32

// keyRecordVersion is the version of the stored External Key record.
const keyRecordVersion = 1

// errMalformedKey is returned for a stored value that is not a key record.
// It never carries the value, which holds key material.
var errMalformedKey = errors.New("malformed key record")

// keyRecord is the JSON an External Key is stored as:
//
//	{"version":1,"algorithm":"AES256","bytes":"<base64>","created_at":"<RFC 3339>","created_by":"<identity>"}
//
// A KES server reads this record too (it ignores "version"), and records
// KES wrote in its JSON form (no "version", "algorithm" AES256 or empty)
// parse here.
type keyRecord struct {
	Version   int       `json:"version,omitempty"`
	Algorithm string    `json:"algorithm"`
	Bytes     []byte    `json:"bytes"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// externalKey is a parsed External Key with its metadata.
type externalKey struct {
	key  [externalKeySize]byte
	info KeyInfo
}

// marshalKeyRecord encodes key as a stored record. The caller should clear
// the result after storing it.
func marshalKeyRecord(key *[externalKeySize]byte, createdAt time.Time, createdBy string) ([]byte, error) {
	rec := keyRecord{
		Version:   keyRecordVersion,
		Algorithm: "AES256",
		Bytes:     key[:],
		CreatedAt: createdAt.UTC(),
		CreatedBy: createdBy,
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode key record: %w", err)
	}
	return b, nil
}

// parseKeyRecord decodes a stored record of the key called name.
func parseKeyRecord(name string, value []byte) (externalKey, error) {
	var rec keyRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		// The JSON error may quote parts of value, so it is dropped.
		return externalKey{}, errMalformedKey
	}
	defer clear(rec.Bytes)
	switch {
	case rec.Version != 0 && rec.Version != keyRecordVersion:
		return externalKey{}, fmt.Errorf("%w: unsupported version %d", errMalformedKey, rec.Version)
	case rec.Algorithm != "" && rec.Algorithm != "AES256" && rec.Algorithm != "AES256-GCM_SHA256":
		return externalKey{}, fmt.Errorf("%w: unsupported algorithm %q", errMalformedKey, rec.Algorithm)
	case len(rec.Bytes) != externalKeySize:
		return externalKey{}, fmt.Errorf("%w: key is %d bytes, want %d", errMalformedKey, len(rec.Bytes), externalKeySize)
	}
	ek := externalKey{info: KeyInfo{Name: name, CreatedAt: rec.CreatedAt, CreatedBy: rec.CreatedBy}}
	copy(ek.key[:], rec.Bytes)
	return ek, nil
}
