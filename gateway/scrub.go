package gateway

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/s3seal/s3seal/gateway/s3err"
)

// No reserved metadata leaves s3seal. Response headers lose it in
// copyResponseHeader; listings can carry it too: MinIO's metadata=true
// extension of ListObjects (V1, V2) and ListObjectVersions puts each
// entry's user metadata in a <UserMetadata> element, which would reveal the
// sealed object key, the sealed data key, the KMS key id and the SSE-C key
// MD5. Entries are scrubbed at the byte level like sizes: everything else
// reaches the client as the backend wrote it.

// userMetadataPattern matches one <UserMetadata> element of a listing.
var userMetadataPattern = regexp.MustCompile(`(?s)<UserMetadata(?:\s[^>]*)?>.*?</UserMetadata>`)

// isReservedMetadataName reports whether a user-metadata name belongs to
// s3seal: the header form (X-Amz-Meta-S3seal-...) or the bare key form
// (s3seal-...) some backends list, in any case.
func isReservedMetadataName(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	return strings.HasPrefix(n, "x-amz-meta-s3seal-") || strings.HasPrefix(n, "s3seal-")
}

// scrubUserMetadata removes from every <UserMetadata> element of a listing
// the entries that name reserved metadata, in either form MinIO and other
// backends use: an element named after the header
// (<X-Amz-Meta-S3seal-Kms-Dek>…), or an item whose <Key> names it
// (<Items><Key>s3seal-…</Key><Value>…</Value></Items>). A block it cannot
// parse is removed whole: fail closed.
func scrubUserMetadata(body []byte) []byte {
	if !bytes.Contains(body, []byte("<UserMetadata")) {
		return body
	}
	return userMetadataPattern.ReplaceAllFunc(body, func(block []byte) []byte {
		open := bytes.IndexByte(block, '>') + 1
		closing := len(block) - len("</UserMetadata>")
		kept, err := unreservedEntries(block[open:closing])
		if err != nil {
			return nil
		}
		out := make([]byte, 0, open+len(kept)+len("</UserMetadata>"))
		out = append(out, block[:open]...)
		out = append(out, kept...)
		return append(out, block[closing:]...)
	})
}

// unreservedEntries returns the top-level elements of inner that do not
// name reserved metadata, byte for byte. Text, comments and directives
// between them are dropped.
func unreservedEntries(inner []byte) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(inner))
	dec.Strict = true
	var (
		out      []byte
		depth    int
		start    int64
		reserved bool
		inKey    bool
	)
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				start, reserved = before, isReservedMetadataName(t.Name.Local)
			}
			inKey = t.Name.Local == "Key"
			depth++
		case xml.EndElement:
			inKey = false
			depth--
			if depth == 0 && !reserved {
				out = append(out, inner[start:dec.InputOffset()]...)
			}
		case xml.CharData:
			if inKey && isReservedMetadataName(string(t)) {
				reserved = true
			}
		}
	}
}

// reservedElement finds what scrubUserMetadata must have removed; its
// presence after scrubbing means a listing shape the scrubber does not know.
var reservedElement = regexp.MustCompile(`(?i)<x-amz-meta-s3seal-|<key>\s*(?:x-amz-meta-)?s3seal-[^<]*</key>\s*<value>`)

// scrubListing returns a listing body without reserved metadata. A body
// that still names some after scrubbing is refused rather than sent.
func scrubListing(body []byte) ([]byte, error) {
	body = scrubUserMetadata(body)
	// Every listing goes through here: scan with the regexp only when a
	// reserved name could be in it at all.
	if containsFold(body, "s3seal-") && reservedElement.Match(body) {
		return nil, s3err.Wrap(s3err.InternalError, errors.New("listing carries reserved metadata outside <UserMetadata>"))
	}
	return body, nil
}

// containsFold reports whether b contains the lower-case ASCII word in any
// case, without allocating.
func containsFold(b []byte, word string) bool {
	for i := 0; i+len(word) <= len(b); i++ {
		j := 0
		for j < len(word) && lowerASCII(b[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
