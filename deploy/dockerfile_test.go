package deploy_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// There is no container engine where the tests run, so the Dockerfile is
// checked by parsing it and running its builder's `go build` line as
// written: the binary must be static, the runtime image distroless and
// non-root, and the embedded playbooks must load and match.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
	line int
}

type stage struct {
	from, name string
	ins        []instruction
}

func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		stages []stage
		cur    strings.Builder
		start  int
	)
	sc := bufio.NewScanner(f)
	n := 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trim, "\\") {
			cur.WriteString(strings.TrimSuffix(trim, "\\") + " ")
			continue
		}
		cur.WriteString(trim)
		flush()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// goVersion is the `go` line of the main module's go.mod.
func goVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a builder and a runtime stage", len(stages))
	}
	build, run := stages[0], stages[1]

	// The builder's Go is go.mod's: golang images set GOTOOLCHAIN=local, so
	// an older one refuses to build and a newer minor drifts from CI.
	if want := "golang:" + goVersion(t); build.from != want && !strings.HasPrefix(build.from, want+"-") {
		t.Errorf("builder is %s, want %s (go.mod's go line)", build.from, want)
	}
	if build.name == "" {
		t.Error("the builder stage has no name for COPY --from")
	}
	if run.from != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("runtime image is %s, want gcr.io/distroless/static-debian12:nonroot", run.from)
	}
	users := run.all("USER")
	if len(users) != 1 || !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(users[0].args) {
		t.Errorf("runtime USER = %+v, want one numeric non-root uid (Kubernetes checks runAsNonRoot only on numeric users)", users)
	} else if !strings.HasPrefix(users[0].args, "65532") {
		t.Errorf("USER %s: the manifests run as 65532", users[0].args)
	}
	jsonArgs := func(cmd string) []string {
		ins := run.all(cmd)
		if len(ins) != 1 {
			t.Fatalf("%d %s instructions in the runtime stage, want 1", len(ins), cmd)
		}
		var v []string
		if err := json.Unmarshal([]byte(ins[0].args), &v); err != nil {
			t.Fatalf("%s %s: want the exec (JSON) form, so signals reach the bot: %v", cmd, ins[0].args, err)
		}
		return v
	}
	if got := jsonArgs("ENTRYPOINT"); len(got) != 1 || got[0] != "/bot" {
		t.Errorf("ENTRYPOINT %q, want [\"/bot\"]", got)
	}
	if got := strings.Join(jsonArgs("CMD"), " "); got != "serve --config "+configPath {
		t.Errorf("CMD %q, want serve --config %s (where the manifests mount the config)", got, configPath)
	}
	var labels string
	for _, l := range run.all("LABEL") {
		labels += l.args + " "
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.description"} {
		if !strings.Contains(labels, l+"=") {
			t.Errorf("runtime stage lacks OCI label %s", l)
		}
	}

	// The go build line, as written.
	var buildLine string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.args, "go build") {
			buildLine = in.args
		}
	}
	if buildLine == "" {
		t.Fatal("the builder has no RUN ... go build line")
	}
	env, argv := splitCommand(t, buildLine)
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("go build runs with CGO_ENABLED=%q, want 0 (a static binary for distroless/static)", env["CGO_ENABLED"])
	}
	for _, flag := range []string{"-trimpath", "-ldflags=-s -w"} {
		if !containsFlag(argv, flag) {
			t.Errorf("go build line %q lacks %s", buildLine, flag)
		}
	}
	out := flagValue(argv, "-o")
	copies := run.all("COPY")
	if len(copies) != 1 || copies[0].args != fmt.Sprintf("--from=%s %s /bot", build.name, out) {
		t.Errorf("runtime COPY = %+v, want --from=%s %s /bot", copies, build.name, out)
	}
	if testing.Short() {
		t.Skip("-short: not building the binary (go build ./cmd/bot takes minutes on a cold cache)")
	}
	bin := filepath.Join(t.TempDir(), "bot")
	argv = replaceFlag(argv, "-o", bin)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, b)
	}
	if p, err := staticProblems(bin); err != nil || len(p) > 0 {
		t.Errorf("the binary is not static: %q, %v", p, err)
	}

	// The embedded playbooks: from a directory with no playbooks/ in it,
	// the built-in set must load and match its own incident bundle.
	explain := exec.Command(bin, "playbooks", "explain", "image-decode-bomb",
		"--bundle", filepath.Join(repoRoot, "examples", "incidents", "image-decode-bomb"))
	explain.Dir = t.TempDir()
	b, err := explain.CombinedOutput()
	if err != nil || !bytes.Contains(b, []byte("MATCH")) {
		t.Errorf("bot playbooks explain with the embedded set: %v\n%s", err, b)
	}
}

// staticProblems lists why a binary would not run on distroless/static,
// which has no libc: a dynamic loader (PT_INTERP), a dynamic segment, or
// shared libraries it needs (DT_NEEDED).
func staticProblems(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, _ := io.ReadAll(p.Open())
			out = append(out, fmt.Sprintf("PT_INTERP %q: dynamically linked", bytes.TrimRight(b, "\x00")))
		case elf.PT_DYNAMIC:
			out = append(out, "a PT_DYNAMIC segment")
		}
	}
	if f.Section(".dynamic") != nil {
		libs, err := f.ImportedLibraries()
		if err != nil {
			return nil, err
		}
		if len(libs) > 0 {
			out = append(out, fmt.Sprintf("needs shared libraries (DT_NEEDED): %v", libs))
		}
	}
	return out, nil
}

// The static check must fail on a dynamically linked program.
func TestStaticProblemsOnADynamicBinary(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to compare with")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	p, err := staticProblems(sh)
	if err != nil {
		t.Skipf("%s is not an ELF binary: %v", sh, err)
	}
	if len(p) == 0 {
		t.Skipf("%s is statically linked here; nothing to compare with", sh)
	}
	if !strings.Contains(strings.Join(p, "; "), "PT_INTERP") {
		t.Errorf("problems for %s = %q, want PT_INTERP", sh, p)
	}
}

// splitCommand splits a RUN line into leading VAR=value assignments and
// argv, with shell quoting ("..." and '...'). Anything a plain exec can't
// run (pipes, &&, substitutions) fails the test: the line must stay one
// command.
func splitCommand(t *testing.T, line string) (map[string]string, []string) {
	t.Helper()
	if strings.ContainsAny(line, "|;&$`<>") {
		t.Fatalf("RUN %q: keep the go build line a single command without shell syntax", line)
	}
	words, err := shellWords(line)
	if err != nil {
		t.Fatalf("RUN %q: %v", line, err)
	}
	env := map[string]string{}
	for len(words) > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[0]) {
		k, v, _ := strings.Cut(words[0], "=")
		env[k] = v
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("RUN %q: want [VAR=value...] go build ...", line)
	}
	return env, words
}

// containsFlag matches "-name=value" against both "-name=value" and
// "-name value" spellings.
func containsFlag(argv []string, flag string) bool {
	name, value, hasValue := strings.Cut(flag, "=")
	for i, a := range argv {
		if a == flag || (!hasValue && a == name) {
			return true
		}
		if hasValue && a == name && i+1 < len(argv) && argv[i+1] == value {
			return true
		}
	}
	return false
}

func flagValue(argv []string, name string) string {
	for i, a := range argv {
		if a == name && i+1 < len(argv) {
			return argv[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func replaceFlag(argv []string, name, value string) []string {
	out := append([]string(nil), argv...)
	for i, a := range out {
		if a == name && i+1 < len(out) {
			out[i+1] = value
		} else if strings.HasPrefix(a, name+"=") {
			out[i] = name + "=" + value
		}
	}
	return out
}

// TestDockerignoreKeepsBuildInputs: every file `go build ./cmd/bot` reads
// (Go sources and embedded files of the module's packages, go.mod, go.sum)
// must reach the build context, or `docker build` fails where no test runs.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	patterns := readDockerignore(t)
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", "./cmd/bot")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Path string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != "github.com/oombot/oombot" {
			continue
		}
		rel, err := filepath.Rel(repoRoot, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(files) < 50 {
		t.Fatalf("only %d build inputs found; go list output changed?", len(files))
	}
	for _, f := range files {
		if excluded(patterns, f) {
			t.Errorf(".dockerignore excludes %s, which go build ./cmd/bot needs", f)
		}
	}
	// And it keeps what the build does not need out of the context.
	for _, f := range []string{".git/config", "examples/incidents/image-decode-bomb/bundle.yaml", "internal/config/config_test.go", "testdata/README.md", "tools/loki/go.mod"} {
		if !excluded(patterns, f) {
			t.Errorf(".dockerignore sends %s to the build context", f)
		}
	}
}

type ignorePattern struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(t *testing.T) []ignorePattern {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var out []ignorePattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p.negate, line = true, rest
		}
		p.re = globRegexp(strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/"))
		out = append(out, p)
	}
	return out
}

// globRegexp translates a .dockerignore pattern the way Docker's matcher
// reads it: * and ? stay within one path segment, ** spans segments, and a
// pattern matching a directory excludes everything below it.
func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("(/.*)?$")
	return regexp.MustCompile(b.String())
}

// excluded applies the patterns in order; the last match decides.
func excluded(patterns []ignorePattern, path string) bool {
	ex := false
	for _, p := range patterns {
		if p.re.MatchString(path) {
			ex = !p.negate
		}
	}
	return ex
}
