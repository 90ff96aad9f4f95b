package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/s3seal/s3seal/test/harness"
)

// Faults between s3seal and what it depends on: the backend connection cut
// in the middle of a body, the KMS gone during a multipart upload, the
// gateway itself SIGKILLed mid-upload. In every case the client must get
// an error rather than a success, no partial or corrupt object may become
// visible (reads, HEAD and listings show the old complete object or
// nothing), later requests must work, and the gateway's goroutines and open
// file descriptors must return to what they were before the fault.

const (
	// faultRounds repeats each fault, so a leak of one goroutine or
	// descriptor per failed request outgrows the slack below.
	faultRounds = 3
	// goroutineSlack and fdSlack absorb what a healthy gateway may hold
	// beyond its baseline: an extra idle keep-alive connection to the
	// backend (one fd, two goroutines) or a scrape in progress.
	goroutineSlack = 4
	fdSlack        = 2
	settleTimeout  = time.Minute
)

// faultClient is an aws-sdk-go-v2 client that makes one attempt per call
// (the gateway's answer, not the SDK's retries) over a transport the test
// can empty, so the gateway's figures are not inflated by the test's own
// idle connections. Every response still goes through the harness's leak
// invariant.
type faultClient struct {
	*s3.Client
	transport *http.Transport
}

func newFaultClient(t *testing.T, gw *harness.Gateway) *faultClient {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := gw.S3(t, func(o *s3.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = &http.Client{Transport: harness.CheckedTransport(t, gw.SystemBucket(), tr)}
	})
	return &faultClient{Client: c, transport: tr}
}

// settled waits until the gateway's goroutines and fds are back near base.
func (c *faultClient) settled(t *testing.T, gw *harness.Gateway, base harness.ProcessStats) {
	t.Helper()
	c.transport.CloseIdleConnections()
	got := gw.WaitStatsNear(t, base, goroutineSlack, fdSlack, settleTimeout)
	t.Logf("gateway after the faults: %v (baseline %v)", got, base)
}

// baseline empties the client's connections and takes the gateway's
// figures once they are steady: two scrapes in a row that agree.
func (c *faultClient) baseline(t *testing.T, gw *harness.Gateway) harness.ProcessStats {
	t.Helper()
	c.transport.CloseIdleConnections()
	deadline := time.Now().Add(settleTimeout)
	prev := gw.Stats(t)
	for {
		cur := gw.Stats(t)
		if cur.Goroutines == prev.Goroutines && cur.OpenFDs == prev.OpenFDs {
			return cur
		}
		if time.Now().After(deadline) {
			return cur
		}
		prev = cur
	}
}

func (c *faultClient) put(ctx context.Context, bucket, key string, data []byte) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	return err
}

// get reads bucket/key to the end and returns what arrived and the first
// error, from the request or from the body.
func (c *faultClient) get(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (c *faultClient) mustPut(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	if err := c.put(t.Context(), bucket, key, data); err != nil {
		t.Fatalf("PUT %s/%s: %v", bucket, key, err)
	}
}

// assertVisible checks what clients of the gateway see of bucket/key: with
// want nil, nothing (GET NoSuchKey, HEAD 404, not listed); otherwise
// exactly want, whole, in GET, HEAD and the listing.
func (c *faultClient) assertVisible(t *testing.T, bucket, key string, want []byte) {
	t.Helper()
	ctx := t.Context()
	got, getErr := c.get(ctx, bucket, key)
	head, headErr := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("LIST %s prefix %s: %v", bucket, key, err)
	}
	listed := map[string]int64{}
	for _, o := range list.Contents {
		listed[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
	}
	size, isListed := listed[key]
	if want == nil {
		if code := apiErrorCode(getErr); code != "NoSuchKey" {
			t.Errorf("GET %s/%s: %d bytes, err %v, want NoSuchKey", bucket, key, len(got), getErr)
		}
		if status := faultStatus(headErr); status != http.StatusNotFound {
			t.Errorf("HEAD %s/%s: status %d (%v), want 404", bucket, key, status, headErr)
		}
		if isListed {
			t.Errorf("LIST %s lists %s (%d bytes), want it absent", bucket, key, size)
		}
		return
	}
	if getErr != nil {
		t.Errorf("GET %s/%s: %v", bucket, key, getErr)
	} else {
		assertSameBytes(t, "GET "+bucket+"/"+key, got, want)
	}
	if headErr != nil {
		t.Errorf("HEAD %s/%s: %v", bucket, key, headErr)
	} else if n := aws.ToInt64(head.ContentLength); n != int64(len(want)) {
		t.Errorf("HEAD %s/%s Content-Length = %d, want %d", bucket, key, n, len(want))
	}
	if !isListed || size != int64(len(want)) {
		t.Errorf("LIST %s: %s listed %v with %d bytes, want listed with %d", bucket, key, isListed, size, len(want))
	}
}

// wantFailed fails the test unless err is a failed call: a transport error
// or an answer of 500 or above. A 4xx would blame the client for the
// network's fault.
func wantFailed(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want an error", what)
		return
	}
	if status := faultStatus(err); status != 0 && status < 500 {
		t.Errorf("%s: status %d (%v), want a 5xx or a transport error", what, status, err)
		return
	}
	t.Logf("%s failed as it should: %v", what, err)
}

// faultStatus returns the HTTP status of an SDK error, 0 for a transport
// error.
func faultStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// faultUpload drives one multipart upload through c.
type faultUpload struct {
	c           *faultClient
	bucket, key string
	id          string
	etags       map[int32]string
}

func (c *faultClient) createMultipart(t *testing.T, bucket, key string, opts ...func(*s3.CreateMultipartUploadInput)) *faultUpload {
	t.Helper()
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, o := range opts {
		o(in)
	}
	out, err := c.CreateMultipartUpload(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateMultipartUpload %s/%s: %v", bucket, key, err)
	}
	return &faultUpload{c: c, bucket: bucket, key: key, id: aws.ToString(out.UploadId), etags: map[int32]string{}}
}

func (m *faultUpload) uploadPart(ctx context.Context, n int32, data []byte) error {
	out, err := m.c.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(m.bucket), Key: aws.String(m.key), UploadId: aws.String(m.id),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(data),
	})
	if err == nil {
		m.etags[n] = aws.ToString(out.ETag)
	}
	return err
}

func (m *faultUpload) mustUploadPart(t *testing.T, n int32, data []byte) {
	t.Helper()
	if err := m.uploadPart(t.Context(), n, data); err != nil {
		t.Fatalf("UploadPart %d of %s/%s: %v", n, m.bucket, m.key, err)
	}
}

func (m *faultUpload) complete(ctx context.Context, parts ...int32) error {
	var done []s3types.CompletedPart
	for _, n := range parts {
		done = append(done, s3types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(m.etags[n])})
	}
	_, err := m.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(m.bucket), Key: aws.String(m.key), UploadId: aws.String(m.id),
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: done},
	})
	return err
}

// startFaultyBackend starts MinIO behind a fault proxy and a gateway whose
// backend is the proxy.
func startFaultyBackend(t *testing.T, opts ...harness.GatewayOption) (*harness.MinIO, *harness.FaultProxy, *harness.Gateway) {
	t.Helper()
	backend := harness.StartMinIO(t)
	proxy := harness.StartFaultProxy(t, backend.Host())
	opts = append([]harness.GatewayOption{harness.WithGatewayEnv("S3SEAL_BACKEND_URL", proxy.Endpoint())}, opts...)
	return backend, proxy, harness.StartGateway(t, backend, opts...)
}

// assertNoPendingUploads fails if the backend holds an unfinished multipart
// upload in bucket.
func assertNoPendingUploads(t *testing.T, direct *minio.Client, bucket string) {
	t.Helper()
	for u := range direct.ListIncompleteUploads(t.Context(), bucket, "", true) {
		if u.Err != nil {
			t.Errorf("backend ListIncompleteUploads %s: %v", bucket, u.Err)
			return
		}
		t.Errorf("backend has a pending multipart upload %s of %s/%s, want none", u.UploadID, bucket, u.Key)
	}
}

// TestBackendConnectionCut cuts the gateway's connection to the backend in
// the middle of request and response bodies.
func TestBackendConnectionCut(t *testing.T) {
	t.Parallel()
	const bucket = "cut"
	backend, proxy, gw := startFaultyBackend(t)
	c := newFaultClient(t, gw)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	// Warm up every path the faults take, so the baseline holds the
	// gateway's steady state (pools, caches), not its first-request state.
	warm := harness.RandomBytes(t, 5<<20)
	c.mustPut(t, bucket, "warm-up", warm)
	c.assertVisible(t, bucket, "warm-up", warm)
	m := c.createMultipart(t, bucket, "warm-up-mp")
	m.mustUploadPart(t, 1, warm)
	if err := m.complete(ctx, 1); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	base := c.baseline(t, gw)
	t.Logf("gateway baseline: %v", base)

	t.Run("a PUT cut mid-body fails and the old object stays whole", func(t *testing.T) {
		old := harness.RandomBytes(t, 1<<20+5)
		c.mustPut(t, bucket, "put-target", old)
		for round := range faultRounds {
			cuts := proxy.Cuts()
			proxy.CutAfter(harness.Upstream, 1<<20)
			err := c.put(ctx, bucket, "put-target", harness.RandomBytes(t, 4<<20))
			if proxy.Cuts() == cuts {
				t.Fatalf("round %d: the proxy never cut (the PUT sent under 1 MiB to the backend?)", round)
			}
			wantFailed(t, fmt.Sprintf("round %d: PUT cut after 1 MiB", round), err)
			c.assertVisible(t, bucket, "put-target", old)
		}
		fresh := harness.RandomBytes(t, 3<<20+1)
		c.mustPut(t, bucket, "put-target", fresh)
		c.assertVisible(t, bucket, "put-target", fresh)
		c.settled(t, gw, base)
	})

	t.Run("a new object cut mid-PUT never appears", func(t *testing.T) {
		cuts := proxy.Cuts()
		proxy.CutAfter(harness.Upstream, 512<<10)
		wantFailed(t, "PUT of a new object cut after 512 KiB", c.put(ctx, bucket, "never-there", harness.RandomBytes(t, 2<<20)))
		if proxy.Cuts() == cuts {
			t.Fatalf("the proxy never cut")
		}
		c.assertVisible(t, bucket, "never-there", nil)
		c.settled(t, gw, base)
	})

	t.Run("a GET cut mid-body fails and never returns wrong bytes", func(t *testing.T) {
		data := harness.RandomBytes(t, 4<<20+3)
		c.mustPut(t, bucket, "get-target", data)
		for round := range faultRounds {
			cuts := proxy.Cuts()
			proxy.CutAfter(harness.Downstream, 1<<20)
			got, err := c.get(ctx, bucket, "get-target")
			if proxy.Cuts() == cuts {
				t.Fatalf("round %d: the proxy never cut", round)
			}
			wantFailed(t, fmt.Sprintf("round %d: GET cut after 1 MiB", round), err)
			if len(got) >= len(data) || !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("round %d: the failed GET delivered %d bytes (a prefix of the object: %v), want a strict prefix",
					round, len(got), len(got) <= len(data) && bytes.Equal(got, data[:len(got)]))
			}
			c.assertVisible(t, bucket, "get-target", data)
		}
		c.settled(t, gw, base)
	})

	t.Run("an UploadPart cut mid-body fails and the upload can go on", func(t *testing.T) {
		old := harness.RandomBytes(t, 100<<10)
		c.mustPut(t, bucket, "mp-target", old)
		m := c.createMultipart(t, bucket, "mp-target")
		part1, part2 := harness.RandomBytes(t, 5<<20), harness.RandomBytes(t, 3<<20+7)
		m.mustUploadPart(t, 1, part1)
		for round := range faultRounds {
			cuts := proxy.Cuts()
			proxy.CutAfter(harness.Upstream, 1<<20)
			err := m.uploadPart(ctx, 2, part2)
			if proxy.Cuts() == cuts {
				t.Fatalf("round %d: the proxy never cut", round)
			}
			wantFailed(t, fmt.Sprintf("round %d: UploadPart 2 cut after 1 MiB", round), err)
			c.assertVisible(t, bucket, "mp-target", old)
		}
		m.mustUploadPart(t, 2, part2)
		if err := m.complete(ctx, 1, 2); err != nil {
			t.Fatalf("CompleteMultipartUpload after the cuts: %v", err)
		}
		c.assertVisible(t, bucket, "mp-target", append(append([]byte(nil), part1...), part2...))
		c.settled(t, gw, base)
	})

	t.Run("the backend holds no unfinished upload", func(t *testing.T) {
		assertNoPendingUploads(t, backend.Client(t), bucket)
	})
}

// TestKMSOutageDuringMultipartUpload puts an external KES server behind a
// fault proxy and refuses every connection to it between two parts of a
// multipart upload. The part and the completion that need the KMS fail
// with 503; nothing new becomes visible; once the KMS answers again, the
// same upload continues and completes.
func TestKMSOutageDuringMultipartUpload(t *testing.T) {
	t.Parallel()
	const (
		bucket = "kms-outage"
		key    = "outage-key"
		object = "mp-object"
	)
	apiKey, identity := rootkmsNewAPIKey(t)
	kes := harness.StartKES(t, harness.KESConfig{Admin: identity})
	kmsProxy := harness.StartFaultProxy(t, strings.TrimPrefix(kes.Endpoint, "https://"))
	backend := harness.StartMinIO(t)
	config := rootkmsKESConfig(key, "https://"+kmsProxy.Addr, kes.CAFile)
	gw := rootkmsStartGateway(t, backend, config, "KES_API_KEY", apiKey)
	c := newFaultClient(t, gw)
	ctx := t.Context()
	sseKMS := func(in *s3.CreateMultipartUploadInput) {
		in.ServerSideEncryption = s3types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(key)
	}

	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	old := harness.RandomBytes(t, 300<<10+1)
	rootkmsPutKMS(t, c.Client, bucket, object, key, old)
	warm := c.createMultipart(t, bucket, "warm-up", sseKMS)
	warm.mustUploadPart(t, 1, old)
	if err := warm.complete(ctx, 1); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	c.assertVisible(t, bucket, object, old)
	base := c.baseline(t, gw)
	t.Logf("gateway baseline: %v", base)

	m := c.createMultipart(t, bucket, object, sseKMS)
	part1, part2 := harness.RandomBytes(t, 5<<20), harness.RandomBytes(t, 1<<20+9)
	m.mustUploadPart(t, 1, part1)

	kmsProxy.Refuse()

	t.Run("while the KMS is unreachable", func(t *testing.T) {
		for round := range faultRounds {
			rootkmsWantS3Error(t, fmt.Sprintf("round %d: UploadPart during the KMS outage", round),
				m.uploadPart(ctx, 2, part2), http.StatusServiceUnavailable, "KMS.KMSInternalException")
		}
		wantFailed(t, "CompleteMultipartUpload during the KMS outage", m.complete(ctx, 1))
		// Reads of the old object need the KMS too; what must hold is
		// that the backend has no new object.
		info, err := backend.Client(t).StatObject(ctx, bucket, object, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("backend StatObject: %v", err)
		}
		if info.Size >= int64(len(part1)) {
			t.Errorf("backend object %s/%s holds %d bytes during the outage, want the old object's ciphertext", bucket, object, info.Size)
		}
		c.settled(t, gw, base)
	})

	if err := kmsProxy.Restore(); err != nil {
		t.Fatal(err)
	}
	rootkmsWaitReadiness(t, gw.Endpoint, http.StatusOK, time.Minute)

	t.Run("after the KMS is back the old object is whole and the upload completes", func(t *testing.T) {
		c.assertVisible(t, bucket, object, old)
		m.mustUploadPart(t, 2, part2)
		if err := m.complete(ctx, 1, 2); err != nil {
			t.Fatalf("CompleteMultipartUpload after the outage: %v", err)
		}
		c.assertVisible(t, bucket, object, append(append([]byte(nil), part1...), part2...))
		assertNoPendingUploads(t, backend.Client(t), bucket)
		c.settled(t, gw, base)
	})
}

// TestGatewayKilledMidUpload SIGKILLs the gateway while a PUT body and
// then an UploadPart body are halfway to the backend (held there by a
// stalled proxy, so the kill lands mid-body every time), and restarts it on
// the same backend and key store each time.
func TestGatewayKilledMidUpload(t *testing.T) {
	t.Parallel()
	const bucket = "killed"
	backend, proxy, gw := startFaultyBackend(t)
	c := newFaultClient(t, gw)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	old := harness.RandomBytes(t, 1<<20+11)
	c.mustPut(t, bucket, "put-target", old)
	c.assertVisible(t, bucket, "put-target", old)
	base := c.baseline(t, gw)
	t.Logf("gateway baseline: %v", base)

	// killMidBody starts call, lets 512 KiB of it reach the backend, kills
	// the gateway while the rest is held, and returns the call's error.
	killMidBody := func(t *testing.T, gw *harness.Gateway, call func(context.Context) error) error {
		t.Helper()
		proxy.StallAfter(harness.Upstream, 512<<10)
		errc := make(chan error, 1)
		go func() { errc <- call(ctx) }()
		proxy.WaitStalled(t, time.Minute)
		gw.Kill(t)
		err := <-errc
		if err := proxy.Restore(); err != nil {
			t.Fatal(err)
		}
		return err
	}

	// Restarts happen here, not in subtests: a gateway started in a
	// subtest would be stopped when that subtest ends.
	putErr := killMidBody(t, gw, func(ctx context.Context) error {
		return c.put(ctx, bucket, "put-target", harness.RandomBytes(t, 4<<20))
	})
	gw = gw.Restart(t)
	c = newFaultClient(t, gw)

	t.Run("a PUT killed mid-body fails and the old object stays whole after a restart", func(t *testing.T) {
		wantFailed(t, "PUT while the gateway is killed", putErr)
		c.assertVisible(t, bucket, "put-target", old)
		fresh := harness.RandomBytes(t, 2<<20+1)
		c.mustPut(t, bucket, "put-target", fresh)
		c.assertVisible(t, bucket, "put-target", fresh)
		old = fresh
	})

	m := c.createMultipart(t, bucket, "mp-target")
	part1, part2 := harness.RandomBytes(t, 5<<20), harness.RandomBytes(t, 2<<20+3)
	m.mustUploadPart(t, 1, part1)
	partErr := killMidBody(t, gw, func(ctx context.Context) error { return m.uploadPart(ctx, 2, part2) })
	gw = gw.Restart(t)
	c = newFaultClient(t, gw)
	m.c = c

	t.Run("an UploadPart killed mid-body fails and the upload goes on after a restart", func(t *testing.T) {
		wantFailed(t, "UploadPart while the gateway is killed", partErr)
		c.assertVisible(t, bucket, "mp-target", nil)
		c.assertVisible(t, bucket, "put-target", old)
		m.mustUploadPart(t, 2, part2)
		if err := m.complete(ctx, 1, 2); err != nil {
			t.Fatalf("CompleteMultipartUpload after the restart: %v", err)
		}
		c.assertVisible(t, bucket, "mp-target", append(append([]byte(nil), part1...), part2...))
		assertNoPendingUploads(t, backend.Client(t), bucket)
	})

	t.Run("the restarted gateway's goroutines and fds match the first one's", func(t *testing.T) {
		c.settled(t, gw, base)
	})
}
