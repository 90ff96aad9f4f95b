package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"

	"github.com/s3seal/s3seal/crypto"
)

// Listings from object metadata. A single-part SSE-S3 object whose MD5 was
// known before its backend PUT (a body of at most smallBodySize, or one
// with a verified Content-MD5) carries its client ETag sealed in its own
// metadata (etag.go). On a backend that lists metadata (MinIO's
// metadata=true extension of ListObjectsV2 and ListObjectVersions, probed
// at Init) such an object needs no listing-index entry: the listing is
// fetched with its entries' metadata, the ETag opened from it, and the
// metadata removed again unless the client asked for it. Its PUT is then
// one backend request. Other backends keep index entries for every
// object, as before.
//
// A ListObjects V1 page has no metadata form; for its entries without an
// index entry the gateway lists the same key range once more as a V2
// listing with metadata.

// probeListingMetadata reports whether the backend lists object metadata:
// a metadata=true listing of the index key's record must show its
// s3seal metadata.
func (rc *records) probeListingMetadata(ctx context.Context) (bool, error) {
	q := url.Values{"list-type": {"2"}, "metadata": {"true"}, "prefix": {indexKeyRecord}, "max-keys": {"1"}}
	resp, err := rc.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: rc.bucket, RawQuery: q.Encode()})
	if err != nil {
		return false, backendError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, backendError(err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, nil
	}
	for _, e := range parseListingEntries(body) {
		if e.key == indexKeyRecord && e.meta.Get(hdrSealedKeyProbe) != "" {
			return true, nil
		}
	}
	return false, nil
}

// hdrSealedKeyProbe is a metadata header every s3seal-encrypted object
// has; the probe looks for it.
const hdrSealedKeyProbe = crypto.MetadataPrefix + "Sealed-Key"

// listingMetadataPattern matches what a metadata=true listing adds to
// each entry (MinIO: user metadata, tags, erasure-coding figures).
var listingMetadataPattern = regexp.MustCompile(`(?s)<UserMetadata(?:\s[^>]*)?>.*?</UserMetadata>|<UserMetadata\s*/>|<UserTags>[^<]*</UserTags>|<UserTags\s*/>|<Internal>.*?</Internal>`)

// withoutListingMetadata removes what metadata=true added to a listing.
func withoutListingMetadata(body []byte) []byte {
	if !bytes.Contains(body, []byte("<UserMetadata")) && !bytes.Contains(body, []byte("<Internal>")) && !bytes.Contains(body, []byte("<UserTags")) {
		return body
	}
	return listingMetadataPattern.ReplaceAll(body, nil)
}

// metadataListing returns the backend query for a listing with metadata,
// and whether the client asked for metadata itself; "" for a ListObjects
// V1 request, which has no metadata form on MinIO.
func metadataListing(q url.Values, rawQuery string) (query string, clientAsked bool) {
	if q.Get("metadata") == "true" {
		return rawQuery, true
	}
	if q.Get("list-type") != "2" && !q.Has("versions") {
		return "", false
	}
	q = cloneValues(q)
	q.Set("metadata", "true")
	return q.Encode(), false
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q)+1)
	for k, v := range q {
		out[k] = v
	}
	return out
}

// sealedListingETag opens the client ETag an entry's listed metadata
// carries; ok is false when it has none or it does not open (the backend
// ETag is shown, as for an object without an index entry).
func (s *Server) sealedListingETag(ctx context.Context, bucket string, e listingEntry) (string, bool) {
	v := e.meta.Get(hdrClientETag)
	if v == "" || v == clientETagInIndex {
		return "", false
	}
	meta, err := decodeMetadata(e.meta)
	if err != nil || meta == nil || meta.Multipart {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return "", false
	}
	key, err := s.unsealObject(ctx, meta, bucket, e.key, nil)
	if err != nil {
		return "", false
	}
	plain, err := key.OpenValue(clientETagLabel, raw)
	if err != nil {
		return "", false
	}
	return string(plain), true
}

// v1MetadataListing lists, as V2 listings with metadata, the key range of
// a V1 page from first to last (both listed on it): at most
// indexScanPages pages; complete is false when they ended before last.
func (s *Server) v1MetadataListing(ctx context.Context, bucket string, q url.Values, first, last string) (entries []listingEntry, complete bool, err error) {
	v2 := url.Values{"list-type": {"2"}, "metadata": {"true"}, "max-keys": {"1000"}}
	if p := q.Get("prefix"); p != "" {
		v2.Set("prefix", p)
	}
	// Everything after first's parent in byte order includes first.
	if len(first) > 0 {
		v2.Set("start-after", first[:len(first)-1])
	}
	for range indexScanPages {
		page, next, err := s.metadataListPage(ctx, bucket, v2)
		if err != nil {
			return nil, false, err
		}
		entries = append(entries, page...)
		if next == "" || (len(page) > 0 && page[len(page)-1].key >= last) {
			return entries, true, nil
		}
		v2.Del("start-after")
		v2.Set("continuation-token", next)
	}
	return entries, false, nil
}

// metadataListPage fetches one V2 listing page with metadata; next is its
// continuation token, "" on the last page. A backend that refuses the
// listing yields no entries: their backend ETags are shown.
func (s *Server) metadataListPage(ctx context.Context, bucket string, q url.Values) (entries []listingEntry, next string, err error) {
	resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodGet, Bucket: bucket, RawQuery: q.Encode()})
	if err != nil {
		return nil, "", backendError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize))
	if err != nil {
		return nil, "", backendError(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", nil
	}
	var res struct {
		IsTruncated           bool
		NextContinuationToken string
	}
	_ = xml.Unmarshal(body, &res)
	if res.IsTruncated {
		next = res.NextContinuationToken
	}
	return parseListingEntries(body), next, nil
}
