package new

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/cmd/playbooks/lint"
	"github.com/oombot/oombot/internal/playbooks"
)

func runNew(args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), factory.IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), err
}

// TestScaffoldPassesLint: the file written loads, lints without error, and
// its test points at the bundle given.
func TestScaffoldPassesLint(t *testing.T) {
	bundle, err := filepath.Abs("../../../../testdata/bundles/heap-undersized")
	if err != nil {
		t.Fatal(err)
	}
	for _, withBundle := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "pbs")
		args := []string{"gc-thrash", "--dir", dir}
		if withBundle {
			args = append(args, "--bundle", bundle)
		}
		out, err := runNew(args...)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "gc-thrash.yaml")
		if !strings.Contains(out, "wrote "+file) {
			t.Errorf("output %q", out)
		}
		if probs := playbooks.Lint(file); playbooks.HasErrors(probs) {
			t.Fatalf("scaffold fails lint: %v", probs)
		}
		var lout, lerr bytes.Buffer
		if err := lint.Run(context.Background(), factory.IOStreams{Out: &lout, Err: &lerr}, []string{file}); err != nil {
			t.Fatalf("lint verb: %v\n%s", err, lout.String())
		}
		set, err := playbooks.LoadPaths(file)
		if err != nil {
			t.Fatal(err)
		}
		pb := set.Playbooks()[0]
		spec := pb.Spec()
		if pb.ID() != "gc-thrash" || len(spec.Signals) != 1 || spec.NextSteps == "" || len(spec.References) != 1 {
			t.Errorf("spec = %+v", spec)
		}
		if !withBundle {
			if len(spec.Tests) != 0 {
				t.Errorf("tests without --bundle: %+v", spec.Tests)
			}
			continue
		}
		if len(spec.Tests) != 1 || spec.Tests[0].Expect != "match" || filepath.IsAbs(spec.Tests[0].Bundle) {
			t.Fatalf("tests = %+v", spec.Tests)
		}
		if got := pb.TestBundle(spec.Tests[0]); got != bundle {
			t.Errorf("test bundle resolves to %s, want %s", got, bundle)
		}
	}
}

func TestRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := runNew("x", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(file, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runNew("x", "--dir", dir)
	var ue *cli.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(file); string(data) != "mine" {
		t.Errorf("file overwritten: %q", data)
	}
}

func TestInvalidInput(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"Bad_ID", "--dir", dir},
		{"../escape", "--dir", dir},
		{"--dir", dir},
		{"a", "b", "--dir", dir},
		{"x", "--dir", dir, "--bundle", dir}, // not a bundle
	} {
		_, err := runNew(args...)
		var ue *cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written on bad input: %v", entries)
	}
}

// TestSchemaReference: the editor hint points at the repository's schema
// from wherever the playbook is written, and is left out when there is none.
func TestSchemaReference(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"go.mod", "playbooks/playbook.schema.json"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for dir, want := range map[string]string{
		filepath.Join(root, "playbooks"):     "# yaml-language-server: $schema=./playbook.schema.json\n",
		filepath.Join(root, "team", "extra"): "# yaml-language-server: $schema=../../playbooks/playbook.schema.json\n",
	} {
		if _, err := runNew("x", "--dir", dir); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, "x.yaml"))
		if !strings.HasPrefix(string(data), want) {
			t.Errorf("%s: first line of\n%s\nwant %q", dir, data, want)
		}
	}
	if got := schemaRef(t.TempDir()); got != "" {
		t.Errorf("no schema anywhere: %q", got)
	}
}
