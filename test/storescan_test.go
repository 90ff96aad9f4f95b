package test

// The scans of a backend's own files for plaintext that TestObjectAPI's
// "every object on the backend is ciphertext" runs, per storage layout.

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

// objectAPIScanObjectFiles scans the files of each object (MinIO, versitygw)
// for runs of its plaintext and for digests of it.
func objectAPIScanObjectFiles(t *testing.T, b harness.Backend, encrypted, plain map[string][]byte) {
	plainSeen, digestsSeen := 0, 0 // in the plaintext bucket: the scans can fail
	for name, p := range plain {
		bucket, key, _ := strings.Cut(name, "/")
		run, digests := objectAPIOnDisk(t, b, bucket, key, p)
		plainSeen += min(run, 1)
		digestsSeen += len(digests)
	}
	for name, p := range encrypted {
		bucket, key, _ := strings.Cut(name, "/")
		run, digests := objectAPIOnDisk(t, b, bucket, key, p)
		if run > 0 {
			t.Errorf("%s: plaintext in %s's files under %s", name, b.Name(), b.StorageDir())
		}
		for _, d := range digests {
			t.Errorf("%s: %s", name, d)
		}
	}
	if plainSeen == 0 {
		t.Errorf("no object of the plaintext bucket was found in the clear in %s: the on-disk scan proves nothing", b.StorageDir())
	}
	if digestsSeen == 0 {
		t.Errorf("no digest of an object of the plaintext bucket was found in %s: the digest scan proves nothing", b.StorageDir())
	}
}

// objectAPIScanVolumes scans every file under the store's directory
// (SeaweedFS: the volume files holding every object, the filer's store
// with their metadata) and their extended attributes once, for a run of
// any encrypted object's plaintext and for any digest of one. The objects
// of the plaintext bucket must be found, or the scan proves nothing.
func objectAPIScanVolumes(t *testing.T, b harness.Backend, encrypted, plain map[string][]byte) {
	type object struct {
		name      string
		start     int // offset in the joined plaintexts
		encrypted bool
	}
	var joined []byte
	var objects []object
	digests := map[string]string{} // digest → what it is of
	for _, set := range []struct {
		m         map[string][]byte
		encrypted bool
	}{{encrypted, true}, {plain, false}} {
		for name, p := range set.m {
			objects = append(objects, object{name, len(joined), set.encrypted})
			joined = append(joined, p...)
			for kind, d := range plaintextDigests(p) {
				digests[d] = fmt.Sprintf("the %s of %s", kind, name)
			}
		}
	}
	owner := func(off int) object {
		i, _ := slices.BinarySearchFunc(objects, off, func(o object, off int) int { return cmp.Compare(o.start, off+1) })
		return objects[i-1]
	}
	index := harness.NewPlaintextIndex(joined)
	seenPlain, seenDigests, files := 0, 0, 0
	check := func(where string, data []byte) {
		// Every run of a plaintext in data, not only the first: a hit on
		// the plaintext bucket must not hide one on an encrypted object.
		// After a hit the scan goes on past the whole matching stretch.
		for rest, base := data, 0; len(rest) > 0; {
			so, po, found := index.Find(rest)
			if !found {
				break
			}
			if obj := owner(po); obj.encrypted {
				t.Errorf("%s: a run of the plaintext of %s at offset %d", where, obj.name, base+so)
			} else {
				seenPlain++
			}
			n := harness.PlaintextRunLen
			for so+n < len(rest) && po+n < len(joined) && rest[so+n] == joined[po+n] {
				n++
			}
			base += so + n
			rest = rest[so+n:]
		}
		for _, what := range findDigests(data, digests) {
			if strings.Contains(what, "plain-objectapi/") {
				seenDigests++
				continue
			}
			t.Errorf("%s holds %s", where, what)
		}
	}
	err := filepath.WalkDir(b.StorageDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		check(path, data)
		for attr, value := range harness.Xattrs(t, path) {
			check(path+" (extended attribute "+attr+")", value)
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("scan %s: %d files (%v)", b.StorageDir(), files, err)
	}
	t.Logf("scanned %d files of %s under %s", files, b.Name(), b.StorageDir())
	if seenPlain == 0 {
		t.Errorf("no object of the plaintext bucket was found in the clear in %s: the scan proves nothing", b.StorageDir())
	}
	if seenDigests == 0 {
		t.Errorf("no digest of an object of the plaintext bucket was found in %s: the digest scan proves nothing", b.StorageDir())
	}
}

// findDigests returns what each digest of digests found in data is of.
// One pass: every digest is at least 8 bytes, so each position of data is
// looked up by its next 8 bytes.
func findDigests(data []byte, digests map[string]string) []string {
	byPrefix := map[uint64][]string{}
	for d := range digests {
		k := binary.LittleEndian.Uint64([]byte(d[:8]))
		byPrefix[k] = append(byPrefix[k], d)
	}
	var found []string
	for i := 0; i+8 <= len(data); i++ {
		for _, d := range byPrefix[binary.LittleEndian.Uint64(data[i:])] {
			if bytes.HasPrefix(data[i:], []byte(d)) {
				found = append(found, digests[d])
			}
		}
	}
	return found
}

// objectAPIOnDisk scans the files the backend keeps for bucket/key
// (versitygw: the file StorageDir/bucket/key; MinIO: the files in that
// directory) and their extended attributes (where versitygw keeps
// metadata). It returns how many files hold a run of plain, and where a
// digest or checksum of plain was found. It fails the test when there is no
// such file: the scan must look at the object's bytes.
func objectAPIOnDisk(t *testing.T, b harness.Backend, bucket, key string, plain []byte) (runs int, digestsFound []string) {
	t.Helper()
	root := filepath.Join(b.StorageDir(), bucket, filepath.FromSlash(key))
	digests := plaintextDigests(plain)
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if _, _, hit := harness.FindPlaintextRun(data, plain); hit {
			runs++
		}
		attrs := harness.Xattrs(t, path)
		for name, digest := range digests {
			if bytes.Contains(data, []byte(digest)) {
				digestsFound = append(digestsFound, fmt.Sprintf("the %s of the plaintext is in %s", name, path))
			}
			for attr, value := range attrs {
				if bytes.Contains(value, []byte(digest)) {
					digestsFound = append(digestsFound, fmt.Sprintf("the %s of the plaintext is in the extended attribute %s of %s", name, attr, path))
				}
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Errorf("%s/%s: no file under %s (%v)", bucket, key, root, err)
	}
	return runs, digestsFound
}

// plaintextDigests returns the digests and checksums of plain a backend
// could hold if one leaked, in the encodings S3 uses (hex, base64) and the
// raw bytes of the MD5 and SHA-256 (SeaweedFS's filer keeps an MD5 raw).
func plaintextDigests(plain []byte) map[string]string {
	md := md5.Sum(plain)
	sha := sha256.Sum256(plain)
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	b64 := base64.StdEncoding.EncodeToString
	return map[string]string{
		"MD5 (raw)":        string(md[:]),
		"MD5 (hex)":        hex.EncodeToString(md[:]),
		"MD5 (base64)":     b64(md[:]),
		"SHA-256 (raw)":    string(sha[:]),
		"SHA-256 (hex)":    hex.EncodeToString(sha[:]),
		"SHA-256 (base64)": b64(sha[:]),
		"CRC32":            b64(be32(crc32.ChecksumIEEE(plain))),
		"CRC32C":           b64(be32(crc32.Checksum(plain, crc32.MakeTable(crc32.Castagnoli)))),
		"CRC64NVME":        b64(binary.BigEndian.AppendUint64(nil, crc64.Checksum(plain, crc64.MakeTable(0x9a6c9329ac4bc9b5)))),
	}
}
