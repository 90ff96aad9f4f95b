package deploy_test

import (
	"bufio"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const dockerfile = "deploy/Dockerfile"

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	Line int    // 1-based line of the keyword
	Cmd  string // upper-cased keyword, e.g. FROM
	Args string
}

// stage is one FROM and the instructions after it.
type stage struct {
	Image, Name  string
	Instructions []instruction
}

// parseDockerfile splits a Dockerfile into stages. It understands comments,
// blank lines and backslash continuations, which is all deploy/Dockerfile
// uses; hadolint (not packaged by Debian or npm) would lint it further.
func parseDockerfile(src string) (stages []stage, err error) {
	var (
		pending   strings.Builder
		startLine int
	)
	flush := func() {
		text := strings.TrimSpace(pending.String())
		pending.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{Line: startLine, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			st := stage{}
			for _, a := range f {
				if !strings.HasPrefix(a, "--") {
					st.Image = a
					break
				}
			}
			if i := slices.IndexFunc(f, func(a string) bool { return strings.EqualFold(a, "AS") }); i >= 0 && i+1 < len(f) {
				st.Name = f[i+1]
			}
			stages = append(stages, st)
		}
		if len(stages) > 0 {
			stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(src))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && pending.Len() == 0) {
			continue
		}
		if pending.Len() == 0 {
			startLine = n
		}
		if body, cont := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); cont {
			pending.WriteString(body + " ")
			continue
		}
		pending.WriteString(line)
		flush()
	}
	flush()
	return stages, sc.Err()
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) text() string {
	var b strings.Builder
	for _, in := range s.Instructions {
		b.WriteString(in.Cmd + " " + in.Args + "\n")
	}
	return b.String()
}

// goVersion parses "1.26.8" into comparable parts.
func goVersion(t *testing.T, v string) [3]int {
	t.Helper()
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		t.Fatalf("go version %q: want MAJOR.MINOR[.PATCH]", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("go version %q: %v", v, err)
		}
		out[i] = n
	}
	return out
}

func TestDockerfileBuildsAPinnedNonRootImage(t *testing.T) {
	stages, err := parseDockerfile(string(readRepoFile(t, dockerfile)))
	if err != nil {
		t.Fatalf("parse %s: %v", dockerfile, err)
	}
	if len(stages) < 2 {
		t.Fatalf("%s has %d stages, want a multi-stage build", dockerfile, len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	names := map[string]bool{}
	for _, s := range stages {
		checkImagePinned(t, "FROM "+s.Image, s.Image)
		if s.Name != "" {
			names[s.Name] = true
		}
	}

	t.Run("builder toolchain is at least go.mod's go version", func(t *testing.T) {
		ref := parseImageRef(build.Image)
		if ref.Name != "golang" {
			t.Fatalf("first stage is FROM %s, want golang", build.Image)
		}
		m := regexp.MustCompile(`^(\d+\.\d+(?:\.\d+)?)-`).FindStringSubmatch(ref.Tag)
		if m == nil {
			t.Fatalf("golang tag %q does not name an exact Go version", ref.Tag)
		}
		gomod := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(string(readRepoFile(t, "go.mod")))
		if gomod == nil {
			t.Fatal("go.mod has no go directive")
		}
		have, want := goVersion(t, m[1]), goVersion(t, gomod[1])
		for i := range have {
			if have[i] != want[i] {
				if have[i] < want[i] {
					t.Errorf("builder Go %s is older than go.mod's go %s (GOTOOLCHAIN=local fails the build)", m[1], gomod[1])
				}
				break
			}
		}
	})

	t.Run("static, trimmed, versioned build", func(t *testing.T) {
		text := build.text()
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/s3seal"} {
			if !strings.Contains(text, want) {
				t.Errorf("build stage lacks %q", want)
			}
		}
		if !slices.ContainsFunc(build.find("ARG"), func(in instruction) bool { return strings.HasPrefix(in.Args, "VERSION") }) {
			t.Error("build stage does not declare ARG VERSION")
		}
	})

	t.Run("final stage", func(t *testing.T) {
		users := final.find("USER")
		if len(users) == 0 {
			t.Fatal("final stage sets no USER: the image would run as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1].Args, ":")
		if user == "root" || user == "0" || user == "" {
			t.Errorf("final USER is %q, want a non-root user", user)
		}
		if n, err := strconv.Atoi(user); err != nil || n != runtimeUID {
			t.Errorf("final USER is %q, want the numeric uid %d so runAsNonRoot can verify it", user, runtimeUID)
		}
		hc := final.find("HEALTHCHECK")
		if len(hc) != 1 || !strings.Contains(hc[0].Args, `CMD ["/s3seal", "healthcheck"]`) {
			t.Errorf("HEALTHCHECK = %v, want exactly one running the exec form [\"/s3seal\", \"healthcheck\"]", hc)
		}
		if ex := final.find("EXPOSE"); len(ex) != 1 || ex[0].Args != "9010" {
			t.Errorf("EXPOSE = %v, want 9010", ex)
		}
		if ep := final.find("ENTRYPOINT"); len(ep) != 1 || !strings.HasPrefix(ep[0].Args, `["/s3seal"`) {
			t.Errorf("ENTRYPOINT = %v, want the exec form of /s3seal", ep)
		}
		if len(final.find("RUN")) != 0 {
			t.Error("final stage has RUN: the distroless runtime has no shell")
		}
	})

	t.Run("hygiene", func(t *testing.T) {
		for _, s := range stages {
			for _, in := range s.Instructions {
				if in.Cmd == "ADD" {
					t.Errorf("line %d: ADD; use COPY (ADD fetches URLs and unpacks archives)", in.Line)
				}
				if in.Cmd == "COPY" {
					for f := range strings.FieldsSeq(in.Args) {
						if from, ok := strings.CutPrefix(f, "--from="); ok && !names[from] {
							t.Errorf("line %d: COPY --from=%s names no build stage", in.Line, from)
						}
					}
				}
				if regexp.MustCompile(`(?i):latest\b`).MatchString(in.Args) {
					t.Errorf("line %d: %s refers to a latest tag", in.Line, in.Cmd)
				}
			}
		}
	})

	t.Run("dockerignore keeps the context small", func(t *testing.T) {
		ignore := string(readRepoFile(t, "deploy/Dockerfile.dockerignore"))
		for _, want := range []string{".git", ".tools"} {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(ignore) {
				t.Errorf("Dockerfile.dockerignore does not exclude %s", want)
			}
		}
	})
}

func TestParseDockerfile(t *testing.T) {
	const src = `# comment
FROM golang:1.26.8-bookworm AS build
RUN go build \
      -o /out/x \
    ./cmd/x

FROM --platform=linux/amd64 scratch
USER 65532:65532
`
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 {
		t.Fatalf("got %d stages, want 2", len(stages))
	}
	if stages[0].Name != "build" || stages[0].Image != "golang:1.26.8-bookworm" || stages[1].Image != "scratch" {
		t.Errorf("stages = %+v", stages)
	}
	run := stages[0].find("RUN")
	if len(run) != 1 || run[0].Line != 3 || !strings.Contains(run[0].Args, "-o /out/x") || !strings.Contains(run[0].Args, "./cmd/x") {
		t.Errorf("RUN = %+v, want one instruction from line 3 with its continuations", run)
	}
}
