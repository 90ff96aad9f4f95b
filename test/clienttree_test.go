package test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/crypto"
	"github.com/s3seal/s3seal/test/harness"
)

// The directory tree the sync tools carry to the gateway and back, and the
// checks that it arrived whole and was stored sealed.

// clientsTree is the directory tree the sync tools (mc mirror, aws s3 sync,
// rclone copy) carry to the gateway and back: nested directories, empty
// files, the 64 KiB DARE package boundary, one file above the 8 MiB
// multipart threshold of the AWS tools and one above mc's 16 MiB.
var clientsTree = []treeFile{
	{"empty", 0},
	{"one-byte", 1},
	{"docs/readme.txt", 1000},
	{"docs/a/page-64k-minus-1", 64<<10 - 1},
	{"docs/a/page-64k", 64 << 10},
	{"docs/a/page-64k-plus-1", 64<<10 + 1},
	{"docs/a/b/c/deep.bin", 4097},
	{"img/photo-1.jpg", 300_000},
	{"img/photo-2.jpg", mib + 17},
	{"img/raw/photo-3.raw", 3*mib + 1},
	{"img/raw/photo-4.raw", 5 * mib},
	{"img/raw/photo-5.raw", 5*mib + 1},
	{"video/clip.mp4", 17*mib + 5},
	{"video/thumbs/t1.png", 12345},
	{"video/thumbs/t2.png", 54321},
	{"logs/2026/01/app.log", 777},
	{"logs/2026/02/app.log", 128 << 10},
	{"logs/2026/02/empty.log", 0},
	{"data/x/y/z/sparse.dat", 9*mib + 1},
	{"data/name with spaces.bin", 2048},
	{"data/ünïcödé.txt", 333},
}

// treeFile is a file of a tree the sync tools carry: its slash-separated
// path and its size.
type treeFile struct {
	path string
	size int64
}

// clientsWriteTree writes clientsTree under a new directory (writeTree).
func clientsWriteTree(t *testing.T) string {
	t.Helper()
	return writeTree(t, clientsTree)
}

// writeTree writes files under a new directory and dates every file and
// directory an hour back, so that the sync tools' "source newer than the
// object" rule cannot fire and only sizes decide.
func writeTree(t testing.TB, files []treeFile) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	for _, f := range files {
		path := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		clientsWriteFile(t, path, "tree/"+f.path, f.size)
	}
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, old, old)
	})
	if err != nil {
		t.Fatalf("date the tree back: %v", err)
	}
	return root
}

func clientsTreeSizes() map[string]int64 {
	sizes := map[string]int64{}
	for _, f := range clientsTree {
		sizes[f.path] = f.size
	}
	return sizes
}

func clientsTreeSize() int64 {
	var n int64
	for _, f := range clientsTree {
		n += f.size
	}
	return n
}

// clientsWriteFile writes size bytes to path and returns their hex SHA-256.
// The bytes come from ChaCha8 seeded with name: fast, incompressible, the
// same in every run and different for every name, so a plaintext run found
// on the backend points at one file.
func clientsWriteFile(t testing.TB, path, name string, size int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := mrand.NewChaCha8(sha256.Sum256([]byte(name)))
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rng, size)); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// clientsFileSum returns the size and hex SHA-256 of a file, streaming it.
func clientsFileSum(t testing.TB, path string) (int64, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

func clientsAssertFileSum(t testing.TB, path string, size int64, sum string) {
	t.Helper()
	n, got := clientsFileSum(t, path)
	if n != size || got != sum {
		t.Errorf("%s: got %d bytes, sha256 %s; want %d bytes, sha256 %s", filepath.Base(path), n, got, size, sum)
	}
}

// clientsObjectSum streams bucket/key from c and returns its hex SHA-256 and
// length.
func clientsObjectSum(t testing.TB, c *minio.Client, bucket, key string) (string, int64) {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// clientsTreeSums maps every file under root (slash-separated, relative) to
// its size and SHA-256.
func clientsTreeSums(t testing.TB, root string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		n, sum := clientsFileSum(t, path)
		sums[filepath.ToSlash(rel)] = fmt.Sprintf("%d bytes, sha256 %s", n, sum)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return sums
}

// clientsAssertSameTree fails unless got holds exactly want's files with
// the same content.
func clientsAssertSameTree(t testing.TB, got, want string) {
	t.Helper()
	g, w := clientsTreeSums(t, got), clientsTreeSums(t, want)
	for path, ws := range w {
		if gs, ok := g[path]; !ok {
			t.Errorf("downloaded tree lacks %s, want %s", path, ws)
		} else if gs != ws {
			t.Errorf("downloaded %s: got %s, want %s", path, gs, ws)
		}
	}
	for path, gs := range g {
		if _, ok := w[path]; !ok {
			t.Errorf("downloaded tree has %s (%s), want no such file", path, gs)
		}
	}
}

// clientsAssertListed lists bucket through the gateway and compares the
// sizes with want; exact requires no other objects.
func clientsAssertListed(t testing.TB, c *minio.Client, bucket string, want map[string]int64, exact bool) {
	t.Helper()
	got := map[string]int64{}
	for obj := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", bucket, obj.Err)
		}
		if _, ok := want[obj.Key]; ok || exact {
			got[obj.Key] = obj.Size
		}
	}
	clientsAssertSizes(t, "ListObjectsV2 "+bucket, got, want)
}

func clientsAssertSizes(t testing.TB, what string, got, want map[string]int64) {
	t.Helper()
	for key, size := range want {
		if n, ok := got[key]; !ok {
			t.Errorf("%s does not list %s, want it with size %d", what, key, size)
		} else if n != size {
			t.Errorf("%s size of %s = %d, want %d", what, key, n, size)
		}
	}
	for key, n := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("%s lists %s (%d bytes), want no such object", what, key, n)
		}
	}
}

// clientsAssertTreeSealed checks every object of the tree on the backend.
func clientsAssertTreeSealed(t *testing.T, s *stack, bucket, tree string) {
	t.Helper()
	for _, f := range clientsTree {
		clientsAssertSealed(t, s, bucket, f.path, filepath.Join(tree, filepath.FromSlash(f.path)))
	}
}

// clientsAssertSealed reads bucket/key straight from the backend and fails
// unless it is s3seal ciphertext of the file at plaintextPath.
func clientsAssertSealed(t testing.TB, s *stack, bucket, key, plaintextPath string) {
	t.Helper()
	plaintext, err := os.ReadFile(plaintextPath)
	if err != nil {
		t.Fatal(err)
	}
	clientsAssertStored(t, s, bucket, key, s.backendObject(t, bucket, key), plaintext)
}

// clientsAssertStored fails unless stored, the backend's bytes of
// bucket/key, is larger than plaintext, carries s3seal's version metadata
// and (for plaintexts of 64 bytes or more) holds no 32-byte plaintext run.
// Empty plaintexts are stored as empty streams.
func clientsAssertStored(t testing.TB, s *stack, bucket, key string, stored, plaintext []byte) {
	t.Helper()
	name := bucket + "/" + key
	info, err := s.direct.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("backend StatObject %s: %v", name, err)
	}
	if v := info.Metadata.Get(crypto.MetadataPrefix + "Version"); v == "" {
		t.Errorf("backend %s has no %sVersion metadata, want s3seal's", name, crypto.MetadataPrefix)
	}
	if len(plaintext) == 0 {
		// An empty plaintext is an empty DARE stream (crypto/doc.go): the
		// metadata alone makes the object s3seal's.
		if len(stored) != 0 {
			t.Errorf("backend %s holds %d bytes for an empty plaintext, want 0 (an empty DARE stream)", name, len(stored))
		}
		return
	}
	if len(stored) <= len(plaintext) {
		t.Errorf("backend %s holds %d bytes for %d bytes of plaintext, want more (ciphertext carries overhead)", name, len(stored), len(plaintext))
	}
	if len(plaintext) < 64 {
		return
	}
	if so, po, found := harness.FindPlaintextRun(stored, plaintext); found {
		t.Errorf("backend %s: bytes at offset %d equal plaintext bytes at offset %d (%d-byte run): data stored in the clear", name, so, po, harness.PlaintextRunLen)
	}
}

// clientsETagParts returns N of a multipart ETag "…-N", 0 for others.
func clientsETagParts(etag string) int {
	_, parts, ok := strings.Cut(strings.Trim(etag, `"`), "-")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(parts)
	return n
}
