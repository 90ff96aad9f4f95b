package test

import (
	"bufio"
	"context"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/s3seal/s3seal/test/harness"
)

// stalledBody yields data, then blocks until the test ends.
type stalledBody struct {
	data *strings.Reader
	done <-chan struct{}
}

func (b *stalledBody) Read(p []byte) (int, error) {
	if b.data.Len() > 0 {
		return b.data.Read(p)
	}
	<-b.done
	return 0, io.ErrUnexpectedEOF
}

// TestStalledUploadTimesOut configures S3SEAL_BODY_READ_IDLE_TIMEOUT and
// sends a PUT whose body stops after 10 of its 1000 bytes: the gateway
// answers 400 RequestTimeout and stores nothing.
func TestStalledUploadTimesOut(t *testing.T) {
	ctx := context.Background()
	m := harness.StartMinIO(t)
	g := harness.StartGateway(t, m, harness.WithGatewayEnv("S3SEAL_BODY_READ_IDLE_TIMEOUT", "1s"))
	if err := g.Client(t).MakeBucket(ctx, "stall", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	done := make(chan struct{})
	defer close(done)
	req, err := http.NewRequest(http.MethodPut, g.Endpoint+"/stall/object", &stalledBody{data: strings.NewReader("0123456789"), done: done})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1000
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, g.AccessKey, g.SecretKey, "", "us-east-1")
	go func() { _ = req.Write(conn) }()

	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	_ = xml.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusBadRequest || e.Code != "RequestTimeout" {
		t.Errorf("status %d body %s, want 400 RequestTimeout", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("answered after %v with a 1s idle timeout", d)
	}
	if _, err := m.Client(t).StatObject(ctx, "stall", "object", minio.StatObjectOptions{}); err == nil {
		t.Errorf("the stalled upload left an object on the backend")
	}
}
