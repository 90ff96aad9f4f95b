package harness

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
)

// TestClientsAgainstMinIO proves the harness on MinIO alone: the server
// starts and stops, and every client wrapper can write and read through it.
func TestClientsAgainstMinIO(t *testing.T) {
	m := StartMinIO(t)
	ctx := t.Context()
	data := RandomBytes(t, 70*1024)
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("minio-go", func(t *testing.T) {
		c := MinioGoClient(t, m.Endpoint, m.AccessKey, m.SecretKey, "")
		if err := c.MakeBucket(ctx, "minio-go", minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("MakeBucket: %v", err)
		}
		if _, err := c.PutObject(ctx, "minio-go", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		obj, err := m.Client(t).GetObject(ctx, "minio-go", "k", minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		defer obj.Close()
		if got, err := io.ReadAll(obj); err != nil || !bytes.Equal(got, data) {
			t.Errorf("GetObject: %d bytes, err %v, want %d bytes", len(got), err, len(data))
		}
	})

	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		c := S3Client(m.Endpoint, m.AccessKey, m.SecretKey)
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("aws-sdk")}); err != nil {
			t.Fatalf("CreateBucket: %v", err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("aws-sdk"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("aws-sdk"), Key: aws.String("k"), ChecksumMode: "ENABLED"})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		defer out.Body.Close()
		if got, err := io.ReadAll(out.Body); err != nil || !bytes.Equal(got, data) {
			t.Errorf("GetObject: %d bytes, err %v, want %d bytes", len(got), err, len(data))
		}
	})

	t.Run("mc", func(t *testing.T) {
		mc := MC(t, t.TempDir())
		mc.AliasSet(t, "m", m.Endpoint, m.AccessKey, m.SecretKey)
		mc.Must(t, "mb", "m/mc-bucket")
		mc.Must(t, "cp", file, "m/mc-bucket/k")
		if got := mc.Must(t, "cat", "m/mc-bucket/k").Stdout; !bytes.Equal(got, data) {
			t.Errorf("mc cat: %d bytes, want %d", len(got), len(data))
		}
		if r := mc.Run(t, "cat", "m/mc-bucket/missing"); r.ExitCode == 0 {
			t.Errorf("mc cat of a missing object exited 0, want failure")
		}
	})

	t.Run("aws cli", func(t *testing.T) {
		cli := AWS(t, m.Endpoint, m.AccessKey, m.SecretKey)
		cli.Must(t, "s3", "mb", "s3://aws-cli")
		cli.Must(t, "s3", "cp", file, "s3://aws-cli/k")
		down := filepath.Join(t.TempDir(), "down")
		cli.Must(t, "s3", "cp", "s3://aws-cli/k", down)
		if got, err := os.ReadFile(down); err != nil || !bytes.Equal(got, data) {
			t.Errorf("aws s3 cp down: %d bytes, err %v, want %d bytes", len(got), err, len(data))
		}
	})

	t.Run("stop", func(t *testing.T) {
		m.Stop(t)
		if !m.proc.Exited() {
			t.Errorf("minio still running after Stop")
		}
		if code := m.proc.ExitCode(); code != 0 {
			t.Logf("minio exit code after SIGTERM: %d", code)
		}
	})
}

func TestToolsFindsPinnedPeers(t *testing.T) {
	ts := Tools(t)
	for name, path := range map[string]string{"minio": ts.MinIO, "mc": ts.MC, "kes": ts.KES, "rclone": ts.RClone, "versitygw": ts.VersityGW} {
		if path == "" {
			t.Errorf("Tools() path of %s is empty", name)
		}
	}
}

func TestToolsNamesTheInstallCommand(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "test"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/usr/bin/env bash\nMINIO_VERSION=v1\nMC_VERSION=v2\n"
	if err := os.WriteFile(filepath.Join(root, "test", "install-peers.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".tools", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// mc is installed but at another version than pinned.
	if err := os.WriteFile(filepath.Join(bin, "mc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, ".mc.version"), []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		peer string
		want string
	}{
		{"minio", "peer minio is not installed at " + filepath.Join(bin, "minio") + "; install it with: " + filepath.Join(root, "test", "install-peers.sh") + " minio"},
		{"mc", `peer mc at ` + filepath.Join(bin, "mc") + ` is version "v1", want pinned "v2"; install it with: ` + filepath.Join(root, "test", "install-peers.sh") + " mc"},
		{"kes", "peer kes has no pinned version in test/install-peers.sh"},
	}
	for _, tc := range tests {
		_, err := locateTools(root, []string{tc.peer})
		if err == nil || err.Error() != tc.want {
			t.Errorf("locateTools(%s) error = %v, want %q", tc.peer, err, tc.want)
		}
	}
}

// TestVersityGWKeepsObjectsAsFiles: the versitygw backend serves signed
// requests and keeps an object as the file StorageDir/bucket/key, its
// metadata in extended attributes; a stopped server refuses connections.
func TestVersityGWKeepsObjectsAsFiles(t *testing.T) {
	v := StartVersityGW(t)
	var b Backend = v
	if b.Name() != "versitygw" || !b.Features().Versioning {
		t.Errorf("Name %q, Features %+v; want versitygw with versioning", b.Name(), b.Features())
	}
	c := b.Client(t)
	ctx := t.Context()
	if err := c.MakeBucket(ctx, "files", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := []byte("stored as a plain file")
	if _, err := c.PutObject(ctx, "files", "dir/obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{UserMetadata: map[string]string{"Color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.StorageDir(), "files", "dir", "obj")
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Errorf("file %s: %q %v, want the object's bytes", path, got, err)
	}
	if attrs := Xattrs(t, path); !bytes.Contains(attrs["user.metadata"], []byte("blue")) {
		t.Errorf("extended attributes of %s = %q, want the metadata in user.metadata", path, attrs)
	}
	b.Stop(t)
	if _, err := c.ListBuckets(ctx); err == nil {
		t.Errorf("ListBuckets after Stop succeeded")
	}
}
