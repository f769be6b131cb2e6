package playbooks

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

// Problem severities. An error makes lint fail; a warning is something a
// reviewer should look at but may accept.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one finding of Lint, located in a playbook file.
type Problem struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Severity string `json:"severity"`
	Msg      string `json:"message"`
}

// String formats the problem as "file:line:col: severity: message", the
// shape editors and CI annotators jump to (see LoadError.Error).
func (p Problem) String() string {
	return (&LoadError{File: p.File, Line: p.Line, Col: p.Col, Msg: p.Severity + ": " + p.Msg}).Error()
}

// Lint loads the playbook files and directories in paths as the loader
// does (every load error is a Problem) and then checks, on each playbook
// that loaded, what the loader does not: that ids are unique across all
// paths, that weights and threshold make sense together, that every field
// its nextSteps template reads exists, and that its tests are well formed
// and name bundles that exist. Problems are in file order, then position.
func Lint(paths ...string) []Problem {
	files, errs := PlaybookFiles(paths...)
	var probs []Problem
	for _, err := range errs {
		probs = append(probs, problemOf(err))
	}
	byID := map[string]*Playbook{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			probs = append(probs, Problem{File: f, Severity: SeverityError, Msg: fmt.Sprintf("reading: %v", unwrapPathError(err))})
			continue
		}
		pbs, err := ParseAll(f, data)
		for _, e := range flatten(err) {
			probs = append(probs, problemOf(e))
		}
		for _, pb := range pbs {
			if first, dup := byID[pb.ID()]; dup {
				probs = append(probs, problemOf(duplicateID(pb, first)))
				continue
			}
			byID[pb.ID()] = pb
			probs = append(probs, pb.lint()...)
		}
	}
	fileOrder := map[string]int{}
	for i, f := range files {
		fileOrder[f] = i + 1
	}
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if c := fileOrder[a.File] - fileOrder[b.File]; c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return probs
}

// HasErrors reports whether any problem is an error.
func HasErrors(probs []Problem) bool {
	return slices.ContainsFunc(probs, func(p Problem) bool { return p.Severity == SeverityError })
}

func problemOf(err error) Problem {
	var le *LoadError
	if errors.As(err, &le) {
		return Problem{File: le.File, Line: le.Line, Col: le.Col, Severity: SeverityError, Msg: le.Msg}
	}
	return Problem{Severity: SeverityError, Msg: err.Error()}
}

// problemAt makes a problem at the value found at path in the playbook's
// document (or its nearest recorded parent).
func (p *Playbook) problemAt(path, severity, format string, args ...any) Problem {
	at := p.posOf(path)
	return Problem{File: p.file, Line: at.line, Col: at.col, Severity: severity, Msg: fmt.Sprintf(format, args...)}
}

func (p *Playbook) posOf(path string) pos {
	d := strictDecoder{nodes: p.nodes}
	if at := d.pos(path); at.line > 0 {
		return at
	}
	return p.at
}

func (p *Playbook) lint() []Problem {
	var out []Problem
	out = append(out, p.lintWeights()...)
	out = append(out, p.lintTemplate()...)
	out = append(out, p.lintTests()...)
	return out
}

// confidence is the engine's rounding of a share of the total weight.
func confidence(w, total float64) float64 { return math.Round(100*w/total) / 100 }

// lintWeights flags weight/threshold combinations that make the threshold
// meaningless or the playbook fragile. Confidence is normalised by the total
// weight, so when every signal fires it is 1 and no threshold in (0, 1] is
// out of reach; what can go wrong is the opposite: a threshold too easy or
// too hard for the weights.
func (p *Playbook) lintWeights() []Problem {
	var out []Problem
	sigs := p.spec.Signals
	var total, required float64
	nRequired := 0
	for _, s := range sigs {
		total += s.Weight
		if s.Required {
			required += s.Weight
			nRequired++
		}
	}
	if total <= 0 {
		return nil
	}
	t := p.spec.Threshold
	if nRequired == 0 && len(sigs) > 1 {
		// Without required signals, any signal whose share reaches the
		// threshold matches on its own: one observation becomes a diagnosis.
		for i, s := range sigs {
			if c := confidence(s.Weight, total); c >= t {
				out = append(out, p.problemAt(fmt.Sprintf("signals[%d].weight", i), SeverityWarning,
					"signal %s alone reaches the threshold (%.2f ≥ %.2f), so the playbook matches on this one observation; mark it required if that is intended, or raise the threshold",
					s.Name, c, t))
			}
		}
	}
	if nRequired > 0 && nRequired < len(sigs) {
		if c := confidence(required, total); c > t {
			out = append(out, p.problemAt("threshold", SeverityWarning,
				"the required signals alone exceed the threshold (%.2f > %.2f): the other signals can never change the verdict, only the confidence; lower their weight or raise the threshold to %.2f if that is intended",
				c, t, c))
		}
	}
	if len(sigs) > 1 {
		// The weakest signal missing must still leave the threshold in
		// reach, or one absent metric (a bundle without GC logs) rules
		// the playbook out.
		minW := slices.MinFunc(sigs, func(a, b v1.Signal) int { return cmpFloat(a.Weight, b.Weight) })
		if c := confidence(total-minW.Weight, total); c < t {
			out = append(out, p.problemAt("threshold", SeverityWarning,
				"threshold %.2f needs every signal to fire: without %s (the lightest) confidence is %.2f; evidence is often partial, so lower the threshold",
				t, minW.Name, c))
		}
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (p *Playbook) signalNames() []string {
	names := make([]string, len(p.spec.Signals))
	for i, s := range p.spec.Signals {
		names[i] = s.Name
	}
	return names
}

// lintTemplate checks every reference of the nextSteps template resolves.
func (p *Playbook) lintTemplate() []Problem {
	if p.nextSteps == nil {
		return nil
	}
	var out []Problem
	node := p.nodes["nextSteps"]
	for _, tp := range checkTemplateRefs(p.nextSteps.Tree, p.signalNames()) {
		at := p.posOf("nextSteps")
		if node != nil {
			at = scalarPos(p.lines, node, tp.offset)
		}
		out = append(out, Problem{File: p.file, Line: at.line, Col: at.col, Severity: SeverityError, Msg: tp.msg})
	}
	return out
}

// lintTests checks the tests: section: the bundles exist, the signals named
// are the playbook's, no bundle is listed twice, and at least one test says
// where the playbook must match.
func (p *Playbook) lintTests() []Problem {
	var out []Problem
	if len(p.spec.Tests) == 0 {
		return []Problem{p.problemAt("id", SeverityWarning,
			"no tests: add a tests: entry with expect: match on an incident bundle, so `bot playbooks test` checks the playbook")}
	}
	names := p.signalNames()
	seen := map[string]int{}
	hasMatch := false
	for i, t := range p.spec.Tests {
		path := fmt.Sprintf("tests[%d]", i)
		hasMatch = hasMatch || t.Expect == v1.ExpectMatch
		dir := p.TestBundle(t)
		if first, dup := seen[filepath.Clean(dir)]; dup {
			out = append(out, p.problemAt(path+".bundle", SeverityError, "%s: bundle %s is already tested by tests[%d]", path, t.Bundle, first))
		} else {
			seen[filepath.Clean(dir)] = i
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			out = append(out, p.problemAt(path+".bundle", SeverityError, "%s: bundle %s not found (%s; paths are relative to the playbook file)", path, t.Bundle, dir))
		} else if _, err := os.Stat(filepath.Join(dir, "bundle.yaml")); err != nil {
			out = append(out, p.problemAt(path+".bundle", SeverityError, "%s: %s is not an incident bundle: it has no bundle.yaml", path, t.Bundle))
		}
		for j, s := range t.Signals {
			if !slices.Contains(names, s) {
				out = append(out, p.problemAt(fmt.Sprintf("%s.signals[%d]", path, j), SeverityError,
					"%s: no signal named %q in this playbook (signals: %s)", path, s, strings.Join(names, ", ")))
			}
		}
		if t.Expect == v1.ExpectMatch && t.MinConfidence > 0 && t.MinConfidence < p.spec.Threshold {
			out = append(out, p.problemAt(path+".minConfidence", SeverityWarning,
				"%s: minConfidence %.2f is below the threshold %.2f, which every match already reaches; raise it or drop it", path, t.MinConfidence, p.spec.Threshold))
		}
	}
	if !hasMatch {
		out = append(out, p.problemAt("tests", SeverityWarning,
			"no test expects a match: add one with expect: match on a bundle showing this failure"))
	}
	return out
}

// ValidID returns an error saying why id cannot be a playbook id, or nil.
func ValidID(id string) error {
	if !nameRE.MatchString(id) || len(id) > maxNameLen {
		return fmt.Errorf("playbook id %q must match [a-z0-9-]+ and be at most %d characters", id, maxNameLen)
	}
	return nil
}
