// Command compatgen renders the results file TestCompatibility writes
// (S3SEAL_COMPAT_OUT) as docs/COMPATIBILITY.md. `make compat` runs both.
//
//	go run ./compatgen -in results.json -out ../docs/COMPATIBILITY.md -command "make compat"
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
	flag.Parse()
	if err := run(*in, *out, *command); err != nil {
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
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
