package gateway

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/gateway/s3err"
)

// Every part of an encrypted upload gets a part record once the backend
// has stored it: the backend's ETag (of ciphertext, fresh nonces on every
// attempt) and what the client sees instead, a part ETag that depends on
// the plaintext only, the plaintext size and the part's checksums.
// CompleteMultipartUpload maps the client's ETags back through these
// records, so a part re-uploaded with identical bytes keeps its ETag, as
// in S3.
//
// A record names the backend ETag of the part it describes: one that does
// not name the part the backend holds (a re-upload whose record write
// lost a race, a replayed old record) is never used for it.

// partRecordLimit bounds the concurrent record reads and deletes of one
// request.
const partRecordLimit = 16

// partRecord is the stored form of one uploaded part.
type partRecord struct {
	Version     int         `json:"v"`
	Part        int         `json:"part"`
	BackendETag string      `json:"backendETag"` // unquoted
	Size        int64       `json:"size"`        // plaintext bytes
	ETag        string      `json:"etag"`        // client-visible, unquoted
	Checksums   checksumSet `json:"checksums,omitempty"`
}

func partRecordName(bucket, uploadID string, part int) string {
	return "parts/" + bucket + "/" + hashName(uploadID) + "/" + strconv.Itoa(part)
}

// putPart records an uploaded part, and keeps it in the cache of part
// records CompleteMultipartUpload on this replica reads first.
func (rc *records) putPart(ctx context.Context, bucket, uploadID string, p partRecord) error {
	p.Version = 1
	data, _ := json.Marshal(p)
	name := partRecordName(bucket, uploadID, p.Part)
	if err := rc.put(ctx, name, data); err != nil {
		return err
	}
	rc.partCache.put(name, &p)
	return nil
}

// part reads the record of one part; errRecordNotFound if there is none.
// A record that does not authenticate, or does not describe that part, is
// ObjectTampered.
func (rc *records) part(ctx context.Context, bucket, uploadID string, part int) (*partRecord, error) {
	name := partRecordName(bucket, uploadID, part)
	data, err := rc.get(ctx, name)
	if err != nil {
		return nil, err
	}
	var p partRecord
	if err := json.Unmarshal(data, &p); err != nil || p.Version != 1 || p.Part != part || p.Size < 0 || !isHexETag(p.ETag) {
		return nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("part record %s is malformed", name))
	}
	for alg, v := range p.Checksums {
		a := checksumAlgorithmNamed(alg)
		if a == nil {
			return nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("part record %s: checksum %q", name, alg))
		}
		if _, ok := decodeChecksumValue(a, v); !ok {
			return nil, s3err.Wrap(s3err.ObjectTampered, fmt.Errorf("part record %s: checksum %q", name, alg))
		}
	}
	return &p, nil
}

// parts reads the records of the numbered parts concurrently; a part
// without a record is missing from the map. A cached record is used
// without a backend request if describes(n, record) holds: it names the
// backend part the caller sees, so it is the record of that part (a part
// re-uploaded through another replica has another backend ETag, and its
// record is read from the backend).
func (rc *records) parts(ctx context.Context, bucket, uploadID string, numbers []int, describes func(n int, p *partRecord) bool) (map[int]*partRecord, error) {
	var mu sync.Mutex
	out := make(map[int]*partRecord, len(numbers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(partRecordLimit)
	for _, n := range numbers {
		if p, ok := rc.partCache.get(partRecordName(bucket, uploadID, n)); ok && describes(n, p) {
			mu.Lock()
			out[n] = p
			mu.Unlock()
			continue
		}
		g.Go(func() error {
			p, err := rc.part(gctx, bucket, uploadID, n)
			if errors.Is(err, errRecordNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			out[n] = p
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// partRecordNames returns the names of the numbered part records of an
// upload and forgets their cached copies.
func (rc *records) partRecordNames(bucket, uploadID string, numbers []int) []string {
	names := make([]string, len(numbers))
	for i, n := range numbers {
		names[i] = partRecordName(bucket, uploadID, n)
		rc.partCache.drop(names[i])
	}
	return names
}

func isHexETag(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == md5.Size
}

// partETagLabel separates client part ETags from the object key's other
// MACs.
const partETagLabel = "s3seal part etag\x00"

// clientPartETag is the ETag a client sees for a part whose plaintext has
// MD5 sum: for SSE-S3 the MD5 itself, as S3 answers; for SSE-KMS and SSE-C,
// as in S3, a value that reveals no MD5: a MAC of it under the upload's
// object key, so identical bytes get the same ETag within the upload.
func clientPartETag(meta *crypto.Metadata, key crypto.ObjectKey, sum []byte) string {
	if meta.Domain == crypto.DomainS3 {
		return hex.EncodeToString(sum)
	}
	mac := key.MAC(append([]byte(partETagLabel), sum...))
	return hex.EncodeToString(mac[:md5.Size])
}

// partDigests hashes a part's plaintext on its way to encryption: always
// MD5 (the client ETag), and the upload's checksum algorithm if the
// client did not send that checksum itself.
type partDigests struct {
	md5      hash.Hash
	checksum hash.Hash // nil: none to compute
	alg      *checksumAlgorithm
}

func newPartDigests(compute *checksumAlgorithm) *partDigests {
	d := &partDigests{md5: md5.New(), alg: compute}
	if compute != nil {
		d.checksum = compute.new()
	}
	return d
}

// reader returns body teed into the digests.
func (d *partDigests) reader(body io.Reader) io.Reader {
	if d.checksum == nil {
		return io.TeeReader(body, d.md5)
	}
	return io.TeeReader(body, io.MultiWriter(d.md5, d.checksum))
}
