package harness

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Moto is a moto_server — AWS S3, Secrets Manager and KMS emulated on one
// port — started for one test.
type Moto struct {
	Endpoint string // http://127.0.0.1:PORT
	proc     *Process
}

// StartMoto starts moto_server (it comes with the machine image's Python)
// on a free 127.0.0.1 port, waits until /moto-api/ answers 200 and kills it
// in t.Cleanup. It runs with the test's environment minus AWS_* settings.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is required (it comes with the machine image's pyenv Python; install it with: pip install 'moto[server]==5.2.1'): %v", err)
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := strconv.Itoa(FreePort(t))
		m := &Moto{Endpoint: "http://127.0.0.1:" + port}
		m.proc = RunProcess(t, "moto_server", bin, []string{"-H", "127.0.0.1", "-p", port}, EnvWithout("AWS_"))
		err := m.proc.WaitReady(t.Context(), m.Endpoint+"/moto-api/")
		if err == nil {
			return m
		}
		if attempt == attempts || !m.proc.Exited() {
			t.Fatalf("moto_server on %s: %v\n%s", m.Endpoint, err, m.proc.LogTail(40))
		}
		t.Logf("moto_server attempt %d: %v; retrying on another port", attempt, err)
	}
}

// Addr returns the host:port of Endpoint.
func (m *Moto) Addr() string { return strings.TrimPrefix(m.Endpoint, "http://") }

// AWSConfig is an explicit AWS config for calls from the test to moto: any
// static credentials, no environment, no shared files, no AWS_CA_BUNDLE.
func (m *Moto) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(m.Endpoint),
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// CreateKMSKey creates a symmetric AWS KMS key in moto and returns its id.
func (m *Moto) CreateKMSKey(t testing.TB) string {
	t.Helper()
	out, err := kms.NewFromConfig(m.AWSConfig()).CreateKey(t.Context(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("create KMS key in moto: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}
