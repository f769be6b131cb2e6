package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oombot/oombot/internal/bot"
	"github.com/oombot/oombot/internal/bundle"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/triage"
)

// fakeClock is the bot's clock, moved by the test past the dedup window.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestHistoryFeedbackAndSourceMetrics: the second triage of a workload
// (after the dedup window) says how often and how it was triaged before and
// links that thread; feedback clicks are stored, one per user per triage;
// every source's time lands in the per-source histogram.
func TestHistoryFeedbackAndSourceMetrics(t *testing.T) {
	srv := slackserver.New(slackserver.Options{})
	defer srv.Close()
	ctx := context.Background()
	st, reg := store.NewMemory(), prometheus.NewRegistry()
	clk := &fakeClock{now: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	pod := ""
	bt, stop := bundleBot(t, srv, func(b *bundle.Bundle, _ *triage.Engine, o *bot.Options) {
		pod = b.Manifest.Target.Pod
		o.Store, o.Registerer, o.Now = st, reg, clk.Now
	})
	defer stop()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()

	fire := func() slackserver.Message {
		t.Helper()
		m := srv.AddMessage(channel, slackserver.Message{SubType: "bot_message", BotID: "B0ALERTMGR", Username: "Alertmanager",
			Attachments: []map[string]any{{"title": "[FIRING:1] KubePodOOMKilled edge " + pod, "color": "danger"}}})
		if _, err := srv.Push(slackserver.EventsAPI, srv.EventCallback(srv.MessageEvent(m))); err != nil {
			t.Fatal(err)
		}
		if err := srv.WaitFor(wctx, func(s *slackserver.Server) bool { return reportIn(s, m.TS) != nil }); err != nil {
			t.Fatalf("no report in thread %s: %v", m.TS, err)
		}
		return m
	}

	first := fire()
	if r := reportIn(srv, first.TS); strings.Contains(fmt.Sprint(r.Blocks), "oom_history") {
		t.Errorf("first triage shows a history line: %v", r.Blocks)
	}
	clk.Add(20 * time.Minute) // past the 15 min dedup window
	second := fire()
	blocks := fmt.Sprint(reportIn(srv, second.TS).Blocks)
	for _, want := range []string{"oom_history", "triaged once before since 2026-11-13", "(image-decode-bomb)",
		"/archives/" + channel + "/p" + strings.Replace(first.TS, ".", "", 1) + "|previous thread"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("second report lacks %q:\n%s", want, blocks)
		}
	}

	workload := "api-gateway" // the bundle's Deployment
	hist, err := st.History(ctx, store.HistoryQuery{Workload: workload})
	if err != nil || len(hist) != 2 {
		t.Fatalf("history of %s: %d triages, err %v", workload, len(hist), err)
	}
	id := hist[0].ID
	for _, c := range []struct{ user, action string }{
		{"U1", chat.ActionHelpful}, {"U2", chat.ActionWrong}, {"U2", chat.ActionHelpful}, // U2 changes their mind
	} {
		bt.HandleAction(ctx, chat.Action{Channel: channel, User: c.user, ActionID: c.action, TriageID: id})
	}
	stats, err := st.FeedbackStats(ctx, time.Time{})
	if err != nil || len(stats) != 1 {
		t.Fatalf("stats %+v err %v", stats, err)
	}
	if s := stats[0]; s.Playbook != "image-decode-bomb" || s.Triages != 2 || s.Judged != 1 || s.Helpful != 2 || s.Wrong != 0 || s.Precision() != 1 {
		t.Errorf("feedback stats: %+v", s)
	}

	// A store that kept the report without its (too large) evidence: the
	// evidence button says so privately instead of uploading "null".
	trimmed := hist[1]
	r := *trimmed.Report
	r.Evidence = nil
	trimmed.ID, trimmed.Report = "trimmed", &r
	if err := st.PutTriage(ctx, trimmed); err != nil {
		t.Fatal(err)
	}
	files := len(srv.Files())
	bt.HandleAction(ctx, chat.Action{Channel: channel, User: "U1", ActionID: chat.ActionEvidence, TriageID: "trimmed"})
	if err := srv.WaitFor(wctx, func(s *slackserver.Server) bool {
		for _, c := range s.Calls("chat.postEphemeral") {
			if strings.Contains(c.Params.Get("text"), "too large to keep") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("no private note for evidence that was not kept: %v", err)
	}
	if n := len(srv.Files()); n != files {
		t.Errorf("uploaded %d files for a triage without evidence", n-files)
	}

	if n := testutil.CollectAndCount(reg, "oombot_source_seconds"); n < 5 {
		t.Errorf("oombot_source_seconds has %d series, want one per source", n)
	}
	want := `
# HELP oombot_source_errors_total Evidence sources that failed or answered partially within a triage, by source and status.
# TYPE oombot_source_errors_total counter
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "oombot_source_errors_total"); err != nil {
		t.Errorf("a bundle triage has no failed source: %v", err)
	}
	h, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range h {
		if mf.GetName() != "oombot_source_seconds" {
			continue
		}
		for _, m := range mf.Metric {
			if c := m.GetHistogram().GetSampleCount(); c != 2 {
				t.Errorf("source %v observed %d times, want 2 (two triages)", m.Label, c)
			}
		}
	}
}

// reportIn is the bot's report reply in thread ts, or nil.
func reportIn(s *slackserver.Server, ts string) *slackserver.Message {
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == ts && m.TS != ts && m.BotID == s.BotID && strings.Contains(fmt.Sprint(m.Blocks), "oom_rerun") {
			return &m
		}
	}
	return nil
}
