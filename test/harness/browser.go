package harness

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// StartBrowser starts Debian's headless Chromium (test/install-host-tools.sh
// installs it) with a fresh profile and returns a chromedp context for one
// tab. The browser is stopped in t.Cleanup. Chromium runs as the machine
// probe found it must: no sandbox (tests run as root), no GPU, and none of
// the background connections a closed network refuses.
func StartBrowser(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed: run test/install-host-tools.sh (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 860),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser, tied to the context it runs
	// in: ctx itself, not one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
