package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// The listing index names, for one object version, what a listing of the
// backend cannot know: the plaintext size of a "ragged" multipart object
// (its size does not follow from its ciphertext size) and the client ETag
// (the MD5 of the plaintext of SSE-S3 objects, see etag.go). Each is an
// empty object in the system bucket whose name carries it:
//
//	index/<bucket>/<object>/<etag>/<size>/<mac>                 v1: size only
//	index/<bucket>/<object>/<etag>/<size>/<client etag>/<mac>   v2: size and client ETag
//
// <etag> is the backend's ETag of the version; <client etag> is the client
// ETag encrypted and authenticated under a key derived from the index key
// (AES-256-GCM with a synthetic nonce, base64url), bound to bucket, object,
// backend ETag and size, so the system bucket never shows a plaintext MD5.
// Names sort like the objects they describe, so one LIST over the key range
// of a listing page finds the entries of every object on it. An entry only
// counts if its ETag is the listed object's (overwrites and deletes need no
// cleanup) and its MAC, under a key kept sealed in the system bucket,
// verifies: backend access can neither forge nor alter one. Both versions
// are read; writeIndexEntry writes v1 when there is no client ETag.

const (
	indexPrefix  = "index/"
	maxKeyLength = 1024
	// indexScanPages bounds the LIST pages one listing page may cost before
	// falling back to one lookup per unresolved entry.
	indexScanPages = 2
)

// indexEntry is what an index entry says about one object version.
type indexEntry struct {
	size       int64  // plaintext size
	clientETag string // unquoted; empty: none recorded (the backend ETag is shown)
}

// ragged reports whether a layout's plaintext size cannot be derived from
// its ciphertext size.
func ragged(l crypto.Layout) bool {
	for _, p := range l[:len(l)-1] {
		if p%crypto.PackageSize != 0 {
			return true
		}
	}
	return false
}

func (rc *records) indexMAC(bucket, object, etag string, size int64, sealedETag string) string {
	m := hmac.New(sha256.New, rc.indexKey)
	if sealedETag == "" {
		fmt.Fprintf(m, "s3seal index v1\x00%s\x00%s\x00%s\x00%d", bucket, object, etag, size)
	} else {
		fmt.Fprintf(m, "s3seal index v2\x00%s\x00%s\x00%s\x00%d\x00%s", bucket, object, etag, size, sealedETag)
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// indexEntryName is the name of the entry for one object version; a
// client ETag is sealed into it.
func (rc *records) indexEntryName(bucket, object, etag string, size int64, clientETag string) (string, error) {
	var sealed string
	if clientETag != "" {
		var err error
		if sealed, err = rc.sealIndexETag(bucket, object, etag, size, clientETag); err != nil {
			return "", err
		}
		sealed += "/"
	}
	return indexPrefix + bucket + "/" + object + "/" + etag + "/" + strconv.FormatInt(size, 10) + "/" + sealed +
		rc.indexMAC(bucket, object, etag, size, strings.TrimSuffix(sealed, "/")), nil
}

// maxSealedETagLength bounds the sealed client ETag of an index entry name
// (an MD5-form ETag, possibly with a multipart "-N" suffix).
const maxSealedETagLength = 100

// indexEntryFits reports whether the index entry of an object version with
// a backend ETag of etagLen bytes fits a backend key. An object whose entry
// cannot fit gets no client ETag of its own: every read shows the backend's.
func indexEntryFits(bucket, object string, etagLen int) bool {
	n := len(indexPrefix) + len(bucket) + 1 + len(object) + 1 + etagLen + 1 + 19 + 1 + maxSealedETagLength + 1 + 32
	return n <= maxKeyLength
}

// writeIndexEntry records what listings need to know about one version of
// bucket/object, which the backend stored under backendETag: its plaintext
// size and, if not empty, the unquoted clientETag clients are shown instead
// of the backend's. Names too long for the backend are not written
// (indexEntryFits): listings then show the backend ETag and read a ragged
// object's size from its layout record.
func (rc *records) writeIndexEntry(ctx context.Context, bucket, object, backendETag string, size int64, clientETag string) error {
	name, err := rc.indexEntryName(bucket, object, strings.Trim(backendETag, `"`), size, clientETag)
	if err != nil {
		return err
	}
	if len(name) > maxKeyLength {
		return nil
	}
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodPut, Bucket: rc.bucket, Object: name, Body: http.NoBody})
	if err != nil {
		return backendError(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s3err.Wrap(s3err.InternalError, fmt.Errorf("write index entry: backend answered %s", resp.Status))
	}
	return nil
}

// lookupIndexEntry reads the index entry of one version of bucket/object
// (one LIST). found is false when there is none that authenticates.
func (rc *records) lookupIndexEntry(ctx context.Context, bucket, object, backendETag string) (e indexEntry, found bool, err error) {
	v := objectVersion{object, strings.Trim(backendETag, `"`)}
	m := map[objectVersion]indexEntry{}
	found, err = rc.lookupInto(ctx, bucket, v, m)
	return m[v], found, err
}

// lookupInto lists the index entries of one object version into found.
func (rc *records) lookupInto(ctx context.Context, bucket string, w objectVersion, found map[objectVersion]indexEntry) (bool, error) {
	prefix := indexPrefix + bucket + "/"
	q := url.Values{"list-type": {"2"}, "prefix": {prefix + w.object + "/" + w.etag + "/"}, "max-keys": {"10"}}
	keys, _, err := rc.listSystem(ctx, q)
	if err != nil {
		return false, err
	}
	ok := false
	for _, k := range keys {
		if obj, etag, e, valid := rc.parseIndexEntry(k, bucket); valid && obj == w.object && etag == w.etag {
			found[w] = preferClientETag(found[w], e)
			ok = true
		}
	}
	return ok, nil
}

// preferClientETag merges two entries of one version: one that names a
// client ETag wins over one that does not (a v1 entry written before).
func preferClientETag(have, e indexEntry) indexEntry {
	if have.clientETag != "" {
		return have
	}
	return e
}

// parseIndexEntry splits and authenticates an index entry name, v2 or v1.
func (rc *records) parseIndexEntry(name, bucket string) (object, etag string, e indexEntry, ok bool) {
	rest, ok := strings.CutPrefix(name, indexPrefix+bucket+"/")
	if !ok {
		return "", "", indexEntry{}, false
	}
	f := strings.Split(rest, "/")
	if len(f) >= 5 {
		mac, sealed, sz, etag := f[len(f)-1], f[len(f)-2], f[len(f)-3], f[len(f)-4]
		object = strings.Join(f[:len(f)-4], "/")
		size, err := strconv.ParseInt(sz, 10, 64)
		if err == nil && size >= 0 && sealed != "" && hmac.Equal([]byte(mac), []byte(rc.indexMAC(bucket, object, etag, size, sealed))) {
			client, err := rc.openIndexETag(bucket, object, etag, size, sealed)
			if err != nil {
				return "", "", indexEntry{}, false
			}
			return object, etag, indexEntry{size: size, clientETag: client}, true
		}
	}
	if len(f) < 4 {
		return "", "", indexEntry{}, false
	}
	mac, sz, etag := f[len(f)-1], f[len(f)-2], f[len(f)-3]
	object = strings.Join(f[:len(f)-3], "/")
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 || !hmac.Equal([]byte(mac), []byte(rc.indexMAC(bucket, object, etag, size, ""))) {
		return "", "", indexEntry{}, false
	}
	return object, etag, indexEntry{size: size}, true
}

type objectVersion struct{ object, etag string }

// indexEntries finds the index entries of the wanted object versions
// (sorted by key) of one listing page.
func (rc *records) indexEntries(ctx context.Context, bucket string, wanted []objectVersion) (map[objectVersion]indexEntry, error) {
	found := map[objectVersion]indexEntry{}
	want := map[objectVersion]bool{}
	for _, w := range wanted {
		want[w] = true
	}
	first, last := wanted[0].object, wanted[len(wanted)-1].object
	prefix := indexPrefix + bucket + "/"
	scanned := false
	token := ""
	for range indexScanPages {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {"1000"}}
		if token != "" {
			q.Set("continuation-token", token)
		} else {
			q.Set("start-after", prefix+first)
		}
		keys, next, err := rc.listSystem(ctx, q)
		if err != nil {
			return nil, err
		}
		past := false
		for _, k := range keys {
			obj, etag, e, ok := rc.parseIndexEntry(k, bucket)
			if !ok {
				continue
			}
			if obj > last && !strings.HasPrefix(obj, last+"/") {
				past = true
				break
			}
			if v := (objectVersion{obj, etag}); want[v] {
				found[v] = preferClientETag(found[v], e)
			}
		}
		if past || next == "" {
			scanned = true
			break
		}
		token = next
	}
	if scanned {
		return found, nil
	}
	// The key range holds too many entries (a delimiter listing over deep
	// trees, or many overwritten versions): look up the rest one by one.
	for _, w := range wanted {
		if _, ok := found[w]; ok {
			continue
		}
		if _, err := rc.lookupInto(ctx, bucket, w, found); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// listSystem lists system-bucket keys.
func (rc *records) listSystem(ctx context.Context, q url.Values) (keys []string, next string, err error) {
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: rc.bucket, RawQuery: q.Encode()})
	if err != nil {
		return nil, "", backendError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize))
	if err != nil {
		return nil, "", backendError(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", s3err.Wrap(s3err.InternalError, fmt.Errorf("list system bucket: backend answered %s", resp.Status))
	}
	var res struct {
		Contents []struct {
			Key string `xml:"Key"`
		} `xml:"Contents"`
		IsTruncated           bool   `xml:"IsTruncated"`
		NextContinuationToken string `xml:"NextContinuationToken"`
	}
	if err := xml.Unmarshal(body, &res); err != nil {
		return nil, "", s3err.Wrap(s3err.InternalError, err)
	}
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	if res.IsTruncated {
		next = res.NextContinuationToken
	}
	return keys, next, nil
}
