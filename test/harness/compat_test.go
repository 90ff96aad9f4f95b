package harness

import (
	"strings"
	"testing"
	"time"
)

func TestCompatErrorSummary(t *testing.T) {
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"a plain message is its first line", "GetObject pgr: 3 bytes\nmore", "GetObject pgr: 3 bytes"},
		{
			"rclone's log time removed",
			Result{Args: []string{"rclone"}, ExitCode: 1, Stderr: "2026/12/03 22:27:24 ERROR : pgr: corrupted on transfer"}.String(),
			"ERROR : pgr: corrupted on transfer",
		},
		{
			"a command's first error line on stderr, endpoint and paths replaced",
			Result{Args: []string{"s3cmd", "put"}, ExitCode: 2, Stderr: "WARNING: Retrying upload\nWARNING: MD5 Sums don't match! https://127.0.0.1:4321/b /tmp/x/y\nERROR: Upload failed"}.String(),
			"WARNING: MD5 Sums don't match! https://GATEWAY/b TMP",
		},
		{
			"a Python traceback's last line",
			Result{Args: []string{"python3"}, ExitCode: 1, Stderr: "Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n    raise ReadTimeoutError()\nbotocore.exceptions.ReadTimeoutError: Read timeout"}.String(),
			"botocore.exceptions.ReadTimeoutError: Read timeout",
		},
		{
			"the last stderr line when none reads like an error, without clip marks",
			Result{Args: []string{"mc"}, ExitCode: 1, Stderr: strings.Repeat("x", 1990) + "\nsomething odd" + strings.Repeat("y", 100)}.String(),
			"something", // String clips stderr at 2000 bytes
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CompatErrorSummary(tc.msg); got != tc.want {
				t.Errorf("CompatErrorSummary = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderCompatibility(t *testing.T) {
	res := CompatResults{
		Clients:  []string{"mc", "s3cmd"},
		Families: []CompatFamily{{ID: "copy", Title: "copy", Check: "copies"}, {ID: "sse-c", Title: "SSE-C", Check: "keys"}},
		Versions: map[string]string{"mc": "mc v1"},
		Cells: []CompatCell{
			{Client: "mc", Family: "copy", Outcome: CompatPass},
			{Client: "mc", Family: "sse-c", Outcome: CompatFail, Detail: "a|b"},
			{Client: "s3cmd", Family: "sse-c", Outcome: CompatNA, Detail: "no options"},
		},
	}
	var b strings.Builder
	if err := RenderCompatibility(&b, res, time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC), "make compat"); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{
		"| client | copy | SSE-C |",
		"| mc | pass | **fail** [1] |",
		"| s3cmd | **not run** | n/a [3] |",
		"1. mc, SSE-C: **fail**: a\\|b",
		"2. s3cmd, copy: not run",
		"3. s3cmd, SSE-C: n/a: no options",
		"| s3cmd | (not detected) |",
		"Generated 2026-12-03 22:00 UTC by `make compat`",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("rendered document lacks %q:\n%s", want, doc)
		}
	}
}
