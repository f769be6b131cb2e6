package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/leakcheck"
	"github.com/oombot/oombot/internal/slackserver"
)

// fakeLLM is an OpenAI-compatible endpoint that records request bodies and
// answers with status (200: one statement citing the OutOfMemoryError).
type fakeLLM struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newFakeLLM(t *testing.T, status int) *fakeLLM {
	f := &fakeLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, `{"error":{"message":"backend down","type":"server_error"}}`, status)
			return
		}
		content := `{"statements":[{"text":"The gateway decoded an image far larger than its file into the heap.","evidence":["oom/gateway/1"]}],"hypotheses":[]}`
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "model": "fake-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": content}}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5},
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) requests() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies...)
}

func llmConfig(f *fakeLLM) string {
	return fmt.Sprintf("llm: {baseURL: %q, model: fake-model}\n", f.srv.URL+"/v1")
}

// TestNoSecretReachesSlackOrTheLLM plants secrets (passwords, tokens, JWTs,
// AWS keys, credentials in URLs) in the incident's logs, events and pod spec,
// runs the whole bot with the narrative on, clicks Show raw evidence, and
// checks every outbound path: each Slack message and file, each response
// URL post, each LLM request body.
func TestNoSecretReachesSlackOrTheLLM(t *testing.T) {
	planted := leakcheck.PlantBundle(t, filepath.Join(repoRoot(t), "examples/incidents/image-decode-bomb"))
	llm := newFakeLLM(t, http.StatusOK)
	srv := newServer(t)
	startBot(t, srv, botOpts{cluster: fmt.Sprintf("  - name: prod-eu-1\n    bundle: %s\n", planted), extra: llmConfig(llm)})

	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "report, chart and narrative", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) == 2 && len(filesIn(s, alertsChannel, alert.TS)) == 1
	})
	rs := replies(srv, alertsChannel, alert.TS)
	// The deterministic report comes first; the narrative follows it.
	if !strings.Contains(blocksJSON(rs[0]), "oom_rerun") || !strings.Contains(blocksJSON(rs[1]), "far larger than its file") {
		t.Fatalf("want report then narrative, got %q then %q", rs[0].Text, rs[1].Text)
	}
	p := srv.BlockActionsPayload(slackserver.BlockAction{ActionID: "oom_raw_evidence", Value: triageID(t, rs[0]), ChannelID: alertsChannel, MessageTS: rs[0].TS, UserID: "U1"})
	if _, err := srv.Push(slackserver.Interactive, p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, "evidence snippet", func(s *slackserver.Server) bool { return len(filesIn(s, alertsChannel, alert.TS)) == 2 })

	if len(llm.requests()) == 0 {
		t.Fatal("the LLM was never asked: the test proves nothing about its path")
	}
	for i, body := range llm.requests() {
		leakcheck.AssertClean(t, fmt.Sprintf("LLM request %d", i), body)
	}
	for _, m := range srv.Messages(alertsChannel) {
		data, _ := json.Marshal(m)
		leakcheck.AssertClean(t, "Slack message "+m.TS, data)
	}
	for _, f := range srv.Files() {
		leakcheck.AssertClean(t, "Slack file "+f.Name, f.Data)
		if strings.HasPrefix(f.Name, "evidence-") && !strings.Contains(string(f.Data), "REDACTED") {
			t.Errorf("evidence snippet shows no redaction marker: were secrets planted where it looks?")
		}
	}
	for _, c := range srv.Calls("") {
		data, _ := json.Marshal(c)
		leakcheck.AssertClean(t, "Slack call "+c.Method, data)
	}
}

// TestNarrativeFailureChangesNothing: an LLM answering 500 costs the thread
// nothing but the narrative; the report is the same as without an LLM.
func TestNarrativeFailureChangesNothing(t *testing.T) {
	llm := newFakeLLM(t, http.StatusInternalServerError)
	srv := newServer(t)
	startBot(t, srv, botOpts{extra: llmConfig(llm)})
	alert, _, _ := srv.PushMessage(alertsChannel, fixture(t, "alertmanager-firing-oomkilled"))
	waitFor(t, srv, "report and chart", func(s *slackserver.Server) bool {
		return len(replies(s, alertsChannel, alert.TS)) == 1 && len(filesIn(s, alertsChannel, alert.TS)) == 1
	})
	// The narrative is asked for after the chart; poll (the Slack server's
	// change feed knows nothing of the LLM).
	for deadline := time.Now().Add(20 * time.Second); len(llm.requests()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the LLM was never asked")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = srv.WaitFor(ctx, func(s *slackserver.Server) bool { return len(replies(s, alertsChannel, alert.TS)) > 1 })
	if n := len(replies(srv, alertsChannel, alert.TS)); n != 1 {
		t.Fatalf("%d replies: a failed narrative must post nothing", n)
	}
	if !strings.Contains(blocksJSON(replies(srv, alertsChannel, alert.TS)[0]), "image-decode-bomb") {
		t.Error("report lost its diagnosis")
	}
}
