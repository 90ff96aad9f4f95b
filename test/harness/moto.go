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
	"github.com/minio/minio-go/v7"
)

// Moto is a moto_server — AWS S3, Secrets Manager and KMS emulated on one
// port — started for one test.
type Moto struct {
	Endpoint string // http://127.0.0.1:PORT
	proc     *Process
}

// StartMoto starts moto_server (it comes with the machine image's Python)
// on a free 127.0.0.1 port, waits until /moto-api/ answers 200 and kills it
// in t.Cleanup. It runs with the test's environment minus AWS_* settings,
// plus env ("NAME=value"; INITIAL_NO_AUTH_ACTION_COUNT=N makes moto check
// every signature and session token after N requests).
func StartMoto(t testing.TB, env ...string) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is required (it comes with the machine image's pyenv Python; install it with: pip install 'moto[server]==5.2.1'): %v", err)
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := strconv.Itoa(FreePort(t))
		m := &Moto{Endpoint: "http://127.0.0.1:" + port}
		m.proc = RunProcess(t, "moto_server", bin, []string{"-H", "127.0.0.1", "-p", port}, append(EnvWithout("AWS_"), env...))
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

// MotoS3 is a moto_server of its own used as an S3 backend: moto's S3, the
// AWS S3 stand-in for AWS's own answers (error shapes, x-amz- headers,
// regions). moto keeps objects in memory and does not check signatures.
type MotoS3 struct {
	*Moto
}

// StartMotoS3 starts a moto_server for one backend (StartMoto) and returns
// it as a Backend.
func StartMotoS3(t testing.TB) *MotoS3 {
	t.Helper()
	return &MotoS3{Moto: StartMoto(t)}
}

// Name implements Backend.
func (m *MotoS3) Name() string { return string(KindMoto) }

// URL implements Backend: Endpoint.
func (m *MotoS3) URL() string { return m.Endpoint }

// Keys implements Backend: moto's conventional test keys (it accepts any).
func (m *MotoS3) Keys() (accessKey, secretKey string) { return "testing", "testing" }

// Host implements Backend: the host:port of Endpoint.
func (m *MotoS3) Host() string { return m.Addr() }

// StorageDir implements Backend: none, moto keeps objects in memory.
func (m *MotoS3) StorageDir() string { return "" }

// Version implements Backend: moto's version, from the Python that runs
// moto_server.
func (m *MotoS3) Version() string { return motoVersion() }

// Features implements Backend.
func (m *MotoS3) Features() BackendFeatures {
	return BackendFeatures{Versioning: true, Storage: StorageMemory}
}

// Client implements Backend: a minio-go client for moto's S3.
func (m *MotoS3) Client(t testing.TB) *minio.Client {
	t.Helper()
	ak, sk := m.Keys()
	return MinioGoClient(t, m.Endpoint, ak, sk, "us-east-1")
}

// Stop implements Backend: moto is killed (it has no state worth a
// graceful stop).
func (m *MotoS3) Stop(t testing.TB) {
	t.Helper()
	m.proc.Kill()
}

// motoVersion asks the python3 on PATH (the machine image's, whose
// moto_server the harness runs) for moto.__version__.
func motoVersion() string {
	out, err := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output()
	if err != nil {
		return "unknown: " + err.Error()
	}
	return "moto " + strings.TrimSpace(string(out))
}
