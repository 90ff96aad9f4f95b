package gateway

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// Listings are rewritten at the byte level: only <Size> values change,
// reserved metadata disappears from <UserMetadata> (scrub.go) and the
// system bucket from ListBuckets; everything else reaches the client
// exactly as the backend wrote it.

const maxListingSize = 64 << 20

var (
	entryPattern = regexp.MustCompile(`(?s)<(Contents|Version|Part)>.*?</(Contents|Version|Part)>`)
	sizePattern  = regexp.MustCompile(`<Size>(\d+)</Size>`)
)

// fetchListing forwards a listing request; see fetchXML.
func (s *Server) fetchListing(w http.ResponseWriter, r *http.Request, req *s3Request) (*http.Response, []byte, error) {
	return s.fetchXML(w, r, backendRequest{
		Method: r.Method, Bucket: req.bucket, Object: req.object, RawQuery: r.URL.RawQuery,
		Header: forwardHeader(r.Header),
	})
}

// fetchXML sends br and returns the backend's 200 response with its XML
// body read (bounded; resp.Body is then closed). Any other answer is
// relayed to the client and the response is nil, as it is on error.
func (s *Server) fetchXML(w http.ResponseWriter, r *http.Request, br backendRequest) (*http.Response, []byte, error) {
	resp, err := s.backend.do(r.Context(), br)
	if err != nil {
		return nil, nil, backendError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, relay(w, r, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListingSize+1))
	if err != nil {
		return nil, nil, backendError(err)
	}
	if len(body) > maxListingSize {
		return nil, nil, s3err.Wrap(s3err.InternalError, fmt.Errorf("listing larger than %d bytes", maxListingSize))
	}
	return resp, body, nil
}

func writeListing(w http.ResponseWriter, resp *http.Response, body []byte) error {
	copyResponseHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return err
}

// listObjects serves ListObjects V1/V2 and ListObjectVersions (also with
// MinIO's metadata=true) with plaintext sizes, client ETags and without
// reserved metadata, at the cost of at most one system-bucket LIST per page
// (with MD5 ETags off: only for pages that list multipart objects); on a
// backend that lists metadata, client ETags sealed in object metadata are
// read from the listing itself (listmeta.go).
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	q := r.URL.Query()
	withMeta := s.records.listsMetadata.Load() && !s.cfg.DisableMD5ETags && !s.plaintext[req.bucket]
	rawQuery, clientAsked := r.URL.RawQuery, true
	if withMeta {
		var mq string
		if mq, clientAsked = metadataListing(q, rawQuery); mq != "" {
			rawQuery = mq
		}
	}
	resp, body, err := s.fetchXML(w, r, backendRequest{
		Method: r.Method, Bucket: req.bucket, Object: req.object, RawQuery: rawQuery,
		Header: forwardHeader(r.Header),
	})
	if resp == nil {
		return err
	}
	// Entries are parsed before the scrub removes their s3seal metadata.
	var entries []listingEntry
	if !s.plaintext[req.bucket] {
		entries = parseListingEntries(body)
	}
	if !clientAsked {
		body = withoutListingMetadata(body)
	}
	if body, err = scrubListing(body); err != nil {
		return err
	}
	if s.plaintext[req.bucket] {
		return writeListing(w, resp, body)
	}
	ctx := r.Context()
	found := map[objectVersion]indexEntry{}
	var indexed []objectVersion
	for _, e := range entries {
		if e.key == "" || (s.cfg.DisableMD5ETags && !strings.Contains(e.etag, "-")) {
			continue
		}
		if withMeta && e.meta != nil && !strings.Contains(e.etag, "-") {
			// Listed with its metadata: a sealed ETag is read from it;
			// everything else is looked up in the index as before.
			if etag, ok := s.sealedListingETag(ctx, req.bucket, e); ok {
				found[objectVersion{e.key, e.etag}] = indexEntry{size: -1, clientETag: etag}
				continue
			}
		}
		indexed = append(indexed, objectVersion{e.key, e.etag})
	}
	if len(indexed) > 0 {
		sort.Slice(indexed, func(i, j int) bool { return indexed[i].object < indexed[j].object })
		idx, err := s.records.indexEntries(ctx, req.bucket, indexed)
		if err != nil {
			return err
		}
		var unresolved []objectVersion
		for _, m := range indexed {
			if e, ok := idx[m]; ok {
				found[m] = e
				continue
			}
			if strings.Contains(m.etag, "-") && !indexEntryFits(req.bucket, m.object, len(m.etag)) {
				// Too long a name for an index entry: the layout record.
				if l, err := s.records.layout(ctx, req.bucket, m.object, m.etag); err == nil {
					found[m] = indexEntry{size: l.sizes.Size(), clientETag: l.etag}
				}
				continue
			}
			if withMeta && !strings.Contains(m.etag, "-") {
				unresolved = append(unresolved, m)
			}
		}
		if len(unresolved) > 0 && !q.Has("versions") && q.Get("list-type") != "2" {
			if err := s.v1SealedETags(ctx, req.bucket, q, unresolved, found); err != nil {
				return err
			}
		}
	}
	for _, e := range entries {
		v := objectVersion{e.key, e.etag}
		if _, ok := found[v]; ok || e.key == "" || !strings.Contains(e.etag, "-") {
			continue
		}
		ie, ok, err := s.indexEntryByHead(r.Context(), req.bucket, e)
		if err != nil {
			return err
		}
		if ok {
			found[v] = ie
		}
	}
	i := 0
	body = entryPattern.ReplaceAllFunc(body, func(entry []byte) []byte {
		e := entries[i]
		i++
		ie, ok := found[objectVersion{e.key, e.etag}]
		entry = sizePattern.ReplaceAllFunc(entry, func(tag []byte) []byte {
			if ok && ie.size >= 0 {
				return []byte("<Size>" + strconv.FormatInt(ie.size, 10) + "</Size>")
			}
			return plaintextSize(tag)
		})
		// A multipart object's client ETag is shown whatever
		// Config.DisableMD5ETags: its parts were given theirs.
		if ok && ie.clientETag != "" && (!s.cfg.DisableMD5ETags || strings.Contains(e.etag, "-")) {
			entry = replaceETag(entry, e.etag, ie.clientETag)
		}
		return entry
	})
	return writeListing(w, resp, body)
}

// v1SealedETags finds the sealed client ETags of the unresolved (sorted)
// entries of a ListObjects V1 page in a V2 listing with metadata of their
// key range.
func (s *Server) v1SealedETags(ctx context.Context, bucket string, q url.Values, unresolved []objectVersion, found map[objectVersion]indexEntry) error {
	listed, complete, err := s.v1MetadataListing(ctx, bucket, q, unresolved[0].object, unresolved[len(unresolved)-1].object)
	if err != nil {
		return err
	}
	if !complete {
		// The key range holds too many keys (a delimiter listing over
		// deep trees): look up the rest one by one.
		seen := make(map[string]bool, len(listed))
		for _, e := range listed {
			seen[e.key] = true
		}
		for _, u := range unresolved {
			if seen[u.object] {
				continue
			}
			one, _, err := s.metadataListPage(ctx, bucket, url.Values{"list-type": {"2"}, "metadata": {"true"}, "prefix": {u.object}, "max-keys": {"1"}})
			if err != nil {
				return err
			}
			listed = append(listed, one...)
		}
	}
	want := make(map[objectVersion]bool, len(unresolved))
	for _, u := range unresolved {
		want[u] = true
	}
	for _, e := range listed {
		if v := (objectVersion{e.key, e.etag}); want[v] {
			if etag, ok := s.sealedListingETag(ctx, bucket, e); ok {
				found[v] = indexEntry{size: -1, clientETag: etag}
			}
		}
	}
	return nil
}

var etagPattern = regexp.MustCompile(`(?s)<ETag>.*?</ETag>`)

// replaceETag replaces the backend ETag in an entry's <ETag> element with
// the client's, keeping the backend's quoting (" or &#34;).
func replaceETag(entry []byte, backendETag, clientETag string) []byte {
	return etagPattern.ReplaceAllFunc(entry, func(tag []byte) []byte {
		return bytes.Replace(tag, []byte(backendETag), []byte(xmlEscape(clientETag)), 1)
	})
}

// listParts serves ListParts with what the client was told at UploadPart:
// every part's ETag, plaintext size and checksum from its part record, and
// the upload's checksum algorithm and type.
func (s *Server) listParts(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	if s.plaintext[req.bucket] {
		return s.passthrough(w, r, req)
	}
	ctx := r.Context()
	uploadID := r.URL.Query().Get("uploadId")
	st, err := s.records.upload(ctx, req.bucket, req.object, uploadID)
	if err != nil && !errors.Is(err, errRecordNotFound) {
		return err
	}
	resp, body, err := s.fetchListing(w, r, req)
	if resp == nil {
		return err
	}
	if body, err = scrubListing(body); err != nil {
		return err
	}
	if st == nil {
		body = entryPattern.ReplaceAllFunc(body, func(entry []byte) []byte {
			return sizePattern.ReplaceAllFunc(entry, plaintextSize)
		})
		return writeListing(w, resp, body)
	}
	blocks := entryPattern.FindAll(body, -1)
	listed := make([]listedPart, len(blocks))
	numbers := make([]int, 0, len(blocks))
	for i, b := range blocks {
		if err := xml.Unmarshal(b, &listed[i]); err != nil {
			return s3err.Wrap(s3err.InternalError, fmt.Errorf("ListParts entry: %w", err))
		}
		numbers = append(numbers, listed[i].PartNumber)
	}
	byNumber := make(map[int]listedPart, len(listed))
	for _, p := range listed {
		byNumber[p.PartNumber] = p
	}
	recs, err := s.records.parts(ctx, req.bucket, uploadID, numbers, func(n int, rec *partRecord) bool {
		p, ok := byNumber[n]
		return ok && rec.BackendETag == strings.Trim(p.ETag, `"`) && crypto.EncryptedSize(rec.Size) == p.Size
	})
	if err != nil {
		return err
	}
	i := 0
	body = entryPattern.ReplaceAllFunc(body, func([]byte) []byte {
		p := listed[i]
		i++
		return p.clientView(recs[p.PartNumber])
	})
	// The backend knows no checksum algorithm (s3seal never tells it).
	body = listChecksumModePattern.ReplaceAll(body, nil)
	if st.Checksum.Algorithm != "" {
		mode := "<ChecksumAlgorithm>" + st.Checksum.Algorithm + "</ChecksumAlgorithm><ChecksumType>" + st.Checksum.Type + "</ChecksumType>"
		body = bytes.Replace(body, []byte("</UploadId>"), []byte("</UploadId>"+mode), 1)
	}
	return writeListing(w, resp, body)
}

var listChecksumModePattern = regexp.MustCompile(`<Checksum(Algorithm|Type)>[^<]*</Checksum(Algorithm|Type)>|<Checksum(Algorithm|Type)/>`)

// listedPart is a backend ListParts entry.
type listedPart struct {
	XMLName      xml.Name `xml:"Part"`
	PartNumber   int
	LastModified string
	ETag         string
	Size         int64
	xmlChecksums
}

// clientView renders the entry as the client sees it: from the part's
// record if it describes this backend part; else (a part whose upload has
// not finished, or of an upload started before part records) the
// backend's ETag and the plaintext size of its one DARE stream.
func (p listedPart) clientView(rec *partRecord) []byte {
	backendETag := strings.Trim(p.ETag, `"`)
	p.xmlChecksums = xmlChecksums{}
	if rec != nil && rec.BackendETag == backendETag && crypto.EncryptedSize(rec.Size) == p.Size {
		p.ETag, p.Size, p.xmlChecksums = `"`+rec.ETag+`"`, rec.Size, rec.Checksums.xml()
	} else if n, err := crypto.DecryptedSize(p.Size); err == nil {
		p.Size = n
	}
	out, _ := xml.Marshal(p)
	return out
}

// plaintextSize rewrites one <Size> of a single DARE stream (or of an
// aligned multipart object). Sizes that no DARE stream can have (objects
// without s3seal metadata, which reads refuse unless their bucket allows
// legacy plaintext reads) are left as they are.
func plaintextSize(tag []byte) []byte {
	m := sizePattern.FindSubmatch(tag)
	n, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil {
		return tag
	}
	p, err := crypto.DecryptedSize(n)
	if err != nil {
		return tag
	}
	return []byte("<Size>" + strconv.FormatInt(p, 10) + "</Size>")
}

// indexEntryByHead finds the plaintext size and client ETag of a listed
// multipart object that the index does not know under the ETag the listing
// shows, under the ETag a HEAD of that version shows instead: stores may
// show a multipart object's ETag differently in different answers
// (SeaweedFS: "…-N" in ListObjectVersions, another form in ListObjectsV2
// and HEAD, the one s3seal indexed), and DARE's size arithmetic is wrong
// for ragged multipart objects, so the entry's own size cannot stand in.
// found is false when the HEAD shows the listed ETag or the object is not
// one of s3seal's multipart objects.
func (s *Server) indexEntryByHead(ctx context.Context, bucket string, e listingEntry) (ie indexEntry, found bool, err error) {
	var q url.Values
	if e.versionID != "" && e.versionID != "null" {
		q = url.Values{"versionId": {e.versionID}}
	}
	resp, err := s.backend.do(ctx, backendRequest{Method: http.MethodHead, Bucket: bucket, Object: e.key, RawQuery: q.Encode()})
	if err != nil {
		return ie, false, backendError(err)
	}
	resp.Body.Close()
	etag := strings.Trim(resp.Header.Get("ETag"), `"`)
	if resp.StatusCode != http.StatusOK || etag == "" || etag == e.etag {
		return ie, false, nil
	}
	if ie, found, err = s.records.lookupIndexEntry(ctx, bucket, e.key, etag); err != nil || found {
		return ie, found, err
	}
	meta, err := decodeMetadata(resp.Header)
	if err != nil || meta == nil || !meta.Multipart {
		return ie, false, nil
	}
	l, err := s.records.layout(ctx, bucket, e.key, etag)
	if err != nil {
		return ie, false, nil
	}
	return indexEntry{size: l.sizes.Size(), clientETag: l.etag}, true, nil
}

type listingEntry struct {
	key, etag, versionID string
	meta                 http.Header // the entry's <UserMetadata>; nil without one
}

// parseListingEntries returns the key and ETag of every entry, in order
// and one per entryPattern match, decoding URL-encoded keys.
func parseListingEntries(body []byte) []listingEntry {
	urlEncoded := bytes.Contains(body, []byte("<EncodingType>url</EncodingType>"))
	blocks := entryPattern.FindAll(body, -1)
	out := make([]listingEntry, len(blocks))
	for i, b := range blocks {
		var e struct {
			Key          string `xml:"Key"`
			ETag         string `xml:"ETag"`
			VersionID    string `xml:"VersionId"`
			UserMetadata *struct {
				Items []struct {
					XMLName xml.Name
					Value   string `xml:",chardata"`
				} `xml:",any"`
			} `xml:"UserMetadata"`
		}
		if xml.Unmarshal(b, &e) != nil {
			continue
		}
		var meta http.Header
		if e.UserMetadata != nil {
			meta = make(http.Header, len(e.UserMetadata.Items))
			for _, it := range e.UserMetadata.Items {
				meta.Set(it.XMLName.Local, it.Value)
			}
		}
		if urlEncoded {
			if k, err := url.QueryUnescape(e.Key); err == nil {
				e.Key = k
			}
		}
		out[i] = listingEntry{key: e.Key, etag: strings.Trim(e.ETag, `"`), versionID: e.VersionID, meta: meta}
	}
	return out
}

var (
	bucketEntryPattern = regexp.MustCompile(`(?s)<Bucket>.*?</Bucket>`)
	bucketNamePattern  = regexp.MustCompile(`<Name>([^<]*)</Name>`)
)

// listBuckets hides the system bucket and, for a user without
// s3:ListAllMyBuckets, the buckets it may neither list nor locate.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request, req *s3Request) error {
	resp, body, err := s.fetchListing(w, r, req)
	if resp == nil {
		return err
	}
	name := []byte("<Name>" + s.cfg.SystemBucket + "</Name>")
	shown := 0
	body = bucketEntryPattern.ReplaceAllFunc(body, func(b []byte) []byte {
		if bytes.Contains(b, name) {
			return nil
		}
		if req.bucketFilter != nil {
			m := bucketNamePattern.FindSubmatch(b)
			if m == nil || !req.bucketFilter(string(m[1])) {
				return nil
			}
		}
		shown++
		return b
	})
	if req.bucketFilter != nil && shown == 0 && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		return errAccessDenied()
	}
	return writeListing(w, resp, body)
}
