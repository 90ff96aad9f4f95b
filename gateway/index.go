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

// A multipart object whose parts (all but the last) are whole DARE
// packages lists exactly: its plaintext size follows from its ciphertext
// size. A "ragged" one does not, so CompleteMultipartUpload writes an empty
// index entry into the system bucket whose name carries the size:
//
//	index/<bucket>/<object>/<etag>/<size>/<mac>
//
// Names sort like the objects they describe, so one LIST over the key range
// of a listing page finds the entries of every object on it. The entry only
// counts if its ETag is the listed object's (overwrites and deletes need no
// cleanup) and its MAC, under a key kept sealed in the system bucket,
// verifies (backend access cannot forge sizes).

const (
	indexPrefix  = "index/"
	maxKeyLength = 1024
	// indexScanPages bounds the LIST pages one listing page may cost before
	// falling back to one lookup per unresolved multipart entry.
	indexScanPages = 2
)

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

func (rc *records) indexMAC(bucket, object, etag string, size int64) string {
	m := hmac.New(sha256.New, rc.indexKey)
	fmt.Fprintf(m, "s3seal index v1\x00%s\x00%s\x00%s\x00%d", bucket, object, etag, size)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (rc *records) indexEntryName(bucket, object, etag string, size int64) string {
	return indexPrefix + bucket + "/" + object + "/" + etag + "/" + strconv.FormatInt(size, 10) + "/" + rc.indexMAC(bucket, object, etag, size)
}

// writeIndexEntry records a ragged object's plaintext size. Names too long
// for the backend are not written: listings then read the layout record.
func (rc *records) writeIndexEntry(ctx context.Context, bucket, object, etag string, size int64) error {
	name := rc.indexEntryName(bucket, object, strings.Trim(etag, `"`), size)
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

// parseIndexEntry splits and authenticates an index entry name.
func (rc *records) parseIndexEntry(name, bucket string) (object, etag string, size int64, ok bool) {
	rest, ok := strings.CutPrefix(name, indexPrefix+bucket+"/")
	if !ok {
		return "", "", 0, false
	}
	f := strings.Split(rest, "/")
	if len(f) < 4 {
		return "", "", 0, false
	}
	mac, sz, etag := f[len(f)-1], f[len(f)-2], f[len(f)-3]
	object = strings.Join(f[:len(f)-3], "/")
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 || !hmac.Equal([]byte(mac), []byte(rc.indexMAC(bucket, object, etag, size))) {
		return "", "", 0, false
	}
	return object, etag, size, true
}

type objectVersion struct{ object, etag string }

// indexSizes finds the index entries of the wanted multipart objects
// (sorted by key) of one listing page.
func (rc *records) indexSizes(ctx context.Context, bucket string, wanted []objectVersion) (map[objectVersion]int64, error) {
	found := map[objectVersion]int64{}
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
			obj, etag, size, ok := rc.parseIndexEntry(k, bucket)
			if !ok {
				continue
			}
			if obj > last && !strings.HasPrefix(obj, last+"/") {
				past = true
				break
			}
			if v := (objectVersion{obj, etag}); want[v] {
				found[v] = size
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
	// trees): look up the rest one by one.
	for _, w := range wanted {
		if _, ok := found[w]; ok {
			continue
		}
		q := url.Values{"list-type": {"2"}, "prefix": {prefix + w.object + "/" + w.etag + "/"}, "max-keys": {"10"}}
		keys, _, err := rc.listSystem(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if obj, etag, size, ok := rc.parseIndexEntry(k, bucket); ok && obj == w.object && etag == w.etag {
				found[w] = size
			}
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
