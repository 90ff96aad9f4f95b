package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	pollInterval = 50 * time.Millisecond
	// startDeadline bounds how long a server may take to become ready; MinIO
	// needs a few seconds on a loaded 2-core machine.
	startDeadline = 60 * time.Second
	// stopGrace is how long a server gets after SIGTERM before SIGKILL.
	stopGrace = 15 * time.Second
)

// Process is a server or tool started by the harness and stopped by PID.
// Its stdout and stderr go to a log file and to memory.
type Process struct {
	name    string
	cmd     *exec.Cmd
	output  *syncBuffer // stdout and stderr, interleaved
	stderr  *syncBuffer // stderr alone
	logPath string      // the interleaved output, on disk

	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// StartProcess starts path with args and exactly env in dir, writing its
// output to logPath and to memory. The process gets a parent-death signal:
// a test binary that dies takes it along. The caller stops it (Stop, Kill).
func StartProcess(name, path string, args, env []string, dir, logPath string) (*Process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	p := &Process{name: name, output: &syncBuffer{}, stderr: &syncBuffer{}, logPath: logPath, done: make(chan struct{})}
	// One lock around the file and the interleaved buffer keeps lines whole
	// when stdout and stderr are written concurrently.
	out := &lockedWriter{w: io.MultiWriter(logFile, p.output)}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	p.cmd.Dir = dir
	p.cmd.Stdout = out
	p.cmd.Stderr = io.MultiWriter(out, p.stderr)
	setParentDeathSignal(p.cmd)
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the OS thread that started the
		// child, so that thread stays with this goroutine until the child
		// has been reaped. A test binary that dies (a -timeout panic, a
		// SIGKILL) then takes its servers with it instead of leaving them
		// running.
		runtime.LockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

// RunProcess starts path in a new temporary directory of the test, as
// StartProcess does, and kills it in t.Cleanup, logging the tail of its
// output if the test failed. For peers whose exit status does not matter;
// servers under test are stopped with Stop and their exit code checked.
func RunProcess(t testing.TB, name, path string, args, env []string) *Process {
	t.Helper()
	dir := t.TempDir()
	p, err := StartProcess(name, path, args, env, dir, filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.LogTail(40))
		}
	})
	return p
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output returns what the process has written so far, stdout and stderr
// interleaved.
func (p *Process) Output() string { return p.output.String() }

// Stderr returns what the process has written to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns what waiting for the process returned: nil for exit code 0.
// Only valid after Done is closed.
func (p *Process) Err() error { return p.waitErr }

// ExitCode returns the exit code, or -1 if a signal ended the process. Only
// valid after Done is closed.
func (p *Process) ExitCode() int { return exitCodeOf(p.waitErr) }

// Terminate sends SIGTERM and returns at once.
func (p *Process) Terminate() error {
	if p.Exited() {
		return nil
	}
	err := p.cmd.Process.Signal(syscall.SIGTERM)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	return nil
}

// WaitExit waits up to timeout for the process to exit and reports whether
// it did.
func (p *Process) WaitExit(timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		return false
	}
}

// Stop sends SIGTERM, waits up to 15 s, then kills. It returns an error if
// the process needed SIGKILL. Safe to call more than once.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		if err := p.Terminate(); err != nil {
			p.stopErr = err
		}
		if p.WaitExit(stopGrace) {
			return
		}
		killProcess(p.cmd)
		<-p.done
		p.stopErr = fmt.Errorf("%s (pid %d) did not exit within %v of SIGTERM and was killed", p.name, p.cmd.Process.Pid, stopGrace)
	})
	return p.stopErr
}

// Kill sends SIGKILL and waits for the process to exit. Safe to call more
// than once and after the process exited.
func (p *Process) Kill() {
	if !p.Exited() {
		killProcess(p.cmd)
	}
	<-p.done
}

// WaitReady polls url until it answers 200; see WaitHTTP.
func (p *Process) WaitReady(ctx context.Context, url string) error {
	return p.WaitHTTP(ctx, nil, url, http.StatusOK)
}

// WaitHTTP polls url with GET through client (nil: plain HTTP with a 2 s
// timeout) until it answers the status want. It fails early when the
// process exits and gives up after a minute.
func (p *Process) WaitHTTP(ctx context.Context, client *http.Client, url string, want int) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, startDeadline)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before %s answered %d (%v)", p.name, url, want, p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer %d within %v: last answer %s", p.name, url, want, startDeadline, last)
		case <-ticker.C:
		}
	}
}

// WaitOutput waits until the process output matches re and returns the
// submatches. It fails the test if the process exits first or nothing
// matches within 30 s.
func (p *Process) WaitOutput(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("%s did not print %v (exited %v):\n%s", p.name, re, p.Exited(), p.LogTail(60))
		}
		select {
		case <-p.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// LogTail returns the last n lines of the process output.
func (p *Process) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines in %s)", len(lines)-n, p.logPath)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// BaseEnv returns the environment a started peer inherits: enough to run
// (PATH, locale, TMPDIR) and nothing that could change its behaviour, with
// HOME set to home.
func BaseEnv(home string) []string {
	env := []string{"HOME=" + home}
	for _, key := range []string{"PATH", "LANG", "LC_ALL", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+v)
		}
	}
	return env
}

// EnvWithout returns the test's own environment without the variables
// whose names start with one of prefixes: AWS_ (AWS_CA_BUNDLE breaks
// plain-http endpoints), RCLONE_, ...
func EnvWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
				break
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// exitCodeOf returns the exit code carried by err from exec: 0 for nil,
// the process's code for an *exec.ExitError, -1 otherwise.
func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
