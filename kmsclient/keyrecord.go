package kmsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// externalKeySize is the size of an External Key: AES-256.
const externalKeySize = 32

// Versions of the stored External Key record: 1 holds one key, 2 adds the
// keys of later rotations.
const (
	keyRecordVersion        = 1
	keyRecordVersionRotated = 2
)

// MaxKeyVersions bounds how often one External Key can be rotated, so that
// its record stays small enough for every key store (AWS Secrets Manager
// takes 64 KiB per secret; a version costs about 120 bytes).
const MaxKeyVersions = 256

// errMalformedKey is returned for a stored value that is not a key record.
// It never carries the value, which holds key material.
var errMalformedKey = errors.New("malformed key record")

// keyRecord is the JSON an External Key is stored as:
//
//	{"version":1,"algorithm":"AES256","bytes":"<base64>","created_at":"<RFC 3339>","created_by":"<identity>"}
//
// A rotated key is record version 2: "bytes" stays the first key version,
// and "rotations" lists the later ones, oldest first:
//
//	{"version":2, ..., "rotations":[{"bytes":"<base64>","created_at":"..","created_by":".."}]}
//
// A KES server reads this record too (it ignores "version" and
// "rotations", so it sees only the first key version), and records KES
// wrote in its JSON form (no "version", "algorithm" AES256 or empty) parse
// here.
type keyRecord struct {
	Version   int              `json:"version,omitempty"`
	Algorithm string           `json:"algorithm"`
	Bytes     []byte           `json:"bytes"`
	CreatedAt time.Time        `json:"created_at"`
	CreatedBy string           `json:"created_by,omitempty"`
	Rotations []keyVersionJSON `json:"rotations,omitempty"`
}

type keyVersionJSON struct {
	Bytes     []byte    `json:"bytes"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// externalKey is a parsed External Key with its metadata: keys[i] is key
// version i+1, so the last one is the newest.
type externalKey struct {
	keys []*[externalKeySize]byte
	info KeyInfo
}

// latest returns the newest key version and its number.
func (ek *externalKey) latest() (*[externalKeySize]byte, int) {
	return ek.keys[len(ek.keys)-1], len(ek.keys)
}

// version returns key version v (1 is the first), or nil.
func (ek *externalKey) version(v int) *[externalKeySize]byte {
	if v < 1 || v > len(ek.keys) {
		return nil
	}
	return ek.keys[v-1]
}

// clear zeroes every key version.
func (ek *externalKey) clear() {
	for _, k := range ek.keys {
		clear(k[:])
	}
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

// appendKeyVersion returns the stored record value with key added as its
// newest version. The caller should clear the result after storing it.
func appendKeyVersion(value []byte, key *[externalKeySize]byte, createdAt time.Time, createdBy string) ([]byte, int, error) {
	var rec keyRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return nil, 0, errMalformedKey
	}
	defer func() {
		clear(rec.Bytes)
		for _, r := range rec.Rotations {
			clear(r.Bytes)
		}
	}()
	if _, err := rec.parse(""); err != nil {
		return nil, 0, err
	}
	if len(rec.Rotations)+1 >= MaxKeyVersions {
		return nil, 0, fmt.Errorf("%w: the key has %d versions, the most there can be", ErrTooManyVersions, MaxKeyVersions)
	}
	rec.Version = keyRecordVersionRotated
	rec.Rotations = append(rec.Rotations, keyVersionJSON{Bytes: key[:], CreatedAt: createdAt.UTC(), CreatedBy: createdBy})
	b, err := json.Marshal(rec)
	rec.Rotations[len(rec.Rotations)-1].Bytes = nil // key is the caller's
	if err != nil {
		return nil, 0, fmt.Errorf("encode key record: %w", err)
	}
	return b, len(rec.Rotations) + 1, nil
}

// parseKeyRecord decodes a stored record of the key called name.
func parseKeyRecord(name string, value []byte) (externalKey, error) {
	var rec keyRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		// The JSON error may quote parts of value, so it is dropped.
		return externalKey{}, errMalformedKey
	}
	defer func() {
		clear(rec.Bytes)
		for _, r := range rec.Rotations {
			clear(r.Bytes)
		}
	}()
	return rec.parse(name)
}

func (rec *keyRecord) parse(name string) (externalKey, error) {
	switch {
	case rec.Version == keyRecordVersionRotated && len(rec.Rotations) == 0:
		return externalKey{}, fmt.Errorf("%w: a version %d record without rotations", errMalformedKey, rec.Version)
	case rec.Version == keyRecordVersionRotated:
	case len(rec.Rotations) > 0:
		return externalKey{}, fmt.Errorf("%w: rotations in a version %d record", errMalformedKey, rec.Version)
	case rec.Version != 0 && rec.Version != keyRecordVersion:
		return externalKey{}, fmt.Errorf("%w: unsupported version %d", errMalformedKey, rec.Version)
	}
	switch {
	case rec.Algorithm != "" && rec.Algorithm != "AES256" && rec.Algorithm != "AES256-GCM_SHA256":
		return externalKey{}, fmt.Errorf("%w: unsupported algorithm %q", errMalformedKey, rec.Algorithm)
	case len(rec.Rotations)+1 > MaxKeyVersions:
		return externalKey{}, fmt.Errorf("%w: %d versions, at most %d", errMalformedKey, len(rec.Rotations)+1, MaxKeyVersions)
	}
	versions := append([]keyVersionJSON{{Bytes: rec.Bytes, CreatedAt: rec.CreatedAt, CreatedBy: rec.CreatedBy}}, rec.Rotations...)
	ek := externalKey{info: KeyInfo{Name: name, CreatedAt: rec.CreatedAt, CreatedBy: rec.CreatedBy}}
	for i, v := range versions {
		if len(v.Bytes) != externalKeySize {
			ek.clear()
			return externalKey{}, fmt.Errorf("%w: key version %d is %d bytes, want %d", errMalformedKey, i+1, len(v.Bytes), externalKeySize)
		}
		k := new([externalKeySize]byte)
		copy(k[:], v.Bytes)
		ek.keys = append(ek.keys, k)
		ek.info.Versions = append(ek.info.Versions, KeyVersion{Version: i + 1, CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy})
	}
	return ek, nil
}

// KeyRecordExtends reports whether the stored key record newer is older
// plus later key versions: the same key, rotated since. Key migration uses
// it to bring a copy made before a rotation up to date. It reports false
// for anything that is not two parseable records of one key.
func KeyRecordExtends(older, newer []byte) bool {
	a, err := parseKeyRecord("", older)
	if err != nil {
		return false
	}
	defer a.clear()
	b, err := parseKeyRecord("", newer)
	if err != nil {
		return false
	}
	defer b.clear()
	if len(b.keys) <= len(a.keys) {
		return false
	}
	for i, k := range a.keys {
		if *k != *b.keys[i] {
			return false
		}
	}
	return true
}

// KeyRecordMaterial returns a copy of key version 1 of the stored key
// record value and how many versions the key has. Key migration to a KES
// server, which holds one version per key, imports it. The caller clears
// the returned bytes. Errors never carry key material.
func KeyRecordMaterial(name string, value []byte) ([]byte, int, error) {
	ek, err := parseKeyRecord(name, value)
	if err != nil {
		return nil, 0, err
	}
	defer ek.clear()
	return append([]byte(nil), ek.keys[0][:]...), len(ek.keys), nil
}
