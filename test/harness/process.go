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
	"runtime"
	"strings"
	"sync"
	"syscall"
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

// process is a server started by the harness and stopped by PID.
type process struct {
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

// startProcess starts path with args and exactly env, writing its output to
// logPath and to an in-memory buffer.
func startProcess(name, path string, args, env []string, dir, logPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	p := &process{name: name, output: &syncBuffer{}, stderr: &syncBuffer{}, logPath: logPath, done: make(chan struct{})}
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

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode returns the exit code, or -1 if a signal ended the process. Only
// valid after done is closed.
func (p *process) exitCode() int { return exitCodeOf(p.waitErr) }

// terminate sends SIGTERM.
func (p *process) terminate() error {
	if p.exited() {
		return nil
	}
	err := p.cmd.Process.Signal(syscall.SIGTERM)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	return nil
}

// waitExit waits up to timeout for the process to exit and reports whether
// it did.
func (p *process) waitExit(timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		return false
	}
}

// stop sends SIGTERM, waits up to stopGrace, then kills. It returns an error
// if the process needed SIGKILL. Safe to call more than once.
func (p *process) stop() error {
	p.stopOnce.Do(func() {
		if err := p.terminate(); err != nil {
			p.stopErr = err
		}
		if p.waitExit(stopGrace) {
			return
		}
		_ = p.cmd.Process.Kill()
		<-p.done
		p.stopErr = fmt.Errorf("%s (pid %d) did not exit within %v of SIGTERM and was killed", p.name, p.cmd.Process.Pid, stopGrace)
	})
	return p.stopErr
}

// waitReady polls url until it answers 200. It fails early when the process
// exits and gives up after startDeadline.
func (p *process) waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, startDeadline)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v)", p.name, p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %v: last answer %s", p.name, url, startDeadline, last)
		case <-ticker.C:
		}
	}
}

// logTail returns the last n lines of the process output.
func (p *process) logTail(n int) string {
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

// baseEnv returns the environment every started peer inherits: enough to
// run (PATH, locale, TMPDIR) and nothing that could change its behaviour.
func baseEnv(home string) []string {
	env := []string{"HOME=" + home}
	for _, key := range []string{"PATH", "LANG", "LC_ALL", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+v)
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
