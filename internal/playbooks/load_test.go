package playbooks

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"
)

// fixtureHeader reads the "# key: value" lines a fixture starts with.
func fixtureHeader(t *testing.T, data []byte, key string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		if v, ok := strings.CutPrefix(l, "# "+key+": "); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestFixtures loads every testdata/valid-*.yaml (must load) and
// invalid-*.yaml (must fail with each "# expect:" fragment, which names the
// file, line and column).
func TestFixtures(t *testing.T) {
	valid, _ := filepath.Glob(filepath.Join("testdata", "valid-*.yaml"))
	invalid, _ := filepath.Glob(filepath.Join("testdata", "invalid-*.yaml"))
	if len(valid) < 3 || len(invalid) < 20 {
		t.Fatalf("fixtures missing: %d valid, %d invalid", len(valid), len(invalid))
	}
	for _, path := range valid {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			pbs, err := ParseAll(filepath.Base(path), data)
			if err != nil {
				t.Fatalf("valid fixture fails: %v", err)
			}
			if len(pbs) == 0 {
				t.Fatal("no playbook loaded")
			}
		})
	}
	for _, path := range invalid {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			expects := fixtureHeader(t, data, "expect")
			if len(expects) == 0 {
				t.Fatal("fixture has no '# expect:' line")
			}
			wantDocs := 0
			if v := fixtureHeader(t, data, "valid-docs"); len(v) > 0 {
				wantDocs, _ = strconv.Atoi(v[0])
			}
			pbs, err := ParseAll(name, data)
			if err == nil {
				t.Fatal("invalid fixture loads without error")
			}
			if len(pbs) != wantDocs {
				t.Errorf("loaded %d playbooks, want %d", len(pbs), wantDocs)
			}
			for _, want := range expects {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			var le *LoadError
			if !errors.As(err, &le) || le.File != name || le.Line == 0 {
				t.Errorf("error is not a positioned *LoadError for %s: %#v", name, err)
			}
		})
	}
}

func TestParseTakesOneDocument(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid-multidoc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("multi.yaml", data); err == nil || !strings.Contains(err.Error(), "holds 2 playbook documents") {
		t.Fatalf("Parse of two documents: err = %v", err)
	}
	pbs, err := ParseAll("multi.yaml", data)
	if err != nil || len(pbs) != 2 || pbs[0].ID() != "multi-one" || pbs[1].ID() != "multi-two" {
		t.Fatalf("ParseAll: %v, %d playbooks", err, len(pbs))
	}
	if got := pbs[1].Source(); got != "multi.yaml:18:5" {
		t.Errorf("Source() = %s, want multi.yaml:18:5", got)
	}
	if _, err := Parse("empty.yaml", []byte("# nothing\n")); err == nil {
		t.Error("Parse of an empty file succeeded")
	}
}

func TestLoadFS(t *testing.T) {
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	minimal := read("valid-minimal.yaml")
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		wantIDs  []string
		wantErrs []string // fragments, each must appear; none means no error
	}{
		{
			name:    "valid files load, other extensions and subdirectories are ignored",
			fsys:    fstest.MapFS{"pb/a.yaml": {Data: minimal}, "pb/b.yml": {Data: read("valid-multidoc.yaml")}, "pb/notes.txt": {Data: []byte("x")}, "pb/sub/c.yaml": {Data: []byte("junk: [")}},
			wantIDs: []string{"minimal", "multi-one", "multi-two"},
		},
		{
			name:     "invalid files are reported, valid ones still load",
			fsys:     fstest.MapFS{"pb/a.yaml": {Data: minimal}, "pb/bad.yaml": {Data: read("invalid-kind.yaml")}, "pb/worse.yaml": {Data: read("invalid-cel-syntax.yaml")}},
			wantIDs:  []string{"minimal"},
			wantErrs: []string{"pb/bad.yaml:4:7: kind must be", "pb/worse.yaml:15:29: signal heap-oom: Syntax error"},
		},
		{
			name:     "a duplicate id is reported with both files and skipped",
			fsys:     fstest.MapFS{"pb/a.yaml": {Data: minimal}, "pb/b.yaml": {Data: minimal}},
			wantIDs:  []string{"minimal"},
			wantErrs: []string{`pb/b.yaml:5:5: duplicate playbook id "minimal": already defined at pb/a.yaml:5:5`},
		},
		{
			name:     "a directory without playbooks is an error",
			fsys:     fstest.MapFS{"pb/readme.md": {Data: []byte("x")}},
			wantErrs: []string{"pb: no *.yaml or *.yml playbook files"},
		},
		{
			name:     "a missing directory is an error",
			fsys:     fstest.MapFS{},
			wantErrs: []string{"loading playbooks from pb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := LoadFS(tt.fsys, "pb")
			if set == nil {
				t.Fatal("LoadFS returned a nil set")
			}
			var ids []string
			for _, pb := range set.Playbooks() {
				ids = append(ids, pb.ID())
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
			if len(tt.wantErrs) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(tt.wantErrs) > 0 && err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if err != nil && len(tt.wantErrs) > 1 {
				// The joined error is flat: one *LoadError per problem.
				if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != len(tt.wantErrs) {
					t.Errorf("joined %d errors, want %d", n, len(tt.wantErrs))
				}
			}
		})
	}
}

func TestLoadDirNamesFilesWithTheirDirectory(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "invalid-threshold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadDir(dir)
	want := filepath.Join(dir, "t.yaml") + ":8:12: threshold must be in (0, 1]"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestNewSetRejectsDuplicates(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid-minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, errA := Parse("a.yaml", data)
	b, errB := Parse("b.yaml", data)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if _, err := NewSet(a, b); err == nil || !strings.Contains(err.Error(), "a.yaml:5:5 and b.yaml:5:5") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewSet(a, nil); err == nil {
		t.Fatal("nil playbook accepted")
	}
	s, err := NewSet(a)
	if err != nil || len(s.Playbooks()) != 1 {
		t.Fatalf("NewSet(a) = %v, %v", s, err)
	}
}

func TestLoadErrorFormat(t *testing.T) {
	tests := []struct {
		err  LoadError
		want string
	}{
		{LoadError{File: "a.yaml", Line: 3, Col: 7, Msg: "bad"}, "a.yaml:3:7: bad"},
		{LoadError{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{LoadError{File: "a.yaml", Msg: "bad"}, "a.yaml: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestScalarPos checks that offsets inside each YAML scalar style map back
// to the right file line and column.
func TestScalarPos(t *testing.T) {
	src := strings.Join([]string{
		"plain: ev.oomErrors.size()",  // 1
		"single: 'ev.leaks'",          // 2
		"double: \"ev.gc\"",           // 3
		"literal: |",                  // 4
		"  ev.trends.filter(t,",       // 5
		"    t.shape == 'leak')",      // 6
		"folded: >-",                  // 7
		"  ev.events.filter(e,",       // 8
		"",                            // 9
		"    e.count > 1)",            // 10
		"multi: ev.deploys.filter(d,", // 11
		"  d.imageChanged)",           // 12
		"escaped: \"a\\tb.c\"",        // 13
	}, "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(src, "\n")
	node := func(key string) *yaml.Node {
		m := doc.Content[0]
		for i := 0; i < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		t.Fatalf("no key %s", key)
		return nil
	}
	tests := []struct {
		key, at   string // at: the text whose first byte's position is checked
		line, col int
	}{
		{"plain", "size", 1, 21},
		{"plain", "ev", 1, 8},
		{"single", "leaks", 2, 13},
		{"double", "gc", 3, 13},
		{"literal", "ev", 5, 3},
		{"literal", "shape", 6, 7},
		{"folded", "filter", 8, 13},
		{"folded", "count", 10, 7},
		{"multi", "imageChanged", 12, 5},
		// Escapes break the verbatim property: report at the first escape.
		{"escaped", "c", 13, 12},
	}
	for _, tt := range tests {
		n := node(tt.key)
		off := strings.Index(n.Value, tt.at)
		if off < 0 {
			t.Fatalf("%s: %q not in %q", tt.key, tt.at, n.Value)
		}
		got := scalarPos(lines, n, off)
		if got != (pos{tt.line, tt.col}) {
			t.Errorf("%s %q: got %d:%d, want %d:%d", tt.key, tt.at, got.line, got.col, tt.line, tt.col)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"4096", 4096, false},
		{"512Mi", 512 << 20, false},
		{"1.5GiB", 3 << 29, false},
		{"2Gi", 2 << 30, false},
		{"1 kB", 1000, false},
		{"3GB", 3e9, false},
		{"512M", 0, true}, // ambiguous: MiB to the JVM, MB to Kubernetes
		{"512m", 0, true}, // milli to Kubernetes
		{"Mi", 0, true},
		{"1.2.3Mi", 0, true},
		{"99999999Ti", 0, true},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzParseAll checks that no input panics the loader and that every
// failure is reported as positioned *LoadErrors for the named file. Seeds
// are the fixtures; `go test -fuzz FuzzParseAll` explores further.
func FuzzParseAll(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pbs, err := ParseAll("fuzz.yaml", data)
		for _, pb := range pbs {
			if pb == nil || pb.ID() == "" {
				t.Fatalf("loaded an empty playbook: %v", pb)
			}
		}
		for _, e := range flatten(err) {
			var le *LoadError
			if !errors.As(e, &le) || le.File != "fuzz.yaml" {
				t.Fatalf("error is not a *LoadError for fuzz.yaml: %#v", e)
			}
		}
	})
}
