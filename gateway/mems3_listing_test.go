package gateway

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// memS3's listings: ListBuckets, ListObjects V1 and V2, ListObjectVersions.

func (m *memS3) listBuckets(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		memError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	type bucket struct{ Name, CreationDate string }
	res := struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		Owner   struct{ ID, DisplayName string }
		Buckets []bucket `xml:"Buckets>Bucket"`
	}{}
	var names []string
	for b := range m.buckets {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		res.Buckets = append(res.Buckets, bucket{Name: b, CreationDate: "2026-01-01T00:00:00.000Z"})
	}
	writeMemXML(w, http.StatusOK, res)
}

type memListEntry struct {
	Key          string
	VersionId    string `xml:",omitempty"`
	IsLatest     *bool  `xml:",omitempty"`
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
	UserMetadata *memUserMetadata `xml:",omitempty"`
}

// memUserMetadata is an entry's x-amz-meta-* headers as MinIO lists them
// for metadata=true: one element per header, named after it.
type memUserMetadata struct{ h http.Header }

func (m *memUserMetadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	var names []string
	for k := range m.h {
		if strings.HasPrefix(k, "X-Amz-Meta-") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if err := e.EncodeElement(m.h.Get(k), xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type memPrefix struct{ Prefix string }

// listObjects answers ListObjects V1 and V2 and ListObjectVersions (every
// object is its only, "null" version): prefix, delimiter, max-keys,
// marker / start-after / continuation-token, encoding-type=url.
func (m *memS3) listObjects(w http.ResponseWriter, r *http.Request, bucket string, q url.Values, kind string) {
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			memError(w, r, http.StatusBadRequest, "InvalidArgument", "Argument max-keys must be an integer between 0 and 2147483647")
			return
		}
		maxKeys = min(n, 1000)
	}
	after := q.Get("marker")
	switch kind {
	case "v2":
		after = q.Get("start-after")
		if t := q.Get("continuation-token"); t != "" {
			raw, err := base64.StdEncoding.DecodeString(t)
			if err != nil {
				memError(w, r, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
				return
			}
			after = string(raw)
		}
	case "versions":
		after = q.Get("key-marker")
	}
	urlEncoded := q.Get("encoding-type") == "url"
	enc := func(s string) string {
		if urlEncoded {
			return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
		}
		return s
	}
	var keys []string
	for k := range m.buckets[bucket] {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var entries []memListEntry
	var prefixes []memPrefix
	seen := map[string]bool{}
	truncated, last := false, ""
	for _, k := range keys {
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if seen[cp] {
					continue
				}
				if len(entries)+len(prefixes) == maxKeys {
					truncated = true
					break
				}
				seen[cp] = true
				prefixes = append(prefixes, memPrefix{enc(cp)})
				last = cp
				continue
			}
		}
		if len(entries)+len(prefixes) == maxKeys {
			truncated = true
			break
		}
		o := m.buckets[bucket][k]
		e := memListEntry{Key: enc(k), LastModified: o.modified.Format("2006-01-02T15:04:05.000Z"), ETag: o.etag, Size: int64(len(o.body)), StorageClass: "STANDARD"}
		if q.Get("metadata") == "true" && kind != "v1" && !m.NoListingMetadata {
			e.UserMetadata = &memUserMetadata{o.header}
		}
		if kind == "versions" {
			latest := true
			e.VersionId, e.IsLatest = "null", &latest
			if m.VersionsETag != nil {
				e.ETag = m.VersionsETag(o.etag)
			}
		}
		entries = append(entries, e)
		last = k
	}
	encodingType := ""
	if urlEncoded {
		encodingType = "url"
	}
	switch kind {
	case "v1":
		res := struct {
			XMLName        xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
			Name           string
			Prefix         string
			Marker         string
			NextMarker     string `xml:",omitempty"`
			MaxKeys        int
			Delimiter      string `xml:",omitempty"`
			EncodingType   string `xml:",omitempty"`
			IsTruncated    bool
			Contents       []memListEntry
			CommonPrefixes []memPrefix
		}{Name: bucket, Prefix: enc(prefix), Marker: enc(after), MaxKeys: maxKeys, Delimiter: delim, EncodingType: encodingType, IsTruncated: truncated, Contents: entries, CommonPrefixes: prefixes}
		if truncated && delim != "" {
			res.NextMarker = enc(last)
		}
		writeMemXML(w, http.StatusOK, res)
	case "v2":
		res := struct {
			XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
			Name                  string
			Prefix                string
			KeyCount              int
			MaxKeys               int
			Delimiter             string `xml:",omitempty"`
			EncodingType          string `xml:",omitempty"`
			IsTruncated           bool
			ContinuationToken     string `xml:",omitempty"`
			NextContinuationToken string `xml:",omitempty"`
			StartAfter            string `xml:",omitempty"`
			Contents              []memListEntry
			CommonPrefixes        []memPrefix
		}{Name: bucket, Prefix: enc(prefix), KeyCount: len(entries) + len(prefixes), MaxKeys: maxKeys, Delimiter: delim, EncodingType: encodingType,
			IsTruncated: truncated, ContinuationToken: q.Get("continuation-token"), StartAfter: enc(q.Get("start-after")), Contents: entries, CommonPrefixes: prefixes}
		if truncated {
			res.NextContinuationToken = base64.StdEncoding.EncodeToString([]byte(last))
		}
		writeMemXML(w, http.StatusOK, res)
	case "versions":
		res := struct {
			XMLName         xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
			Name            string
			Prefix          string
			KeyMarker       string
			NextKeyMarker   string `xml:",omitempty"`
			MaxKeys         int
			Delimiter       string `xml:",omitempty"`
			EncodingType    string `xml:",omitempty"`
			IsTruncated     bool
			Versions        []memListEntry `xml:"Version"`
			CommonPrefixes  []memPrefix
			VersionIdMarker string
		}{Name: bucket, Prefix: enc(prefix), KeyMarker: enc(after), MaxKeys: maxKeys, Delimiter: delim, EncodingType: encodingType, IsTruncated: truncated, Versions: entries, CommonPrefixes: prefixes}
		if truncated {
			res.NextKeyMarker = enc(last)
		}
		writeMemXML(w, http.StatusOK, res)
	}
}
