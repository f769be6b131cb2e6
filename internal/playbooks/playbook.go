package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"

	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

// Playbook is a loaded playbook: its spec as written, validated, with every
// expression type-checked and compiled and its next-steps template parsed.
// A Playbook is immutable and safe for concurrent use.
type Playbook struct {
	spec      v1.Playbook
	file      string
	at        pos
	signals   []*compiledExpr
	vetoes    []*compiledExpr
	nextSteps *template.Template
	// nodes and lines are the decoded YAML and the file's text, kept so
	// checks after loading (lint) can point into the file as precisely
	// as the loader does.
	nodes map[string]*yaml.Node
	lines []string
}

// compiledExpr is a signal or veto ready to evaluate.
type compiledExpr struct {
	name, description string
	weight            float64
	required          bool
	prg               cel.Program
}

// ID returns the playbook's id.
func (p *Playbook) ID() string { return p.spec.ID }

// Title returns the playbook's title.
func (p *Playbook) Title() string { return p.spec.Title }

// Spec returns the playbook as written. Its slices are shared with the
// playbook and must not be modified.
func (p *Playbook) Spec() v1.Playbook { return p.spec }

// Source returns where the playbook was defined, as "file:line:col".
func (p *Playbook) Source() string {
	return fmt.Sprintf("%s:%d:%d", p.file, p.at.line, p.at.col)
}

// nameRE is the shape of playbook ids and signal names: they appear in
// reports, URLs and command lines, so they stay lower-case and unquoted.
var nameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// maxNameLen keeps names readable in one report column.
const maxNameLen = 63

// Parse loads a file holding exactly one playbook document. name is used in
// error messages. Use ParseAll for files holding several `---` documents.
func Parse(name string, data []byte) (*Playbook, error) {
	pbs, err := ParseAll(name, data)
	if err != nil {
		return nil, err
	}
	if len(pbs) != 1 {
		return nil, &LoadError{File: name, Msg: fmt.Sprintf("holds %d playbook documents; Parse takes exactly one (use ParseAll)", len(pbs))}
	}
	return pbs[0], nil
}

// ParseAll loads every playbook document in a file (documents are separated
// by `---`; empty documents are ignored). Invalid documents are left out and
// reported in the error, an errors.Join of *LoadError; valid ones are still
// returned.
func ParseAll(name string, data []byte) ([]*Playbook, error) {
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var (
		out  []*Playbook
		errs []error
	)
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The YAML stream cannot be resumed after a syntax error.
			errs = append(errs, yamlError(name, err))
			break
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue
		}
		c := &compiler{env: env, file: name, lines: lines, d: newStrictDecoder(name)}
		if pb := c.compile(doc.Content[0]); pb != nil {
			out = append(out, pb)
		}
		errs = append(errs, c.d.errs...)
	}
	return out, errors.Join(errs...)
}

// compiler validates and compiles one playbook document.
type compiler struct {
	env   *cel.Env
	file  string
	lines []string
	d     *strictDecoder
}

func (c *compiler) errAt(p pos, format string, args ...any) {
	c.d.errs = append(c.d.errs, &LoadError{File: c.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
}

// errAtPath reports at the value found at path, or at its parent when the
// field is missing.
func (c *compiler) errAtPath(path, format string, args ...any) {
	c.errAt(c.d.pos(path), format, args...)
}

func (c *compiler) has(path string) bool {
	_, ok := c.d.nodes[path]
	return ok
}

func (c *compiler) compile(root *yaml.Node) *Playbook {
	var spec v1.Playbook
	c.d.decode("", "playbook", root, reflect.ValueOf(&spec).Elem())
	if len(c.d.errs) > 0 {
		// Validating a half-decoded document only adds noise ("missing
		// weight" after "weight: cannot unmarshal").
		return nil
	}
	c.checkHeader(spec)
	names := map[string]string{} // signal/veto name -> path of first use
	for i, s := range spec.Signals {
		path := fmt.Sprintf("signals[%d]", i)
		owner := label("signal", s.Name, path)
		c.checkName(path, "signal", s.Name, names)
		c.checkText(path+".description", owner, "description", s.Description)
		switch {
		case !c.has(path + ".weight"):
			c.errAtPath(path, "%s: missing weight (> 0): its share of the playbook's confidence", owner)
		case !(s.Weight > 0) || math.IsInf(s.Weight, 0):
			c.errAtPath(path+".weight", "%s: weight must be a number > 0, got %v", owner, s.Weight)
		}
	}
	for i, x := range spec.ExcludeWhen {
		path := fmt.Sprintf("excludeWhen[%d]", i)
		c.checkName(path, "excludeWhen entry", x.Name, names)
		c.checkText(path+".description", label("excludeWhen", x.Name, path), "description", x.Description)
	}
	for i, r := range spec.References {
		path := fmt.Sprintf("references[%d]", i)
		c.checkText(path+".title", fmt.Sprintf("references[%d]", i), "title", r.Title)
		if !c.has(path + ".url") {
			c.errAtPath(path, "references[%d]: missing url", i)
		} else if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			c.errAtPath(path+".url", "references[%d]: url must be an absolute http(s) URL, got %q", i, r.URL)
		}
	}
	for i, t := range spec.Tests {
		path := fmt.Sprintf("tests[%d]", i)
		c.checkText(path+".bundle", path, "bundle", t.Bundle)
		if t.Expect != v1.ExpectMatch && t.Expect != v1.ExpectNoMatch {
			c.errAtPath(path+".expect", "%s: expect must be %q or %q, got %q", path, v1.ExpectMatch, v1.ExpectNoMatch, t.Expect)
		}
		if !(t.MinConfidence >= 0 && t.MinConfidence <= 1) {
			c.errAtPath(path+".minConfidence", "%s: minConfidence must be between 0 and 1, got %v", path, t.MinConfidence)
		} else if t.MinConfidence > 0 && t.Expect == v1.ExpectNoMatch {
			c.errAtPath(path+".minConfidence", "%s: minConfidence only applies to expect: %s", path, v1.ExpectMatch)
		}
	}
	pb := &Playbook{spec: spec, file: c.file, at: c.d.pos("id"), nodes: c.d.nodes, lines: c.lines}
	allowed := citableTypes()
	for i, s := range spec.Signals {
		prg := c.compileExpr(fmt.Sprintf("signals[%d].expr", i), label("signal", s.Name, fmt.Sprintf("signals[%d]", i)), s.Expr, allowed)
		pb.signals = append(pb.signals, &compiledExpr{name: s.Name, description: s.Description, weight: s.Weight, required: s.Required, prg: prg})
	}
	for i, x := range spec.ExcludeWhen {
		prg := c.compileExpr(fmt.Sprintf("excludeWhen[%d].expr", i), label("excludeWhen", x.Name, fmt.Sprintf("excludeWhen[%d]", i)), x.Expr, allowed)
		pb.vetoes = append(pb.vetoes, &compiledExpr{name: x.Name, description: x.Description, prg: prg})
	}
	pb.nextSteps = c.parseTemplate(spec.NextSteps)
	if len(c.d.errs) > 0 {
		return nil
	}
	return pb
}

// label names a signal or veto in messages: by name, or by position when
// the name is missing.
func label(kind, name, path string) string {
	if name == "" {
		return path
	}
	return kind + " " + name
}

func (c *compiler) checkHeader(spec v1.Playbook) {
	switch {
	case !c.has("apiVersion"):
		c.errAtPath("", "missing apiVersion: %s", v1.APIVersion)
	case spec.APIVersion != v1.APIVersion:
		c.errAtPath("apiVersion", "apiVersion must be %q, got %q", v1.APIVersion, spec.APIVersion)
	}
	switch {
	case !c.has("kind"):
		c.errAtPath("", "missing kind: %s", v1.Kind)
	case spec.Kind != v1.Kind:
		c.errAtPath("kind", "kind must be %q, got %q", v1.Kind, spec.Kind)
	}
	switch {
	case spec.ID == "":
		c.errAtPath("id", "missing id: a name such as image-decode-bomb ([a-z0-9-]+)")
	case !nameRE.MatchString(spec.ID) || len(spec.ID) > maxNameLen:
		c.errAtPath("id", "id %q must match [a-z0-9-]+ and be at most %d characters", spec.ID, maxNameLen)
	}
	c.checkText("title", "playbook", "title", spec.Title)
	c.checkText("summary", "playbook", "summary", spec.Summary)
	switch {
	case !c.has("threshold"):
		c.errAtPath("", "missing threshold: the minimum confidence (0 < t <= 1) for a match")
	case !(spec.Threshold > 0 && spec.Threshold <= 1):
		c.errAtPath("threshold", "threshold must be in (0, 1], got %v", spec.Threshold)
	}
	if len(spec.Signals) == 0 {
		c.errAtPath("signals", "a playbook needs at least one signal")
	}
}

func (c *compiler) checkText(path, owner, field, value string) {
	if strings.TrimSpace(value) == "" {
		c.errAtPath(path, "%s: missing %s", owner, field)
	}
}

func (c *compiler) checkName(path, what, name string, seen map[string]string) {
	switch {
	case name == "":
		c.errAtPath(path+".name", "%s: missing name ([a-z0-9-]+)", path)
		return
	case !nameRE.MatchString(name) || len(name) > maxNameLen:
		c.errAtPath(path+".name", "%s name %q must match [a-z0-9-]+ and be at most %d characters", what, name, maxNameLen)
	}
	if first, dup := seen[name]; dup {
		p := c.d.pos(first + ".name")
		c.errAtPath(path+".name", "duplicate name %q (first used at line %d); signal and excludeWhen names must be unique in a playbook", name, p.line)
		return
	}
	seen[name] = path
}

// compileExpr parses and type-checks one expression, reporting problems at
// their position inside the YAML scalar. It returns nil on error.
func (c *compiler) compileExpr(path, owner, expr string, allowed map[string]reflect.Type) cel.Program {
	node := c.d.nodes[path]
	if node == nil || strings.TrimSpace(expr) == "" {
		c.errAtPath(path, "%s: missing expr", owner)
		return nil
	}
	at := func(line, col int) pos {
		if line < 1 {
			return pos{node.Line, node.Column}
		}
		return scalarPos(c.lines, node, byteOffset(expr, line, col))
	}
	ast, iss := c.env.Compile(expr)
	if iss.Err() != nil {
		for _, e := range iss.Errors() {
			c.errAt(at(e.Location.Line(), e.Location.Column()), "%s: %s%s", owner, e.Message, celHint(e.Message))
		}
		return nil
	}
	if msg := checkOutputType(ast.OutputType(), allowed); msg != "" {
		c.errAt(at(0, 0), "%s: %s", owner, msg)
		return nil
	}
	prg, err := c.env.Program(ast,
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(CostLimit),
		// Check the context every 100 comprehension iterations so a
		// playbook's timeout interrupts long loops.
		cel.InterruptCheckFrequency(100))
	if err != nil {
		c.errAt(at(0, 0), "%s: %v", owner, err)
		return nil
	}
	return prg
}

// celHint adds advice to CEL messages whose fix is not obvious from the
// message itself.
func celHint(msg string) string {
	if strings.Contains(msg, "'(double, int)'") || strings.Contains(msg, "'(int, double)'") {
		return "; == and != do not mix int and double: write the literal as a double (0.0) or convert with double(...)"
	}
	return ""
}

// byteOffset converts CEL's location (1-based line, 0-based column in code
// points) into a byte offset in expr.
func byteOffset(expr string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(expr[off:], '\n')
		if i < 0 {
			return len(expr)
		}
		off += i + 1
	}
	for ; col > 0 && off < len(expr); col-- {
		_, size := utf8.DecodeRuneInString(expr[off:])
		off += size
	}
	return off
}

// templateLineRE reads the line text/template reports in parse errors
// ("template: nextSteps:3: unexpected ...").
var templateLineRE = regexp.MustCompile(`^template: nextSteps:(\d+):(?:\d+:)? ?`)

func (c *compiler) parseTemplate(text string) *template.Template {
	t, err := template.New("nextSteps").Funcs(templateFuncs()).Option("missingkey=zero").Parse(text)
	if err == nil {
		return t
	}
	msg := err.Error()
	p := c.d.pos("nextSteps")
	if m := templateLineRE.FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
		if line, convErr := strconv.Atoi(m[1]); convErr == nil {
			if node := c.d.nodes["nextSteps"]; node != nil {
				p = scalarPos(c.lines, node, byteOffset(text, line, 0))
			}
		}
	}
	c.errAt(p, "nextSteps: template: %s", msg)
	return nil
}
