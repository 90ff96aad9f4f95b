//go:build bench

package bench

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// trashDirs are the trash folders of the suite's MinIOs. MinIO moves what
// an overwrite or a delete replaces into .minio.sys/tmp/.trash and empties
// it first 5 minutes after it starts (with MINIO_API_DELETE_CLEANUP_INTERVAL
// set to 5s the trash still held 3.7 GB after 2.5 minutes: the first
// cleanup timer is armed at startup). The suite rewrites the same
// 64 MiB objects for minutes on drives in RAM (/dev/shm): by the scale
// section the trash of six MinIOs held most of the machine's memory, and
// the kernel's OOM killer ended the MinIO behind s3seal (dmesg: "Out of
// memory: Killed process … (minio)"), twice. emptyTrash removes it between
// timed runs, so the drives hold only live objects.
var (
	trashMu   sync.Mutex
	trashDirs []string
)

// watchTrash registers the trash folder of a MinIO whose drive is dataDir.
func watchTrash(t *testing.T, dataDir string) {
	dir := filepath.Join(dataDir, ".minio.sys", "tmp", ".trash")
	trashMu.Lock()
	trashDirs = append(trashDirs, dir)
	trashMu.Unlock()
	t.Cleanup(func() {
		trashMu.Lock()
		defer trashMu.Unlock()
		trashDirs = slices.DeleteFunc(trashDirs, func(d string) bool { return d == dir })
	})
}

// emptyTrash deletes what every registered MinIO has put in its trash:
// objects already deleted or overwritten, which no request can reach.
func emptyTrash(t testing.TB) {
	trashMu.Lock()
	defer trashMu.Unlock()
	for _, dir := range trashDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // not created yet, or the MinIO is gone
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Logf("empty MinIO trash: %v", err)
			}
		}
	}
}
