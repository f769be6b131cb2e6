package v1_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/playbooks"
	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

var update = flag.Bool("update", false, "rewrite playbooks/playbook.schema.json from the Go types")

// committedSchema is where editors find the schema: the playbooks'
// yaml-language-server modeline points at ./playbook.schema.json.
const committedSchema = "../../../playbooks/playbook.schema.json"

func TestSchemaIsCommitted(t *testing.T) {
	got, err := v1.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(committedSchema, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(committedSchema)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/playbooks/v1 -run Schema -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the Go types; run go test ./internal/playbooks/v1 -run Schema -update", committedSchema)
	}
	again, err := v1.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Error("JSONSchema is not deterministic")
	}
	if !json.Valid(got) {
		t.Error("JSONSchema returned invalid JSON")
	}
}

func loadSchema(t testing.TB) map[string]any {
	t.Helper()
	data, err := v1.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaShape pins the parts of the schema editors rely on, read back
// from the JSON rather than from the generator's structs.
func TestSchemaShape(t *testing.T) {
	s := loadSchema(t)
	if s["$schema"] != v1.SchemaDialect {
		t.Errorf("$schema = %v", s["$schema"])
	}
	defs, _ := s["definitions"].(map[string]any)
	objects := map[string]map[string]any{"Playbook": s}
	for _, name := range []string{"Signal", "Exclusion", "Reference", "Test"} {
		d, ok := defs[name].(map[string]any)
		if !ok {
			t.Fatalf("definitions.%s missing", name)
		}
		objects[name] = d
	}
	wantRequired := map[string][]string{
		"Playbook":  {"apiVersion", "kind", "id", "title", "summary", "threshold", "signals"},
		"Signal":    {"name", "description", "weight", "expr"},
		"Exclusion": {"name", "description", "expr"},
		"Reference": {"title", "url"},
		"Test":      {"bundle", "expect"},
	}
	for name, obj := range objects {
		if obj["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties = %v, want false (the loader is strict)", name, obj["additionalProperties"])
		}
		if got := strs(obj["required"]); !slices.Equal(got, wantRequired[name]) {
			t.Errorf("%s: required = %v, want %v", name, got, wantRequired[name])
		}
		props, _ := obj["properties"].(map[string]any)
		for key, p := range props {
			if d, _ := p.(map[string]any)["description"].(string); strings.TrimSpace(d) == "" {
				t.Errorf("%s.%s has no description", name, key)
			}
		}
	}
	props := s["properties"].(map[string]any)
	for key, want := range map[string][]string{"apiVersion": {"oombot/v1"}, "kind": {"Playbook"}} {
		if got := strs(props[key].(map[string]any)["enum"]); !slices.Equal(got, want) {
			t.Errorf("%s enum = %v, want %v", key, got, want)
		}
	}
	expect := objects["Test"]["properties"].(map[string]any)["expect"].(map[string]any)
	if got := strs(expect["enum"]); !slices.Equal(got, []string{"match", "no-match"}) {
		t.Errorf("expect enum = %v", got)
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

// validate checks doc against the subset of JSON Schema that JSONSchema
// emits and returns one message per violation, prefixed with its path.
// Written for these tests so they check the emitted JSON itself, as an
// editor would, rather than the generator's own structs.
func validate(root, s map[string]any, doc any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/definitions/")
		def, _ := root["definitions"].(map[string]any)[name].(map[string]any)
		if !found || def == nil {
			return []string{path + ": unresolvable $ref " + ref}
		}
		return validate(root, def, doc, path)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if typ, ok := s["type"].(string); ok && !hasType(doc, typ) {
		fail("want %s, got %T", typ, doc)
		return errs
	}
	if enum, ok := s["enum"]; ok && !slices.Contains(asList(enum), doc) {
		fail("%v is not one of %v", doc, enum)
	}
	if c, ok := s["const"]; ok && c != doc {
		fail("%v is not %v", doc, c)
	}
	if str, ok := doc.(string); ok {
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if m, ok := s["maxLength"].(float64); ok && float64(len([]rune(str))) > m {
			fail("longer than %v", m)
		}
	}
	if n, ok := doc.(float64); ok {
		if m, ok := s["exclusiveMinimum"].(float64); ok && !(n > m) {
			fail("%v is not > %v", n, m)
		}
		if m, ok := s["minimum"].(float64); ok && n < m {
			fail("%v is < %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			fail("%v is > %v", n, m)
		}
	}
	if list, ok := doc.([]any); ok {
		if m, ok := s["minItems"].(float64); ok && float64(len(list)) < m {
			fail("fewer than %v items", m)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range list {
				errs = append(errs, validate(root, items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	if obj, ok := doc.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range strs(s["required"]) {
			if _, ok := obj[r]; !ok {
				fail("missing required %q", r)
			}
		}
		for k, v := range obj {
			p, known := props[k].(map[string]any)
			if !known {
				if s["additionalProperties"] == false {
					fail("unknown field %q", k)
				}
				continue
			}
			errs = append(errs, validate(root, p, v, path+"."+k)...)
		}
	}
	if cond, ok := s["if"].(map[string]any); ok && len(validate(root, cond, doc, path)) == 0 {
		if then, ok := s["then"].(map[string]any); ok {
			errs = append(errs, validate(root, then, doc, path)...)
		}
	}
	slices.Sort(errs)
	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

// fromNode turns a YAML node into the JSON data model by its resolved tag,
// as yaml-language-server sees a document: numbers are float64, duplicate
// keys keep the last value.
func fromNode(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = fromNode(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, fromNode(c))
		}
		return l
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	}
	return n.Value
}

// documents reads every non-empty YAML document of a file.
func documents(t testing.TB, data []byte) []any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := fromNode(&n); d != nil {
			docs = append(docs, d)
		}
	}
}

func schemaErrors(t testing.TB, s map[string]any, data []byte) []string {
	t.Helper()
	var errs []string
	for i, doc := range documents(t, data) {
		errs = append(errs, validate(s, s, doc, fmt.Sprintf("doc[%d]", i))...)
	}
	return errs
}

func TestShippedAndValidPlaybooksValidate(t *testing.T) {
	s := loadSchema(t)
	shipped, _ := filepath.Glob("../../../playbooks/*.yaml")
	valid, _ := filepath.Glob("../testdata/valid-*.yaml")
	if len(shipped) < 6 || len(valid) == 0 {
		t.Fatalf("found %d shipped playbooks and %d valid fixtures", len(shipped), len(valid))
	}
	for _, f := range append(shipped, valid...) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if errs := schemaErrors(t, s, data); len(errs) > 0 {
				t.Errorf("schema rejects a playbook the loader accepts:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// TestInvalidFixturesAgainstSchema states, for every invalid loader
// fixture, whether the schema can see the mistake: structural ones (unknown
// or missing fields, wrong types, enums, patterns, bounds) it must reject;
// the rest (CEL, templates, duplicates) only the loader can find. A new
// fixture must be classified here.
func TestInvalidFixturesAgainstSchema(t *testing.T) {
	const (
		structural = "schema rejects"
		loaderOnly = "only the loader rejects"
		notYAML    = "not YAML"
	)
	classes := map[string]string{
		"invalid-api-version.yaml":         structural,
		"invalid-bad-id.yaml":              structural,
		"invalid-bad-signal-name.yaml":     structural,
		"invalid-cel-bytesof.yaml":         loaderOnly,
		"invalid-cel-double-int.yaml":      loaderOnly,
		"invalid-cel-regex.yaml":           loaderOnly,
		"invalid-cel-returns-bool.yaml":    loaderOnly,
		"invalid-cel-returns-budget.yaml":  loaderOnly,
		"invalid-cel-syntax.yaml":          loaderOnly,
		"invalid-cel-undefined-field.yaml": loaderOnly,
		"invalid-duplicate-key.yaml":       loaderOnly, // editors flag duplicate keys as a YAML error
		"invalid-duplicate-signal.yaml":    loaderOnly,
		"invalid-kind.yaml":                structural,
		"invalid-missing-id.yaml":          structural,
		"invalid-missing-threshold.yaml":   structural,
		"invalid-missing-title.yaml":       structural,
		"invalid-multidoc.yaml":            structural,
		"invalid-no-signals.yaml":          structural,
		"invalid-reference-url.yaml":       structural,
		"invalid-signal-not-mapping.yaml":  structural,
		"invalid-template.yaml":            loaderOnly,
		"invalid-test-expect.yaml":         structural,
		"invalid-threshold.yaml":           structural,
		"invalid-unknown-field.yaml":       structural,
		"invalid-veto-weight.yaml":         structural,
		"invalid-weight-type.yaml":         structural,
		"invalid-weight-zero.yaml":         structural,
		"invalid-yaml-syntax.yaml":         notYAML,
	}
	s := loadSchema(t)
	files, _ := filepath.Glob("../testdata/invalid-*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid fixtures found")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			class, ok := classes[name]
			if !ok {
				t.Fatalf("new fixture: classify it in TestInvalidFixturesAgainstSchema")
			}
			if class == notYAML {
				return
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			errs := schemaErrors(t, s, data)
			switch {
			case class == structural && len(errs) == 0:
				t.Error("the schema accepts this structurally invalid playbook")
			case class == loaderOnly && len(errs) > 0:
				t.Errorf("the schema now rejects it (%s): reclassify the fixture as structural", strings.Join(errs, "; "))
			}
		})
	}
}

// TestSchemaAgreesWithLoader edits a valid playbook one field at a time and
// checks the schema and the loader give the same verdict, so the bounds,
// patterns and required fields the schema states are the loader's.
func TestSchemaAgreesWithLoader(t *testing.T) {
	base, err := os.ReadFile("../testdata/valid-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := loadSchema(t)
	fresh := func() map[string]any { return documents(t, base)[0].(map[string]any) }
	at := func(doc map[string]any, list string, i int) map[string]any {
		return doc[list].([]any)[i].(map[string]any)
	}
	set := func(list string, i int, key string, v any) func(map[string]any) {
		return func(doc map[string]any) {
			if list == "" {
				doc[key] = v
				return
			}
			at(doc, list, i)[key] = v
		}
	}
	cases := map[string]func(map[string]any){
		"unchanged":                 func(map[string]any) {},
		"threshold 0":               set("", 0, "threshold", 0.0),
		"threshold 1":               set("", 0, "threshold", 1.0),
		"threshold 1.01":            set("", 0, "threshold", 1.01),
		"threshold -0.5":            set("", 0, "threshold", -0.5),
		"threshold tiny":            set("", 0, "threshold", 1e-9),
		"threshold as string":       set("", 0, "threshold", "0.5"),
		"id upper case":             set("", 0, "id", "Full_Example"),
		"id 63 chars":               set("", 0, "id", strings.Repeat("a", 63)),
		"id 64 chars":               set("", 0, "id", strings.Repeat("a", 64)),
		"id with space":             set("", 0, "id", "full example"),
		"title blank":               set("", 0, "title", "   "),
		"apiVersion v2":             set("", 0, "apiVersion", "oombot/v2"),
		"kind":                      set("", 0, "kind", "Runbook"),
		"unknown top-level field":   set("", 0, "treshold", 0.5),
		"signals empty":             set("", 0, "signals", []any{}),
		"signal not a mapping":      func(doc map[string]any) { doc["signals"].([]any)[0] = "heap-oom" },
		"weight 0":                  set("signals", 0, "weight", 0.0),
		"weight negative":           set("signals", 0, "weight", -1.0),
		"weight small":              set("signals", 0, "weight", 0.001),
		"weight 5":                  set("signals", 0, "weight", 5.0),
		"weight as word":            set("signals", 0, "weight", "heavy"),
		"required as string":        set("signals", 0, "required", "always"),
		"signal name space":         set("signals", 0, "name", "heap oom"),
		"signal unknown field":      set("signals", 0, "weigth", 1.0),
		"signal expr blank":         set("signals", 0, "expr", " "),
		"veto weight":               set("excludeWhen", 0, "weight", 1.0),
		"veto name upper":           set("excludeWhen", 0, "name", "Evicted"),
		"url relative":              set("references", 0, "url", "docs/heap.md"),
		"url ftp":                   set("references", 0, "url", "ftp://example.com/x"),
		"url upper-case scheme":     set("references", 0, "url", "HTTPS://example.com/x"),
		"url no host":               set("references", 0, "url", "https:///x"),
		"expect matches":            set("tests", 0, "expect", "matches"),
		"minConfidence 1.5":         set("tests", 0, "minConfidence", 1.5),
		"minConfidence 1":           set("tests", 0, "minConfidence", 1.0),
		"minConfidence on no-match": set("tests", 1, "minConfidence", 0.5),
		"minConfidence 0 no-match":  set("tests", 1, "minConfidence", 0.0),
		"bundle blank":              set("tests", 0, "bundle", ""),
	}
	// Removing each field in turn: exactly the required ones must be refused.
	doc := fresh()
	for key := range doc {
		cases["without "+key] = func(d map[string]any) { delete(d, key) }
	}
	for _, list := range []string{"signals", "excludeWhen", "references", "tests"} {
		for key := range at(doc, list, 0) {
			cases["without "+list+"[0]."+key] = func(d map[string]any) { delete(at(d, list, 0), key) }
		}
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			d := fresh()
			mutate(d)
			data, err := yaml.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			_, loadErr := playbooks.Parse("mutated.yaml", data)
			schemaErrs := validate(s, s, fromNode(mustNode(t, data)), "doc")
			if (loadErr != nil) != (len(schemaErrs) > 0) {
				t.Errorf("loader and schema disagree:\nloader: %v\nschema: %v\nplaybook:\n%s", loadErr, schemaErrs, data)
			}
			if name == "unchanged" && loadErr != nil {
				t.Fatalf("the base playbook does not load: %v", loadErr)
			}
		})
	}
}

func mustNode(t testing.TB, data []byte) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

// guideExample finds the worked example playbook in CONTRIBUTING.md: the
// fenced yaml block whose first line names playbooks/thread-leak.yaml.
func guideExample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../../../CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "```yaml\n# playbooks/thread-leak.yaml\n"
	_, rest, ok := bytes.Cut(data, []byte(start))
	if !ok {
		t.Fatalf("CONTRIBUTING.md has no block starting %q", start)
	}
	block, _, ok := bytes.Cut(rest, []byte("\n```\n"))
	if !ok {
		t.Fatal("the example block in CONTRIBUTING.md is not closed")
	}
	return block
}

// TestGuideExample keeps the "Write a playbook" walkthrough honest: its
// playbook passes the schema and the loader, matches a thread leak and
// stays quiet on a heap OutOfMemoryError.
func TestGuideExample(t *testing.T) {
	data := guideExample(t)
	if errs := schemaErrors(t, loadSchema(t), data); len(errs) > 0 {
		t.Errorf("schema rejects the guide's example: %v", errs)
	}
	pb, err := playbooks.Parse("CONTRIBUTING.md", data)
	if err != nil {
		t.Fatalf("the guide's example does not load: %v", err)
	}
	set, err := playbooks.NewSet(pb)
	if err != nil {
		t.Fatal(err)
	}
	cite := []evidence.Citation{{Source: "logs/app.previous.log", Ref: "line 1", Text: "..."}}
	threadOOM := evidence.OOMError{ID: "oom-1", Kind: evidence.OOMNativeThread,
		Message: "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached",
		Frames:  []string{"java.base/java.lang.Thread.start0(Native Method)", "java.base/java.lang.Thread.start(Thread.java:809)"},
		Count:   1, Cites: cite}
	heapOOM := evidence.OOMError{ID: "oom-1", Kind: evidence.OOMHeap, Message: "java.lang.OutOfMemoryError: Java heap space", Count: 1, Cites: cite}
	threads := evidence.Trend{ID: "trend-threads", Signal: "jvm_threads_live", Unit: "count", Shape: evidence.ShapeLeak,
		Samples: 100, FloorStart: 40, FloorEnd: 1900, GrowthPerHour: 3000, Cites: cite}
	for _, tc := range []struct {
		name  string
		ev    evidence.Evidence
		match bool
	}{
		{"thread OOM and thread leak", evidence.Evidence{OOMErrors: []evidence.OOMError{threadOOM}, Trends: []evidence.Trend{threads}}, true},
		{"thread OOM alone", evidence.Evidence{OOMErrors: []evidence.OOMError{threadOOM}}, true},
		{"thread leak alone", evidence.Evidence{Trends: []evidence.Trend{threads}}, false},
		{"heap OOM", evidence.Evidence{OOMErrors: []evidence.OOMError{heapOOM}}, false},
		{"nothing", evidence.Evidence{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := set.Evaluate(context.Background(), &tc.ev)
			if len(res) != 1 || res[0].Matched != tc.match {
				t.Errorf("matched = %v, want %v (%s)", res[0].Matched, tc.match, res[0].Why)
			}
		})
	}
}
