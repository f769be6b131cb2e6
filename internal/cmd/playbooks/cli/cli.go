// Package cli holds what the `bot playbooks` verbs share: the errors that
// set the exit status, flag parsing, and finding the repository root.
package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
)

// UsageError marks a command-line mistake (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// FailedError means the verb ran and found problems it has already printed
// (lint errors, failing tests): exit status 1, with Msg as the summary.
type FailedError struct{ Msg string }

func (e *FailedError) Error() string { return e.Msg }

// NewFlagSet returns a flag set that reports errors instead of printing
// them or exiting, so verbs decide how to show usage.
func NewFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(discard{})
	return fs
}

// Parse parses args, turning a flag error into a UsageError carrying usage.
func Parse(fs *pflag.FlagSet, args []string, usage string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return &UsageError{Msg: usage}
		}
		return &UsageError{Msg: err.Error() + "\n\n" + usage}
	}
	return nil
}

// DefaultPlaybooksDir is where lint and test look when given no path: the
// repository's playbooks/, as seen from its root.
const DefaultPlaybooksDir = "playbooks"

// Paths returns args, or the default playbook directory when there are
// none; a missing default is a usage error, since the user probably runs
// the command from elsewhere.
func Paths(args []string, usage string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	if fi, err := os.Stat(DefaultPlaybooksDir); err != nil || !fi.IsDir() {
		return nil, &UsageError{Msg: fmt.Sprintf("no %s/ directory here: run from the repository root or name the playbook files or directories\n\n%s", DefaultPlaybooksDir, usage)}
	}
	return []string{DefaultPlaybooksDir}, nil
}

// RepoRoot walks up from start (a file or directory) to the first directory
// holding go.mod and returns it; "" when there is none.
func RepoRoot(start string) string {
	dir, err := filepath.Abs(start)
	if err != nil {
		return ""
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
