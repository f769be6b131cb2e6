package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/goldentest"
	"github.com/oombot/oombot/internal/narrative"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The narratives below are hand-written: this tests layout only (what the
// model may say is internal/narrative's business).
func TestNarrativeText(t *testing.T) {
	cases := []struct {
		name string
		n    *narrative.Narrative
	}{
		{"narrative-matched", &narrative.Narrative{
			Statements: []narrative.Statement{
				{Text: "The JVM threw OutOfMemoryError: Java heap space inside java.awt.image.DataBufferByte while decoding an upload, then the kernel killed the container at its 768MiB limit.", Evidence: []string{"oom/gateway/1", "kill"}},
				{Text: "After full collections the heap was nearly empty, so a single allocation, not a leak, exhausted it.", Evidence: []string{"gc/gateway/1"}},
			},
			Dropped: 2, Model: "gpt-4.1-mini-2025-04-14", PromptTokens: 2310, CompletionTokens: 118,
		}},
		{"narrative-hypotheses", &narrative.Narrative{
			Statements: []narrative.Statement{{Text: "No OutOfMemoryError was found and the container is running.", Evidence: []string{"kill"}}},
			Hypotheses: []narrative.Hypothesis{
				{Rank: 1, Text: "The restarts come from a failing liveness probe.", Evidence: []string{"event/3"}},
				{Rank: 2, Text: "Memory is stable; the alert may be stale.", Evidence: []string{"trend/container_memory_working_set"}},
			},
			Model: "llama3.1", Cached: true,
		}},
		{"narrative-empty", &narrative.Narrative{Dropped: 3, Model: "m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Narrative(&b, tc.n); err != nil {
				t.Fatal(err)
			}
			goldentest.Bytes(t, filepath.Join("testdata", tc.name+".golden"), b.Bytes(), *update)
			for _, l := range strings.Split(b.String(), "\n") {
				if len([]rune(l)) > 100 {
					t.Errorf("line over 100 columns: %q", l)
				}
			}
		})
	}
	var b bytes.Buffer
	if err := Narrative(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("nil narrative printed %q, %v", b.String(), err)
	}
}

func TestNarrativeJSON(t *testing.T) {
	n := &narrative.Narrative{Statements: []narrative.Statement{{Text: "t", Evidence: []string{"kill"}}}, Hypotheses: []narrative.Hypothesis{}, Model: "m"}
	var out bytes.Buffer
	if err := NarrativeJSON(&out, n); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema    string              `json:"schema"`
		Narrative narrative.Narrative `json:"narrative"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != NarrativeSchema || len(doc.Narrative.Statements) != 1 || doc.Narrative.Statements[0].Evidence[0] != "kill" {
		t.Errorf("narrative document: %s", out.String())
	}
}
