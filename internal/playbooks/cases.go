package playbooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

// File returns the name of the file the playbook was loaded from, as given
// to the loader (LoadDir and LoadPaths give paths usable with os.Open).
func (p *Playbook) File() string { return p.file }

// TestBundle returns the path of a test's bundle: Bundle is written relative
// to the playbook file, so a playbook and its tests move together.
func (p *Playbook) TestBundle(t v1.Test) string {
	if filepath.IsAbs(t.Bundle) {
		return filepath.Clean(t.Bundle)
	}
	return filepath.Join(filepath.Dir(p.file), filepath.FromSlash(t.Bundle))
}

// CaseOutcome is the verdict on one playbook test.
type CaseOutcome struct {
	// Got is v1.ExpectMatch or v1.ExpectNoMatch.
	Got string
	// Pass is true when the result meets every expectation of the test.
	Pass bool
	// Reason says what failed ("" when Pass), or for a pass why the
	// playbook did or did not match.
	Reason string
}

// CheckCase compares a playbook's result on a test's bundle with what the
// test expects: the match or no-match, the minimum confidence, the signals
// that must fire. A result carrying evaluation errors fails: an expression
// that errors at runtime is a bug even when the verdict happens to be right.
func CheckCase(t v1.Test, r Result) CaseOutcome {
	o := CaseOutcome{Got: v1.ExpectNoMatch}
	if r.Matched {
		o.Got = v1.ExpectMatch
	}
	var fails []string
	switch {
	case t.Expect == v1.ExpectMatch && !r.Matched:
		fails = append(fails, "did not match: "+r.Why)
	case t.Expect == v1.ExpectNoMatch && r.Matched:
		fails = append(fails, "matched: "+r.Why)
	case t.Expect != v1.ExpectMatch && t.Expect != v1.ExpectNoMatch:
		fails = append(fails, fmt.Sprintf("expect must be %q or %q, got %q", v1.ExpectMatch, v1.ExpectNoMatch, t.Expect))
	}
	if t.Expect == v1.ExpectMatch && r.Matched && r.Confidence < t.MinConfidence {
		fails = append(fails, fmt.Sprintf("confidence %.2f below minConfidence %.2f", r.Confidence, t.MinConfidence))
	}
	fired := make([]string, len(r.Fired))
	for i, f := range r.Fired {
		fired[i] = f.Name
	}
	var missing []string
	for _, s := range t.Signals {
		if !slices.Contains(fired, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		fails = append(fails, fmt.Sprintf("signal %s did not fire (fired: %s)", strings.Join(missing, ", "), orNone(fired)))
	}
	if len(r.Errors) > 0 {
		fails = append(fails, "evaluation errors: "+strings.Join(r.Errors, "; "))
	}
	o.Pass = len(fails) == 0
	o.Reason = strings.Join(fails, "; ")
	if o.Pass {
		o.Reason = r.Why
	}
	return o
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// LoadPaths loads playbooks from files and directories (every *.yaml and
// *.yml file directly inside a directory), in the order given and, inside a
// directory, by name. Like LoadFS it skips and reports invalid documents and
// duplicate ids (an errors.Join of *LoadError) and never returns a nil Set;
// finding no playbook file at all is an error.
func LoadPaths(paths ...string) (*Set, error) {
	files, errs := PlaybookFiles(paths...)
	set := &Set{timeout: DefaultTimeout}
	byID := map[string]*Playbook{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, &LoadError{File: f, Msg: fmt.Sprintf("reading: %v", err)})
			continue
		}
		pbs, err := ParseAll(f, data)
		errs = append(errs, flatten(err)...)
		for _, pb := range pbs {
			if first, dup := byID[pb.ID()]; dup {
				errs = append(errs, duplicateID(pb, first))
				continue
			}
			byID[pb.ID()] = pb
			set.playbooks = append(set.playbooks, pb)
		}
	}
	return set, errors.Join(errs...)
}

func duplicateID(pb, first *Playbook) *LoadError {
	return &LoadError{File: pb.file, Line: pb.at.line, Col: pb.at.col,
		Msg: fmt.Sprintf("duplicate playbook id %q: already defined at %s; this one is skipped", pb.ID(), first.Source())}
}

// PlaybookFiles expands paths into playbook files: a file is taken as it
// is, a directory gives its *.yaml and *.yml files (not recursively), in
// name order. Paths that cannot be read, and a directory without playbook
// files, are reported as *LoadError. Files are listed once even when named
// twice.
func PlaybookFiles(paths ...string) ([]string, []error) {
	var (
		files []string
		errs  []error
	)
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[filepath.Clean(f)] {
			seen[filepath.Clean(f)] = true
			files = append(files, f)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &LoadError{File: p, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
			continue
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, &LoadError{File: p, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
			continue
		}
		n := 0
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			n++
			add(filepath.Join(p, e.Name()))
		}
		if n == 0 {
			errs = append(errs, &LoadError{File: p, Msg: "no *.yaml or *.yml playbook files"})
		}
	}
	return files, errs
}

// unwrapPathError drops the path an *fs.PathError repeats, since the
// LoadError already names it.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
