// Command compatgen renders the results file TestCompatibility writes
// (S3SEAL_COMPAT_OUT) as docs/COMPATIBILITY.md. `make compat` runs both.
// With -backends it instead reads the go test -json events of the
// backend-parameterised tests and replaces the backend × feature table in
// the document's Backends section (`make test-backends`), printing each
// backend's counts.
//
//	go run ./compatgen -in results.json -out ../docs/COMPATIBILITY.md -command "make compat"
//	go run ./compatgen -backends -in events.json -out ../docs/COMPATIBILITY.md -command "make test-backends"
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/s3seal/s3seal/test/harness"
)

func main() {
	in := flag.String("in", "", "results file TestCompatibility wrote")
	out := flag.String("out", "", "Markdown file to write")
	command := flag.String("command", "make compat", "the command that produced the results, for the document")
	backends := flag.Bool("backends", false, "-in is go test -json output of the backend tests: rewrite the backend table")
	flag.Parse()
	do := run
	if *backends {
		do = runBackends
	}
	if err := do(*in, *out, *command); err != nil {
		fmt.Fprintln(os.Stderr, "compatgen:", err)
		os.Exit(1)
	}
}

func run(in, out, command string) error {
	if in == "" || out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := harness.ReadCompatResults(f)
	if err != nil {
		return err
	}
	if len(res.Cells) == 0 {
		return fmt.Errorf("%s holds no cells: did TestCompatibility run?", in)
	}
	var buf bytes.Buffer
	if err := harness.RenderCompatibility(&buf, res, time.Now(), command); err != nil {
		return err
	}
	old, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	buf.Write(handWritten(old))
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// handWrittenMarker starts the part of the document that is written by
// hand (the Backends section); compatgen keeps it as it is.
const handWrittenMarker = "<!-- Written by hand from here on; make compat keeps it. -->"

// handWritten returns the hand-written part of doc, from the marker line
// to the end, preceded by a blank line; nothing when doc has no marker.
func handWritten(doc []byte) []byte {
	i := bytes.Index(doc, []byte(handWrittenMarker))
	if i < 0 {
		return nil
	}
	return append([]byte("\n"), doc[i:]...)
}

// runBackends rewrites the backend table of out from the go test -json
// events in in.
func runBackends(in, out, command string) error {
	if in == "" || out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := harness.ReadBackendResults(f)
	if err != nil {
		return err
	}
	var table bytes.Buffer
	if err := harness.RenderBackendTable(&table, res, time.Now(), command); err != nil {
		return err
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	updated, err := harness.ReplaceBackendTable(string(doc), table.String())
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	for _, b := range res.Backends {
		pass, fail, uns := res.Counts(b)
		fmt.Printf("%-10s %2d passed, %d failed, %d unsupported\n", b, pass, fail, uns)
	}
	return os.WriteFile(out, []byte(updated), 0o644)
}
