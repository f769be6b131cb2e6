package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/cmd/factory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const bundleDir = "../../../testdata/bundles/image-decode-bomb"

// llm starts an OpenAI-compatible endpoint answering with status and, on
// 200, one statement citing the bundle's OutOfMemoryError; it points the
// CLI's environment at it.
func llm(t *testing.T, status int) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		calls.Add(1)
		if status != http.StatusOK {
			http.Error(w, `{"error":{"message":"backend down","type":"server_error"}}`, status)
			return
		}
		content := `{"statements":[{"text":"An image decode ran the heap out.","evidence":["oom/gateway/1"]}],"hypotheses":[]}`
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": "fake-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5},
		})
	}))
	t.Cleanup(func() {
		srv.Close()
		// The CLI uses the default transport; drop its idle connections so
		// goleak sees no reader goroutines left behind.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	t.Setenv("OOMBOT_LLM_BASE_URL", srv.URL+"/v1")
	t.Setenv("OOMBOT_LLM_MODEL", "fake-model")
	t.Setenv("OPENAI_API_KEY", "sk-cli-test")
	return &calls
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = Run(context.Background(), factory.IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), errb.String(), err
}

func TestNarrativeText(t *testing.T) {
	calls := llm(t, http.StatusOK)
	out, errOut, err := runCLI(t, "--bundle", bundleDir, "--narrative")
	if err != nil || errOut != "" {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d", calls.Load())
	}
	first, _, _ := strings.Cut(out, "\n")
	sources, nar := strings.Index(out, "\nSources\n"), strings.Index(out, "Narrative (LLM, unverified wording; cites evidence ids)")
	if !strings.Contains(first, "likely cause: image-decode-bomb") || sources < 0 || nar < sources {
		t.Errorf("want the report first and the narrative after it:\n%s", out)
	}
	if !strings.Contains(out[nar:], "- An image decode ran the heap out. [oom/gateway/1]") {
		t.Errorf("narrative section:\n%s", out[nar:])
	}
}

func TestNarrativeFailureKeepsReport(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  func(t *testing.T)
	}{
		{"server error", []string{"--bundle", bundleDir, "--narrative"}, func(t *testing.T) { llm(t, http.StatusInternalServerError) }},
		{"no model", []string{"--bundle", bundleDir, "--narrative"}, func(t *testing.T) {
			llm(t, http.StatusOK)
			t.Setenv("OOMBOT_LLM_MODEL", "")
		}},
		{"json, server error", []string{"--bundle", bundleDir, "--narrative", "-o", "json"}, func(t *testing.T) { llm(t, http.StatusBadGateway) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env(t)
			out, errOut, err := runCLI(t, tc.args...)
			if err != nil {
				t.Fatalf("a narrative failure must not fail the command: %v", err)
			}
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "narrative unavailable: ") || strings.Contains(errOut, "sk-cli-test") {
				t.Errorf("stderr %q: want one narrative unavailable line", errOut)
			}
			if strings.Contains(out, "Narrative (LLM") || strings.Contains(out, `"narrative"`) {
				t.Errorf("stdout carries a narrative after a failure:\n%s", out)
			}
			if !strings.Contains(out, "image-decode-bomb") {
				t.Errorf("the report is missing:\n%s", out)
			}
		})
	}
}

func TestNarrativeJSON(t *testing.T) {
	llm(t, http.StatusOK)
	out, errOut, err := runCLI(t, "--bundle", bundleDir, "--narrative", "-o", "json")
	if err != nil || errOut != "" {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
	// Two documents: the report, unchanged and first, then the narrative.
	dec := json.NewDecoder(strings.NewReader(out))
	var rep map[string]any
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep["schema"] != "oombot.report/v1" || rep["narrative"] != nil {
		t.Errorf("first document is not the plain report: schema %v, narrative %v", rep["schema"], rep["narrative"])
	}
	var doc struct {
		Schema    string `json:"schema"`
		Narrative *struct {
			Statements []struct {
				Text     string   `json:"text"`
				Evidence []string `json:"evidence"`
			} `json:"statements"`
			Model string `json:"model"`
		} `json:"narrative"`
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("second document: %v", err)
	}
	if dec.More() {
		t.Error("stdout holds more than two JSON documents")
	}
	if doc.Schema != "oombot.narrative/v1" || doc.Narrative == nil || len(doc.Narrative.Statements) != 1 || doc.Narrative.Model != "fake-model" {
		t.Errorf("json: %+v", doc)
	}
}

func TestNarrativeOffByDefault(t *testing.T) {
	calls := llm(t, http.StatusOK)
	out, errOut, err := runCLI(t, "--bundle", bundleDir)
	if err != nil || errOut != "" || strings.Contains(out, "Narrative") || calls.Load() != 0 {
		t.Errorf("err %v stderr %q calls %d", err, errOut, calls.Load())
	}
}
