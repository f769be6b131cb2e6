// Package new implements `bot playbooks new`: scaffold a playbook file that
// loads and passes lint, for the author to fill in.
package new

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/oombot/oombot/internal/cmd/factory"
	"github.com/oombot/oombot/internal/cmd/playbooks/cli"
	"github.com/oombot/oombot/internal/playbooks"
)

// Usage is the verb's help text.
const Usage = `Usage:
  bot playbooks new ID [--bundle DIR] [--dir playbooks]

Write DIR/ID.yaml (default playbooks/ID.yaml): a playbook with placeholders
for title and summary, one example signal, next steps, a reference and, with
--bundle, a tests: entry expecting a match on that bundle. It passes
'bot playbooks lint' as written; it fails 'bot playbooks test' until its
signals describe the incident. An existing file is never overwritten.
`

// Options are the parsed flags.
type Options struct {
	ID     string
	Bundle string
	Dir    string
}

// Run parses args and writes the scaffold.
func Run(ctx context.Context, io factory.IOStreams, args []string) error {
	var o Options
	fset := cli.NewFlagSet("new")
	fset.StringVar(&o.Bundle, "bundle", "", "incident bundle the playbook must match (adds a tests: entry)")
	fset.StringVar(&o.Dir, "dir", cli.DefaultPlaybooksDir, "directory to write the playbook in")
	if err := cli.Parse(fset, args, Usage); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return &cli.UsageError{Msg: "need exactly one playbook id\n\n" + Usage}
	}
	o.ID = fset.Arg(0)
	if err := playbooks.ValidID(o.ID); err != nil {
		return &cli.UsageError{Msg: err.Error()}
	}
	return run(ctx, io, o)
}

// scaffold is the file written. Every placeholder is valid as it stands so
// the file passes lint; TODO marks what the author must change.
var scaffold = template.Must(template.New("scaffold").Parse(`{{ with .Schema }}# yaml-language-server: $schema={{ . }}
{{ end }}# TODO: say where this playbook comes from and what its patterns were
# checked against (a real incident, a reproduction).
apiVersion: oombot/v1
kind: Playbook
id: {{ .ID }}
title: {{ .Title }}
summary: >-
  TODO: one plain paragraph: what fails, why memory runs out, and why the
  obvious fix (a bigger heap or limit) does or does not help.
threshold: 0.5
signals:
  # A signal is CEL over the evidence (ev) returning the evidence items that
  # show it; field names are the json names in internal/evidence. Try it with
  # bot playbooks explain {{ .ID }} --bundle DIR --playbooks {{ .File }}
  - name: heap-oom
    description: "TODO: what this observation means for the diagnosis"
    weight: 1.0
    expr: >-
      ev.oomErrors.filter(e, e.kind == 'heap')
nextSteps: |
  {{"{{"}}- with index .Signals "heap-oom" {{"}}"}}{{"{{"}} with first .Items {{"}}"}}
  The heap ran out: ` + "`" + `{{"{{"}} .Summary {{"}}"}}` + "`" + `.
  {{"{{"}} end {{"}}"}}{{"{{"}} end {{"}}"}}
  1. TODO: the first thing to check, and the command that shows it.
references:
  - title: TODO the documentation behind the advice
    url: https://docs.oracle.com/en/java/javase/17/troubleshoot/troubleshooting-memory-leaks.html
{{- if .Bundle }}
tests:
  - bundle: {{ .Bundle }}
    expect: match
{{- end }}
`))

type scaffoldData struct {
	ID, Title, Schema, Bundle, File string
}

func run(_ context.Context, io factory.IOStreams, o Options) error {
	file := filepath.Join(o.Dir, o.ID+".yaml")
	data := scaffoldData{ID: o.ID, Title: title(o.ID), File: file, Schema: schemaRef(o.Dir)}
	if o.Bundle != "" {
		if _, err := os.Stat(filepath.Join(o.Bundle, "bundle.yaml")); err != nil {
			return &cli.UsageError{Msg: fmt.Sprintf("--bundle %s: not an incident bundle (no bundle.yaml)", o.Bundle)}
		}
		rel, err := relPath(o.Dir, o.Bundle)
		if err != nil {
			return fmt.Errorf("--bundle %s: %w", o.Bundle, err)
		}
		data.Bundle = rel
	}
	var buf bytes.Buffer
	if err := scaffold.Execute(&buf, data); err != nil {
		return fmt.Errorf("rendering the scaffold: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", o.Dir, err)
	}
	// O_EXCL: refuse to overwrite, without a window between check and write.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return &cli.UsageError{Msg: fmt.Sprintf("%s already exists; not overwriting it", file)}
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", file, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	fmt.Fprintf(io.Out, "wrote %s\nnext: edit its signals, then\n  bot playbooks lint %s\n  bot playbooks test %s\n", file, file, o.Dir)
	return nil
}

// title turns an id into a placeholder title: "image-decode-bomb" ->
// "TODO Image decode bomb".
func title(id string) string {
	t := strings.ReplaceAll(id, "-", " ")
	return "TODO " + strings.ToUpper(t[:1]) + t[1:]
}

// relPath returns target relative to dir, slash-separated, as tests: wants.
func relPath(dir, target string) (string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absDir, absTarget)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// schemaRef points editors at the playbook JSON schema: the one in the
// target directory, else the repository's playbooks/playbook.schema.json;
// "" when neither can be found, rather than a dangling reference.
func schemaRef(dir string) string {
	const name = "playbook.schema.json"
	candidates := []string{filepath.Join(dir, name)}
	if root := cli.RepoRoot(dir); root != "" {
		candidates = append(candidates, filepath.Join(root, cli.DefaultPlaybooksDir, name))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		rel, err := relPath(dir, c)
		if err != nil {
			continue
		}
		if !strings.HasPrefix(rel, ".") {
			rel = "./" + rel
		}
		return rel
	}
	return ""
}
