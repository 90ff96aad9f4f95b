package aws

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/s3seal/s3seal/internal/testproc"
)

// moto is a moto_server process the tests talk to.
type moto struct {
	endpoint string
}

// motoServer is the one moto_server of this test binary, started by the
// first test that needs it and stopped by TestMain: starting one takes
// seconds, and every test resets it instead.
type motoServer struct {
	once   sync.Once
	moto   *moto
	err    error
	cmd    *exec.Cmd
	exited chan error
}

var sharedMoto motoServer

// startMoto returns the shared moto_server, reset to empty. It fails the
// test if moto_server is not installed or does not start.
func startMoto(t *testing.T) *moto {
	t.Helper()
	sharedMoto.once.Do(func() { sharedMoto.moto, sharedMoto.err = sharedMoto.start() })
	if sharedMoto.err != nil {
		t.Fatal(sharedMoto.err)
	}
	sharedMoto.moto.reset(t)
	return sharedMoto.moto
}

func (s *motoServer) start() (*moto, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is required for the AWS key store tests (pip install 'moto[server]'): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	s.cmd = exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	var out testproc.Output
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()

	m := &moto{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port)}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(m.endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("moto_server exited before answering (%v):\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("moto_server did not answer within a minute:\n%s", out.String())
		}
	}
}

// stop ends the moto_server, if one was started.
func (s *motoServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// reset empties every moto backend.
func (m *moto) reset(t *testing.T) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(m.endpoint+"/moto-api/reset", "", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: %s", resp.Status)
	}
}

// sdkConfig is an AWS config for direct calls to moto from tests.
func (m *moto) sdkConfig() awssdk.Config {
	return awssdk.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: awssdk.String(m.endpoint),
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

func (m *moto) kms() *kms.Client { return kms.NewFromConfig(m.sdkConfig()) }

func (m *moto) secrets() *secretsmanager.Client { return secretsmanager.NewFromConfig(m.sdkConfig()) }

// createKMSKey creates a symmetric KMS key in moto and returns its id.
func (m *moto) createKMSKey(t *testing.T) string {
	t.Helper()
	out, err := m.kms().CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("create KMS key: %v", err)
	}
	return *out.KeyMetadata.KeyId
}

const testRegion = "us-east-1"

// newStore returns a Store over moto with static credentials, closed when
// the test ends.
func (m *moto) newStore(t *testing.T, kmsKey string) *Store {
	t.Helper()
	s, err := New(t.Context(), Config{
		Endpoint:  m.endpoint,
		Region:    testRegion,
		KMSKey:    kmsKey,
		AccessKey: "testing",
		SecretKey: "testing",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
