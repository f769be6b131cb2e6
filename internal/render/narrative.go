package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/oombot/oombot/internal/narrative"
)

// NarrativeHeading introduces the LLM section, so nobody mistakes its
// wording for the deterministic diagnosis above it.
const NarrativeHeading = "Narrative (LLM, unverified wording; cites evidence ids)"

// Narrative writes the LLM narrative for a terminal, after the report:
// each statement with the evidence ids it cites, then (only when no
// playbook matched) the ranked hypotheses, clearly labelled unverified.
func Narrative(w io.Writer, n *narrative.Narrative) error {
	if n == nil {
		return nil
	}
	p := &printer{w: w}
	p.line(NarrativeHeading)
	for _, s := range n.Statements {
		hanging(p, "  - ", s.Text+" "+ids(s.Evidence))
	}
	if len(n.Hypotheses) > 0 {
		if len(n.Statements) > 0 {
			p.blank()
		}
		p.line("  Hypotheses (no playbook matched; unverified, ranked by the model):")
		for _, h := range n.Hypotheses {
			hanging(p, fmt.Sprintf("  %d. ", h.Rank), h.Text+" "+ids(h.Evidence))
		}
	}
	if len(n.Statements) == 0 && len(n.Hypotheses) == 0 {
		p.line("  (nothing the model wrote passed validation)")
	}
	var meta []string
	if n.Model != "" {
		meta = append(meta, "model "+n.Model)
	}
	switch {
	case n.Cached:
		meta = append(meta, "cached")
	case n.PromptTokens > 0 || n.CompletionTokens > 0:
		meta = append(meta, fmt.Sprintf("%d+%d tokens", n.PromptTokens, n.CompletionTokens))
	}
	if n.Dropped > 0 {
		meta = append(meta, fmt.Sprintf("%d statement(s) dropped by validation", n.Dropped))
	}
	if len(meta) > 0 {
		hanging(p, "  ", "("+strings.Join(meta, "; ")+")")
	}
	return p.err
}

// hanging wraps text at 100 columns after first, indenting continuation
// lines to the text so a list item reads as one block.
func hanging(p *printer, first, text string) {
	const width = 100
	indent := strings.Repeat(" ", len(first))
	cur, prefix := first, first
	for _, w := range strings.Fields(text) {
		if len(cur)+len(w)+1 > width && len(cur) > len(prefix) {
			p.line(cur)
			cur, prefix = indent, indent
		}
		if len(cur) > len(prefix) {
			cur += " "
		}
		cur += w
	}
	if len(cur) > len(prefix) {
		p.line(cur)
	}
}

func ids(ev []string) string {
	return "[" + strings.Join(ev, ", ") + "]"
}

// NarrativeSchema identifies the JSON document NarrativeJSON writes.
const NarrativeSchema = "oombot.narrative/v1"

// NarrativeJSON writes the narrative as its own JSON document, printed after
// the report's so the report never waits for the model.
func NarrativeJSON(w io.Writer, n *narrative.Narrative) error {
	doc := struct {
		Schema    string               `json:"schema"`
		Narrative *narrative.Narrative `json:"narrative"`
	}{NarrativeSchema, n}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("render narrative json: %w", err)
	}
	return nil
}
