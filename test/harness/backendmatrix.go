package harness

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The backend × feature table of docs/COMPATIBILITY.md: `make
// test-backends` runs the backend-parameterised tests with go test -json,
// and test/compatgen -backends reads the events into BackendResults and
// renders them between the table's markers.

// backendTests are the backend-parameterised tests the table shows, each
// a subtest per backend (TestX/BACKEND). TestObjectAPI's own subtests are
// one row each; the others are one row.
var backendTests = []backendTest{
	{name: "TestObjectAPI", perSub: true},
	{name: "TestMCFlow", title: "README mc flow (kms key create, mb, encrypt set, cp, stat, cat, ls sizes, mirror twice)"},
	{name: "TestBackendMetadataBudget", title: "user metadata budget (the backend's limit, or none)"},
	{name: "TestBackendDifferences", title: "answers that differ between stores reach the client as the backend's"},
}

type backendTest struct {
	name   string
	title  string // the row, for tests that are one row
	perSub bool   // one row per subtest of TestX/BACKEND
}

// BackendOutcome is what one cell came to.
type BackendOutcome string

const (
	BackendPass BackendOutcome = "pass"
	BackendFail BackendOutcome = "fail"
	// BackendUnsupported: the backend lacks the feature and the test
	// checked that its own error reaches the client.
	BackendUnsupported BackendOutcome = "unsupported"
)

// BackendCell is one (feature, backend) result.
type BackendCell struct {
	Outcome BackendOutcome
	Detail  string // fail: the first error; unsupported: the backend's error
}

// BackendResults is what a go test -json run of the backend tests says.
type BackendResults struct {
	Backends []string                  // in KnownBackends order
	Versions map[string]string         // backend → version
	Features []string                  // row titles, in the order the tests run them
	Cells    map[[2]string]BackendCell // {feature, backend}
	// NotRun are backends whose test failed before its cells ran (a
	// backend that would not start): test → backend → the first error.
	NotRun map[string]map[string]string
}

var testFileLine = regexp.MustCompile(`^\s+(\S+_test\.go:\d+: .*)$`)

// ReadBackendResults reads go test -json events.
func ReadBackendResults(r io.Reader) (BackendResults, error) {
	res := BackendResults{Versions: map[string]string{}, Cells: map[[2]string]BackendCell{}, NotRun: map[string]map[string]string{}}
	type message struct{ path, text string }
	var messages []message               // the _test.go messages, in order
	unsupported := map[string]string{}   // cell test path → the backend's error
	ended := map[string]BackendOutcome{} // test path → pass/fail
	var paths []string                   // in the order they started
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Action, Test, Output string
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Test == "" {
			continue // the build's and package's lines
		}
		parts := strings.Split(ev.Test, "/")
		if len(parts) < 2 || !slices.ContainsFunc(backendTests, func(b backendTest) bool { return b.name == parts[0] }) {
			continue
		}
		switch ev.Action {
		case "run":
			paths = append(paths, ev.Test)
		case "pass", "fail":
			ended[ev.Test] = BackendOutcome(ev.Action)
		case "output":
			line := strings.TrimRight(ev.Output, "\n")
			if _, after, ok := strings.Cut(line, backendLogPrefix); ok {
				if name, version, ok := strings.Cut(after, " "); ok {
					res.Versions[name] = version
				}
			}
			if _, after, ok := strings.Cut(line, unsupportedLogPrefix); ok {
				unsupported[ev.Test] = after
			}
			if m := testFileLine.FindStringSubmatch(line); m != nil && !strings.Contains(line, backendLogPrefix) && !strings.Contains(line, unsupportedLogPrefix) {
				messages = append(messages, message{ev.Test, m[1]})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read go test -json events: %w", err)
	}
	// The first message of a test or its subtests.
	errorUnder := func(path string) string {
		for _, m := range messages {
			if m.path == path || strings.HasPrefix(m.path, path+"/") {
				return m.text
			}
		}
		return "(no message; see the test log)"
	}
	for _, bt := range backendTests {
		for _, p := range paths {
			parts := strings.Split(p, "/")
			if parts[0] != bt.name {
				continue
			}
			backend := parts[1]
			if !slices.Contains(res.Backends, backend) {
				res.Backends = append(res.Backends, backend)
			}
			var feature string
			switch {
			case bt.perSub && len(parts) == 3:
				feature = strings.ReplaceAll(parts[2], "_", " ")
			case !bt.perSub && len(parts) == 2:
				feature = bt.title
			default:
				continue
			}
			if !slices.Contains(res.Features, feature) {
				res.Features = append(res.Features, feature)
			}
			cell := BackendCell{Outcome: ended[p]}
			switch {
			case cell.Outcome == "":
				cell = BackendCell{Outcome: BackendFail, Detail: "did not finish (the run was cut short; see the test log)"}
			case cell.Outcome == BackendFail:
				cell.Detail = errorUnder(p)
			case unsupported[p] != "":
				cell = BackendCell{Outcome: BackendUnsupported, Detail: unsupported[p]}
			}
			res.Cells[[2]string{feature, backend}] = cell
		}
		// A backend whose test failed with no cell decided: its setup.
		for _, p := range paths {
			parts := strings.Split(p, "/")
			if parts[0] != bt.name || len(parts) != 2 || !bt.perSub || ended[p] != BackendFail {
				continue
			}
			if !slices.ContainsFunc(paths, func(q string) bool { return strings.HasPrefix(q, p+"/") }) {
				if res.NotRun[bt.name] == nil {
					res.NotRun[bt.name] = map[string]string{}
				}
				res.NotRun[bt.name][parts[1]] = errorUnder(p)
			}
		}
	}
	order := func(a, b string) int {
		ia, ib := slices.Index(KnownBackends, BackendKind(a)), slices.Index(KnownBackends, BackendKind(b))
		if ia < 0 {
			ia = len(KnownBackends)
		}
		if ib < 0 {
			ib = len(KnownBackends)
		}
		return ia - ib
	}
	slices.SortStableFunc(res.Backends, order)
	if len(res.Cells) == 0 && len(res.NotRun) == 0 {
		return res, errors.New("no backend test results in the events: did the backend tests run?")
	}
	return res, nil
}

// Counts returns how many cells of backend passed, failed and were
// unsupported.
func (res BackendResults) Counts(backend string) (pass, fail, unsupported int) {
	for _, f := range res.Features {
		switch res.Cells[[2]string{f, backend}].Outcome {
		case BackendPass:
			pass++
		case BackendFail:
			fail++
		case BackendUnsupported:
			unsupported++
		}
	}
	return pass, fail, unsupported
}

// BackendTableStart and BackendTableEnd enclose the generated table in
// docs/COMPATIBILITY.md; the notes around it are written by hand.
const (
	BackendTableStart = "<!-- Backend table: generated by `make test-backends` from here; do not edit by hand. -->"
	BackendTableEnd   = "<!-- Backend table: end of the generated part. -->"
)

// RenderBackendTable writes the table, with its markers: one row per
// feature, one column per backend, then the notes on failed and
// unsupported cells and the backends' versions.
func RenderBackendTable(w io.Writer, res BackendResults, generated time.Time, command string) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("%s\n\n", BackendTableStart)
	p("Generated %s by `%s`.\n\n", generated.UTC().Format("2006-01-02 15:04 MST"), command)
	p("| feature |")
	for _, b := range res.Backends {
		p(" %s |", b)
	}
	p("\n|---|")
	for range res.Backends {
		p("---|")
	}
	p("\n")
	var notes []string
	note := func(s string) int {
		notes = append(notes, strings.ReplaceAll(s, "|", `\|`))
		return len(notes)
	}
	for _, f := range res.Features {
		p("| %s |", f)
		for _, b := range res.Backends {
			c, ok := res.Cells[[2]string{f, b}]
			switch {
			case !ok:
				p(" not run |")
			case c.Outcome == BackendPass:
				p(" pass |")
			case c.Outcome == BackendUnsupported:
				p(" unsupported [%d] |", note(fmt.Sprintf("%s, %s: unsupported, the client gets the backend's error: %s", b, f, c.Detail)))
			default:
				p(" **fail** [%d] |", note(fmt.Sprintf("%s, %s: **fail**: %s", b, f, c.Detail)))
			}
		}
		p("\n")
	}
	p("| **passed / failed / unsupported** |")
	for _, b := range res.Backends {
		pass, fail, uns := res.Counts(b)
		p(" %d / %d / %d |", pass, fail, uns)
	}
	p("\n")
	for _, bt := range backendTests {
		for _, b := range res.Backends {
			if e, ok := res.NotRun[bt.name][b]; ok {
				note(fmt.Sprintf("%s, %s: not run, the backend's setup failed: %s", b, bt.name, e))
			}
		}
	}
	if len(notes) > 0 {
		p("\n")
		for i, n := range notes {
			p("%d. %s\n", i+1, n)
		}
	}
	p("\n| backend | version |\n|---|---|\n")
	for _, b := range res.Backends {
		v := res.Versions[b]
		if v == "" {
			v = "(not logged)"
		}
		p("| %s | %s |\n", b, v)
	}
	p("\n%s\n", BackendTableEnd)
	return bw.Flush()
}

// ReplaceBackendTable returns doc with the part between the table's
// markers (markers included) replaced by table.
func ReplaceBackendTable(doc, table string) (string, error) {
	start := strings.Index(doc, BackendTableStart)
	end := strings.Index(doc, BackendTableEnd)
	if start < 0 || end < start {
		return "", fmt.Errorf("the document has no backend table markers (%q … %q)", BackendTableStart, BackendTableEnd)
	}
	end += len(BackendTableEnd)
	if end < len(doc) && doc[end] == '\n' {
		end++
	}
	return doc[:start] + table + doc[end:], nil
}
