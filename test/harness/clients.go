package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Result is what a client command produced.
type Result struct {
	Args     []string
	Stdout   []byte
	Stderr   string
	ExitCode int // -1 when the command could not run or a signal ended it
}

func (r Result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Args, " "), r.ExitCode, clip(r.Stdout, 2000), clip([]byte(r.Stderr), 2000))
}

func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + fmt.Sprintf("... (%d more bytes)", len(b)-n)
}

// Run runs bin with args and exactly env in dir, and returns what it did;
// it does not fail the test: look at ExitCode. The test's context ending
// kills it.
func Run(t testing.TB, bin string, args, env []string, dir string) Result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := Result{Args: append([]string{filepath.Base(bin)}, args...), Stdout: stdout.Bytes(), Stderr: stderr.String(), ExitCode: exitCodeOf(err)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.Stderr += "\n" + err.Error()
	}
	return r
}

// MustRun is Run that fails the test unless the command exits 0.
func MustRun(t testing.TB, bin string, args, env []string, dir string) Result {
	t.Helper()
	r := Run(t, bin, args, env, dir)
	if r.ExitCode != 0 {
		t.Fatalf("%s failed: %v", filepath.Base(bin), r)
	}
	return r
}

// DecodeJSON fails the test unless r exited 0 with one JSON document on
// stdout, and decodes it into v.
func DecodeJSON(t testing.TB, r Result, v any) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("command failed: %v", r)
	}
	if err := json.Unmarshal(bytes.TrimSpace(r.Stdout), v); err != nil {
		t.Fatalf("%s: stdout is not one JSON document: %v\n%s", strings.Join(r.Args, " "), err, r.Stdout)
	}
}

// MCClient runs the pinned mc binary with its own configuration directory.
// Its methods take the calling test, so a client made in a parent test can
// be used from subtests.
type MCClient struct {
	bin       string
	configDir string
	env       []string
}

// MC returns an mc runner whose aliases and settings live in configDir.
func MC(t testing.TB, configDir string) *MCClient {
	t.Helper()
	home := filepath.Join(configDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatalf("create mc home: %v", err)
	}
	return &MCClient{bin: Tools(t, "mc").MC, configDir: configDir, env: BaseEnv(home)}
}

// Run runs mc with --config-dir, --no-color, --disable-pager, --quiet and
// the given arguments.
func (c *MCClient) Run(t testing.TB, args ...string) Result {
	t.Helper()
	full := append([]string{"--config-dir", c.configDir, "--no-color", "--disable-pager", "--quiet"}, args...)
	return Run(t, c.bin, full, c.env, c.configDir)
}

// JSON runs mc with --json added.
func (c *MCClient) JSON(t testing.TB, args ...string) Result {
	t.Helper()
	return c.Run(t, append([]string{"--json"}, args...)...)
}

// Must runs mc and fails the test unless it exits 0.
func (c *MCClient) Must(t testing.TB, args ...string) Result {
	t.Helper()
	r := c.Run(t, args...)
	if r.ExitCode != 0 {
		t.Fatalf("mc failed: %v", r)
	}
	return r
}

// Setenv adds an environment variable to every later run (MC_HOST_alias,
// which can carry a session token).
func (c *MCClient) Setenv(key, value string) { c.env = append(c.env, key+"="+value) }

// AliasSet points alias at endpoint with the given credentials.
func (c *MCClient) AliasSet(t testing.TB, alias, endpoint, accessKey, secretKey string) {
	t.Helper()
	c.Must(t, "alias", "set", alias, endpoint, accessKey, secretKey, "--api", "S3v4")
}

// AWSCLI runs the AWS CLI from the machine image (v1, pyenv) against one
// endpoint with a clean AWS environment. Its methods take the calling test.
type AWSCLI struct {
	bin      string
	endpoint string
	env      []string
	dir      string
}

// AWS returns an AWS CLI runner for endpoint with static credentials, region
// us-east-1, path-style addressing, its own config file and no
// AWS_CA_BUNDLE or other inherited AWS_* settings.
func AWS(t testing.TB, endpoint, accessKey, secretKey string) *AWSCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("AWS CLI not found on PATH (%v); it comes with the machine image's pyenv Python (pip install awscli), or apt-get install -y awscli", err)
	}
	return AWSAt(t, bin, endpoint, accessKey, secretKey)
}

// AWSAt is AWS with the AWS CLI at bin: Debian's AWS CLI v2
// (/usr/bin/aws) beside the machine image's v1 on PATH.
func AWSAt(t testing.TB, bin, endpoint, accessKey, secretKey string) *AWSCLI {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	const configText = "[default]\nregion = us-east-1\noutput = json\ns3 =\n    addressing_style = path\n"
	if err := os.WriteFile(config, []byte(configText), 0o600); err != nil {
		t.Fatalf("write AWS CLI config: %v", err)
	}
	env := append(EnvWithout("AWS_"),
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	return &AWSCLI{bin: bin, endpoint: endpoint, env: env, dir: dir}
}

// Setenv sets an environment variable of the commands the runner starts.
func (a *AWSCLI) Setenv(key, value string) { a.env = append(a.env, key+"="+value) }

// Env returns the environment the AWS CLI runs with: static credentials,
// the runner's config file, no other AWS_* settings. Other AWS tools
// (boto3 scripts) can run with it too.
func (a *AWSCLI) Env() []string { return append([]string(nil), a.env...) }

// Dir returns the runner's working directory, a temporary one of the test.
func (a *AWSCLI) Dir() string { return a.dir }

// Run runs aws --endpoint-url ENDPOINT args...
func (a *AWSCLI) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, a.bin, append([]string{"--endpoint-url", a.endpoint}, args...), a.env, a.dir)
}

// Must runs the AWS CLI and fails the test unless it exits 0.
func (a *AWSCLI) Must(t testing.TB, args ...string) Result {
	t.Helper()
	r := a.Run(t, args...)
	if r.ExitCode != 0 {
		t.Fatalf("aws failed: %v", r)
	}
	return r
}

// S3Client returns an aws-sdk-go-v2 S3 client for endpoint built from an
// explicit configuration: static credentials, region us-east-1, path-style
// addressing, and the checksum behaviour config.LoadDefaultConfig gives real
// users (CRC32 on every upload that supports it, validation on downloads).
// It never reads the environment, so AWS_CA_BUNDLE and shared config files
// play no part. optFns run last.
func S3Client(endpoint, accessKey, secretKey string, optFns ...func(*s3.Options)) *s3.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		// A zero aws.Config leaves these unset, which the s3 client treats as
		// "when required": no CRC32 on PutObject. LoadDefaultConfig defaults
		// both to "when supported"; so do we.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	base := func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){base}, optFns...)...)
}

// RCloneClient runs the pinned rclone against one S3 endpoint configured
// as the remote "gw" (provider Minio, region us-east-1), with its own
// config and home directory and no inherited AWS_* or RCLONE_* settings.
type RCloneClient struct {
	bin string
	env []string
	dir string
}

// RClone returns an rclone runner for endpoint.
func RClone(t testing.TB, endpoint, accessKey, secretKey string) *RCloneClient {
	t.Helper()
	dir := t.TempDir()
	env := append(EnvWithout("AWS_", "RCLONE_"),
		"HOME="+dir,
		"RCLONE_CONFIG="+filepath.Join(dir, "rclone.conf"),
		"RCLONE_CONFIG_GW_TYPE=s3",
		"RCLONE_CONFIG_GW_PROVIDER=Minio",
		"RCLONE_CONFIG_GW_ENDPOINT="+endpoint,
		"RCLONE_CONFIG_GW_ACCESS_KEY_ID="+accessKey,
		"RCLONE_CONFIG_GW_SECRET_ACCESS_KEY="+secretKey,
		"RCLONE_CONFIG_GW_REGION=us-east-1",
	)
	return &RCloneClient{bin: Tools(t, "rclone").RClone, env: env, dir: dir}
}

// Run runs rclone args... with one attempt and one low-level try: rclone
// otherwise retries a failing request 10 times in each of 3 attempts,
// with back-off, minutes before a product error would surface.
func (c *RCloneClient) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return Run(t, c.bin, append(args, "--retries", "1", "--low-level-retries", "1"), c.env, c.dir)
}

// Must runs rclone and fails the test unless it exits 0.
func (c *RCloneClient) Must(t testing.TB, args ...string) Result {
	t.Helper()
	r := c.Run(t, args...)
	if r.ExitCode != 0 {
		t.Fatalf("rclone failed: %v", r)
	}
	return r
}
