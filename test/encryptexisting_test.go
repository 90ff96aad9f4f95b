package test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/sse"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/s3seal/s3seal/test/harness"
)

// plaintextObject is an object put straight into the backend, as before
// s3seal.
type plaintextObject struct {
	data        []byte
	contentType string
	meta        map[string]string
	tags        map[string]string
}

// TestEncryptExisting adopts a bucket that holds plaintext written
// straight into MinIO (sizes from 0 to 80 MiB, plain and multipart
// uploads): `s3seal encrypt-existing` through a gateway that
// lists the bucket for legacy plaintext reads. A dry run changes nothing;
// --max stops early; a run during which a legacy writer overwrites an
// object on the backend does not clobber that write; a rerun resumes and
// finishes. At the end every object is s3seal ciphertext on the backend,
// reads back byte for byte through the gateway with its content type, user
// metadata and tags, under the bucket's default key.
func TestEncryptExisting(t *testing.T) {
	backend := harness.StartMinIO(t)
	proxy := harness.StartFaultProxy(t, backend.Host())
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayEnv("S3SEAL_BACKEND_URL", proxy.Endpoint()),
		harness.WithGatewayEnv("S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS", "legacy"))
	gw.CreateKMSKey(t, "adopt-key")
	ctx := t.Context()
	c, direct := gw.Client(t), backend.Client(t)
	const bucket = "legacy"
	if err := direct.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBucketEncryption(ctx, bucket, sse.NewConfigurationSSEKMS("adopt-key")); err != nil {
		t.Fatal(err)
	}

	objects := map[string]*plaintextObject{
		"a-empty":               {data: nil},
		"b-one":                 {data: []byte("x"), contentType: "text/plain", meta: map[string]string{"Owner": "alice"}},
		"c-big-20mib":           {data: harness.RandomBytes(t, 20<<20+5), contentType: "application/x-tar"},
		"d/70k":                 {data: harness.RandomBytes(t, 70_000), tags: map[string]string{"project": "apollo", "tier": "gold"}},
		"d/multipart-17mib":     {data: harness.RandomBytes(t, 17<<20+1), contentType: "video/mp4", meta: map[string]string{"Camera": "front"}},
		"e-exactly-64k":         {data: harness.RandomBytes(t, 65_536), meta: map[string]string{"Checksum-Note": "plain"}},
		"f-dare-sized-1MiB+32k": {data: harness.RandomBytes(t, 1<<20+32<<10)},
		// Two parts of the rewrite, and more than socket buffers hold.
		"h-80mib":             {data: harness.RandomBytes(t, 80<<20+3), contentType: "application/zip", meta: map[string]string{"Big": "yes"}},
		"i/späce & plus+.bin": {data: []byte("a name that needs escaping"), tags: map[string]string{"k": "v"}},
	}
	for name, o := range objects {
		opts := minio.PutObjectOptions{ContentType: o.contentType, UserMetadata: o.meta, UserTags: o.tags, PartSize: 5 << 20}
		if _, err := direct.PutObject(ctx, bucket, name, bytes.NewReader(o.data), int64(len(o.data)), opts); err != nil {
			t.Fatal(err)
		}
	}
	// One object written through s3seal already.
	sealedData := harness.RandomBytes(t, 1234)
	if _, err := c.PutObject(ctx, bucket, "g-sealed", bytes.NewReader(sealedData), int64(len(sealedData)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
	args := []string{"encrypt-existing", "--endpoint", gw.Endpoint, "--bucket", bucket}
	run := func(extra ...string) (int, string) {
		r := harness.Run(t, harness.GatewayBinary(t), append(args, extra...), env, "")
		return r.ExitCode, string(r.Stdout) + r.Stderr
	}
	backendETags := func() map[string]string {
		out := map[string]string{}
		for o := range direct.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out[o.Key] = o.ETag
		}
		return out
	}

	t.Run("without the legacy read setting the command stops and says why", func(t *testing.T) {
		strict := gw.Restart(t, harness.WithGatewayEnv("S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS", ""))
		before := backendETags()
		r := harness.Run(t, harness.GatewayBinary(t), []string{"encrypt-existing", "--endpoint", strict.Endpoint, "--bucket", bucket}, env, "")
		if out := string(r.Stdout) + r.Stderr; r.ExitCode != 1 || !strings.Contains(out, "list the bucket in S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS") {
			t.Errorf("encrypt-existing through a gateway without the setting: %d\n%s", r.ExitCode, out)
		}
		if after := backendETags(); !equalMaps(before, after) {
			t.Errorf("the refused run changed the backend")
		}
		strict.Stop(t)
	})
	t.Run("a dry run changes nothing", func(t *testing.T) {
		before := backendETags()
		code, out := run("--dry-run")
		if code != 0 || !strings.Contains(out, "would encrypt 9 (") || !strings.Contains(out, "already encrypted 1") || !strings.Contains(out, "with SSE-KMS (adopt-key)") {
			t.Fatalf("dry run: %d\n%s", code, out)
		}
		if after := backendETags(); !equalMaps(before, after) {
			t.Errorf("the dry run changed the backend: %v → %v", before, after)
		}
	})
	t.Run("--max stops early", func(t *testing.T) {
		code, out := run("--max", "2")
		if code != 0 || !strings.Contains(out, "encrypted 2 (") || !strings.Contains(out, "stopped after 2 objects") {
			t.Fatalf("--max 2: %d\n%s", code, out)
		}
	})
	t.Run("a legacy writer's overwrite during the run is not clobbered", func(t *testing.T) {
		// Stall the gateway's backend traffic inside the PUT of the 20 MiB
		// object's ciphertext, overwrite the object on the backend
		// meanwhile, and let the PUT finish.
		proxy.StallAfter(harness.Upstream, 4<<20)
		p := harness.RunProcess(t, "encrypt-existing", harness.GatewayBinary(t), args, env)
		proxy.WaitStalled(t, time.Minute)
		overwrite := []byte("written by a legacy client while encrypt-existing ran")
		done := make(chan error, 1)
		go func() {
			_, err := direct.PutObject(ctx, bucket, "c-big-20mib", bytes.NewReader(overwrite), int64(len(overwrite)), minio.PutObjectOptions{ContentType: "text/plain"})
			done <- err
		}()
		// Without a conditional write the overwrite lands at once, during
		// the stall; with one, MinIO holds it until the encrypted PUT ends.
		select {
		case err := <-done:
			done <- err
		case <-time.After(2 * time.Second):
		}
		proxy.Resume()
		if err := <-done; err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		if !p.WaitExit(2 * time.Minute) {
			t.Fatalf("encrypt-existing did not finish:\n%s", p.Output())
		}
		t.Logf("encrypt-existing during the overwrite:\n%s", p.Output())
		objects["c-big-20mib"] = &plaintextObject{data: overwrite, contentType: "text/plain"}
		if got := harness.ReadObject(t, direct, bucket, "c-big-20mib", minio.GetObjectOptions{}); !bytes.Equal(got, overwrite) {
			t.Errorf("the backend holds %d bytes for c-big-20mib, want the legacy writer's %d: the overwrite was clobbered\n%s", len(got), len(overwrite), p.Output())
		}
	})
	t.Run("a rerun resumes and finishes", func(t *testing.T) {
		code, out := run()
		if code != 0 || !regexp.MustCompile(`encrypted [1-9]\d* \(`).MatchString(out) || !strings.Contains(out, "failed 0") {
			t.Fatalf("rerun: %d\n%s", code, out)
		}
		code, out = run()
		if code != 0 || !strings.Contains(out, "encrypted 0 (0.0 MiB), already encrypted 10") {
			t.Fatalf("third run: %d\n%s", code, out)
		}
	})
	t.Run("every object is ciphertext on the backend and reads back with its metadata", func(t *testing.T) {
		objects["g-sealed"] = &plaintextObject{data: sealedData}
		for name, o := range objects {
			st, err := direct.StatObject(ctx, bucket, name, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !hasSealedMetadata(st.Metadata) {
				t.Errorf("%s has no s3seal metadata on the backend: still plaintext", name)
			}
			if stored := harness.ReadObject(t, direct, bucket, name, minio.GetObjectOptions{}); len(o.data) > 0 && bytes.Contains(stored, o.data[:min(len(o.data), 64)]) {
				t.Errorf("%s: the backend holds its plaintext", name)
			}
			got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{})
			if !bytes.Equal(got, o.data) {
				t.Errorf("%s reads back %d bytes that differ, want %d", name, len(got), len(o.data))
			}
			gst, err := c.StatObject(ctx, bucket, name, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if name != "g-sealed" && gst.Metadata.Get("X-Amz-Server-Side-Encryption") != "aws:kms" {
				t.Errorf("%s: encryption %q, want aws:kms under adopt-key", name, gst.Metadata.Get("X-Amz-Server-Side-Encryption"))
			}
			if o.contentType != "" && gst.ContentType != o.contentType {
				t.Errorf("%s: Content-Type %q, want %q", name, gst.ContentType, o.contentType)
			}
			for k, v := range o.meta {
				if got := gst.UserMetadata[k]; got != v {
					t.Errorf("%s: metadata %s = %q, want %q (all: %v)", name, k, got, v, gst.UserMetadata)
				}
			}
			if len(o.tags) > 0 {
				tg, err := c.GetObjectTagging(ctx, bucket, name, minio.GetObjectTaggingOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if want, _ := tags.NewTags(o.tags, true); tg.String() != want.String() {
					t.Errorf("%s: tags %s, want %s", name, tg, want)
				}
			}
		}
	})
	t.Run("the rerun logged nothing a legacy bucket should not", func(t *testing.T) {
		logs := gw.Logs()
		if strings.Contains(logs, "refused an object without s3seal metadata") {
			t.Errorf("the gateway refused a read during the adoption:\n%s", gw.LogTail(20))
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// hasSealedMetadata reports whether backend object metadata carries
// s3seal's sealed key.
func hasSealedMetadata(h map[string][]string) bool {
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-s3seal-") {
			return true
		}
	}
	return false
}

// TestEncryptExistingSurvivesKills kills `s3seal encrypt-existing` with
// SIGKILL mid-run, then kills the gateway with SIGKILL while it streams an
// object's ciphertext to the backend, restarts it and reruns the command:
// the rerun finishes and every object is encrypted and reads back byte for
// byte. Nothing is lost: an interrupted copy leaves the plaintext in place.
func TestEncryptExistingSurvivesKills(t *testing.T) {
	backend := harness.StartMinIO(t)
	proxy := harness.StartFaultProxy(t, backend.Host())
	gw := harness.StartGateway(t, backend,
		harness.WithGatewayEnv("S3SEAL_BACKEND_URL", proxy.Endpoint()),
		harness.WithGatewayEnv("S3SEAL_LEGACY_PLAINTEXT_READ_BUCKETS", "legacy"))
	ctx := t.Context()
	direct := backend.Client(t)
	const bucket = "legacy"
	if err := direct.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{}
	for i := range 60 {
		name := fmt.Sprintf("obj-%02d", i)
		objects[name] = harness.RandomBytes(t, 256<<10+i)
		if _, err := direct.PutObject(ctx, bucket, name, bytes.NewReader(objects[name]), int64(len(objects[name])), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "S3SEAL_ROOT_USER="+gw.AccessKey, "S3SEAL_ROOT_PASSWORD="+gw.SecretKey)
	args := func(gw *harness.Gateway) []string {
		return []string{"encrypt-existing", "--endpoint", gw.Endpoint, "--bucket", bucket}
	}

	p := harness.RunProcess(t, "encrypt-existing", harness.GatewayBinary(t), args(gw), env)
	p.WaitOutput(t, regexp.MustCompile(`obj-0[3-9]: encrypted`))
	p.Kill()
	if strings.Contains(p.Output(), "encrypted 60") {
		t.Fatal("the command finished before it was killed")
	}

	proxy.StallAfter(harness.Upstream, 128<<10) // inside the next object's ciphertext
	p = harness.RunProcess(t, "encrypt-existing", harness.GatewayBinary(t), args(gw), env)
	proxy.WaitStalled(t, time.Minute)
	gw.Kill(t)
	p.Kill()
	proxy.Resume()

	gw = gw.Restart(t)
	r := harness.Run(t, harness.GatewayBinary(t), args(gw), env, "")
	out := string(r.Stdout)
	if r.ExitCode != 0 || !regexp.MustCompile(`encrypted [1-9]\d* \(.*already encrypted [1-9]\d*, changed meanwhile 0, failed 0`).MatchString(out) {
		t.Fatalf("rerun: %d\n%s", r.ExitCode, r.Stderr+lastLines(out, 3))
	}
	c := gw.Client(t)
	for name, want := range objects {
		st, err := direct.StatObject(ctx, bucket, name, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !hasSealedMetadata(st.Metadata) {
			t.Errorf("%s is still plaintext on the backend", name)
		}
		if got := harness.ReadObject(t, c, bucket, name, minio.GetObjectOptions{}); !bytes.Equal(got, want) {
			t.Errorf("%s reads back %d bytes that differ, want %d", name, len(got), len(want))
		}
	}
}
