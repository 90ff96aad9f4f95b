package main

import (
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/s3seal/s3seal/internal/testproc"
)

func TestLogLinesAreBufferedUntilAWarning(t *testing.T) {
	var out testproc.Output
	log, stop, err := newLogger("info", &out)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("request", zap.String("request_id", "R1"))
	if got := out.String(); strings.Contains(got, "R1") {
		t.Errorf("an info line was written at once: %q", got)
	}
	log.Warn("something odd")
	got := out.String()
	if i, j := strings.Index(got, `"request_id":"R1"`), strings.Index(got, "something odd"); i < 0 || j < i {
		t.Errorf("after a warning the log holds %q, want the info line and then the warning", got)
	}
	log.Info("request", zap.String("request_id", "R2"))
	stop()
	if !strings.Contains(out.String(), "R2") {
		t.Errorf("stop did not flush: %q", out.String())
	}
}
