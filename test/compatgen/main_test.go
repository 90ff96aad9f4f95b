package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3seal/s3seal/test/harness"
)

// TestRunKeepsHandWrittenPart: regenerating the document replaces the
// generated part and keeps what follows the marker.
func TestRunKeepsHandWrittenPart(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "results.json"), filepath.Join(dir, "COMPATIBILITY.md")
	res := harness.CompatResults{
		Clients:  []string{"mc"},
		Families: []harness.CompatFamily{{ID: "copy", Title: "copy", Check: "a copy"}},
		Cells:    []harness.CompatCell{{Client: "mc", Family: "copy", Outcome: harness.CompatPass}},
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tail := handWrittenMarker + "\n\n## Backends\n\nversitygw notes.\n"
	if err := os.WriteFile(out, []byte("# Old generated part\n\n"+tail), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := run(in, out, "make compat"); err != nil {
			t.Fatal(err)
		}
	}
	doc, _ := os.ReadFile(out)
	if strings.Contains(string(doc), "Old generated part") || !strings.HasSuffix(string(doc), "\n\n"+tail) || strings.Count(string(doc), handWrittenMarker) != 1 {
		t.Errorf("regenerated document:\n%s\nwant the new generated part, then the hand-written part once", doc)
	}
}
