package playbooks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultTimeout bounds the evaluation of one playbook. Evaluation normally
// takes microseconds; the bound only keeps a pathological expression from
// holding up a triage.
const DefaultTimeout = 2 * time.Second

// Set is a collection of playbooks with unique ids, evaluated together.
type Set struct {
	playbooks []*Playbook
	timeout   time.Duration
}

// NewSet builds a set from loaded playbooks; ids must be unique.
func NewSet(pbs ...*Playbook) (*Set, error) {
	s := &Set{timeout: DefaultTimeout}
	seen := map[string]*Playbook{}
	for _, pb := range pbs {
		if pb == nil {
			return nil, errors.New("new playbook set: nil playbook")
		}
		if first, dup := seen[pb.ID()]; dup {
			return nil, fmt.Errorf("new playbook set: duplicate playbook id %q (%s and %s)", pb.ID(), first.Source(), pb.Source())
		}
		seen[pb.ID()] = pb
		s.playbooks = append(s.playbooks, pb)
	}
	return s, nil
}

// Playbooks returns the set's playbooks in load order.
func (s *Set) Playbooks() []*Playbook { return slices.Clone(s.playbooks) }

// WithTimeout returns a copy of the set whose Evaluate gives each playbook
// at most d (d <= 0 restores DefaultTimeout).
func (s *Set) WithTimeout(d time.Duration) *Set {
	if d <= 0 {
		d = DefaultTimeout
	}
	c := *s
	c.timeout = d
	return &c
}

// LoadDir loads every *.yaml and *.yml file in dir (not recursively). See
// LoadFS; file names in errors include dir.
func LoadDir(dir string) (*Set, error) {
	return loadFS(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) })
}

// LoadFS loads every *.yaml and *.yml file in dir of fsys (not recursively),
// in name order.
//
// Invalid files and documents are skipped and reported in the returned
// error, an errors.Join of *LoadError; valid playbooks are still loaded, and
// the returned Set is never nil, so the caller decides whether a partial set
// is acceptable. A playbook whose id is already taken is skipped and
// reported with both locations. Finding no playbook at all is an error.
func LoadFS(fsys fs.FS, dir string) (*Set, error) {
	return loadFS(fsys, dir, func(name string) string { return name })
}

func loadFS(fsys fs.FS, dir string, display func(string) string) (*Set, error) {
	set := &Set{timeout: DefaultTimeout}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return set, fmt.Errorf("loading playbooks from %s: %w", display(dir), err)
	}
	var errs []error
	byID := map[string]*Playbook{}
	files := 0
	for _, e := range entries {
		ext := strings.ToLower(path.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		files++
		name := path.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &LoadError{File: display(name), Msg: fmt.Sprintf("reading: %v", err)})
			continue
		}
		pbs, err := ParseAll(display(name), data)
		errs = append(errs, flatten(err)...)
		for _, pb := range pbs {
			if first, dup := byID[pb.ID()]; dup {
				errs = append(errs, &LoadError{File: pb.file, Line: pb.at.line, Col: pb.at.col,
					Msg: fmt.Sprintf("duplicate playbook id %q: already defined at %s; this one is skipped", pb.ID(), first.Source())})
				continue
			}
			byID[pb.ID()] = pb
			set.playbooks = append(set.playbooks, pb)
		}
	}
	if files == 0 {
		errs = append(errs, &LoadError{File: display(dir), Msg: "no *.yaml or *.yml playbook files"})
	}
	return set, errors.Join(errs...)
}

// flatten lists the errors inside an errors.Join so the set's error is one
// flat list of *LoadError rather than a tree.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
