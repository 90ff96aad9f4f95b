//go:build bench

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
)

const (
	largeSize    = 64 << 20
	largeStreams = 4 // the concurrent case
	// copyBufferSize is the client's read size on GET. io.Discard would
	// read 8 KiB at a time, and each minio.Object Read is a round trip to
	// the object's goroutine.
	copyBufferSize = 1 << 20
)

// Targets of the transfer time ratio (through s3seal / direct).
const (
	largePutTarget = 1.15
	largeGetTarget = 1.35
)

// largeOp is one kind of 64 MiB transfer.
type largeOp struct {
	put     bool
	streams int // clients, each moving its own object at the same time
}

func (op largeOp) String() string {
	verb := "GET"
	if op.put {
		verb = "PUT"
	}
	if op.streams == 1 {
		return verb + " 64 MiB, 1 stream"
	}
	return fmt.Sprintf("%s 64 MiB, %d concurrent", verb, op.streams)
}

func (op largeOp) targetRatio() float64 {
	if op.put {
		return largePutTarget
	}
	return largeGetTarget
}

// discard is io.Discard without ReadFrom, so io.CopyBuffer reads with the
// buffer it is given.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// largeTransfers moves 64 MiB objects with minio-go, one object per client:
// PUT as a single request (DisableMultipart, so it is one stream, not
// minio-go's 16 MiB multipart default), GET read whole and discarded.
type largeTransfers struct {
	payload []byte
	clients map[string][]*minio.Client // by target label
	buffers [][]byte
}

func (lt *largeTransfers) run(ctx context.Context, tg target, op largeOp) error {
	clients := lt.clients[tg.label()]
	errs := make([]error, op.streams)
	var wg sync.WaitGroup
	for i := range op.streams {
		wg.Go(func() {
			object := fmt.Sprintf("large/%d-of-%d", i, op.streams)
			if op.put {
				_, err := clients[i].PutObject(ctx, tg.bucket, object, bytes.NewReader(lt.payload), largeSize,
					minio.PutObjectOptions{DisableMultipart: true})
				if err != nil {
					errs[i] = fmt.Errorf("%s: PUT %s/%s: %w", tg.label(), tg.bucket, object, err)
				}
				return
			}
			errs[i] = getInto(ctx, clients[i], tg, object, discard{}, lt.buffers[i], largeSize)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// measureLargeObjects times 64 MiB PUT and GET, one stream and
// largeStreams at once, directly and through both gateway buckets. Each
// round runs every operation on every target before the next operation, so
// the runs compared with each other are seconds apart.
func measureLargeObjects(t *testing.T, s *servers, rep *report) {
	ctx := t.Context()
	targets := []target{s.direct, s.kms, s.s3}
	lt := &largeTransfers{
		payload: pseudoRandomBytes(64, largeSize),
		clients: map[string][]*minio.Client{},
	}
	for range largeStreams {
		lt.buffers = append(lt.buffers, make([]byte, copyBufferSize))
	}
	for _, tg := range targets {
		lt.clients[tg.label()] = tg.clients(t, largeStreams)
	}
	ops := []largeOp{{put: true, streams: 1}, {put: false, streams: 1}, {put: true, streams: largeStreams}, {put: false, streams: largeStreams}}

	// One untimed round opens connections and fills the gateway's key and
	// bucket-configuration caches.
	for _, tg := range targets {
		for _, op := range ops {
			if err := lt.run(ctx, tg, op); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
		}
	}
	checkEncryption(t, s, "large/0-of-1")

	results := make([][]*series, len(ops)) // [op][target]
	for i := range results {
		results[i] = make([]*series, len(targets))
		for j := range results[i] {
			results[i][j] = &series{}
		}
	}
	for round := range *rounds {
		for i, op := range ops {
			for _, j := range order(round, len(targets)) {
				r, err := s.procs.timed(func() error { return lt.run(ctx, targets[j], op) })
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				results[i][j].add(r)
			}
		}
		t.Logf("round %d of %d done", round+1, *rounds)
	}

	sec := section{
		number: 1,
		title:  "64 MiB objects: PUT and GET throughput",
		text: []string{
			fmt.Sprintf("minio-go v7 clients, one per stream, each with its own connection pool. PUT is one request per object "+
				"(`DisableMultipart`, streaming SigV4 as minio-go sends over http) from a 64 MiB in-memory buffer; GET reads the whole "+
				"object through a 1 MiB buffer and discards it. \"%d concurrent\" is %d clients each moving its own object at once; "+
				"MB/s counts all of them (10⁶ bytes/s of plaintext). One untimed warm-up round, then %d timed rounds.",
				largeStreams, largeStreams, *rounds),
		},
	}
	comparisons := table{header: comparisonHeader}
	cpu := table{header: cpuHeader}
	for i, op := range ops {
		cpu.rows = append(cpu.rows, cpuRow(op.String(), "direct", results[i][0]))
		for j := 1; j < len(targets); j++ {
			c := comparison{
				op: op.String(), sse: targets[j].sse,
				work: float64(op.streams * largeSize), unit: "MB/s", scale: 1e6,
				direct: results[i][0], gateway: results[i][j], target: op.targetRatio(),
			}
			comparisons.rows = append(comparisons.rows, c.row())
			cpu.rows = append(cpu.rows, cpuRow(op.String(), targets[j].label(), results[i][j]))
			rep.addComparison(1, fmt.Sprintf("%s (%s)", op, targets[j].sse), c)
		}
	}
	sec.tables = append(sec.tables, comparisons)
	sec.notes = append(sec.notes, "Where the time goes: the CPU time of an average run per process (/proc/<pid>/stat, 10 ms "+
		"resolution); the share of both cores the client, s3seal and MinIO used together; and the share any process used "+
		"(/proc/stat). When the whole machine is near 100%, the run was bound by CPU that the three processes share with each "+
		"other and with every other job on the machine, and the time ratio approaches the ratio of total CPU spent.")
	sec.tables = append(sec.tables, cpu)
	sec.notes = append(sec.notes, "Profiled while this suite was written (`perf record` of the gateway process during this "+
		"section): the gateway's CPU went to SHA-256 of the client's streaming-signature chunks (about 22%), AES-GCM "+
		"(about 18%, encrypt and decrypt), kernel socket copies (about 14%) and memmove (about 5%). Direct, MinIO does the "+
		"SHA-256 itself; through s3seal it receives UNSIGNED-PAYLOAD and skips it, which is why PUT costs little CPU overall "+
		"while GET, where nothing is saved on MinIO's side, pays for decryption and a second hop in full.")
	rep.sections = append(rep.sections, sec)
}

// checkEncryption fails the test unless object, written through the
// gateway into each bucket, reports the bucket's default encryption.
func checkEncryption(t *testing.T, s *servers, object string) {
	t.Helper()
	for _, c := range []struct {
		tg   target
		want string
	}{{s.kms, "aws:kms"}, {s.s3, "AES256"}} {
		info, err := c.tg.client(t).StatObject(t.Context(), c.tg.bucket, object, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("%s: HEAD %s/%s: %v", c.tg.label(), c.tg.bucket, object, err)
		}
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != c.want {
			t.Fatalf("%s: HEAD %s/%s: X-Amz-Server-Side-Encryption = %q, want %q", c.tg.label(), c.tg.bucket, object, got, c.want)
		}
	}
}
