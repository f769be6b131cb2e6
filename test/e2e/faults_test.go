package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/test/e2e/harness"
)

// TestFaults is scenario 6: a source or Slack fails during a triage; the
// report still comes, once, names the failed source and keeps what the
// others found.
func TestFaults(t *testing.T) {
	t.Parallel()
	e := env(t)

	// Prometheus dies while the bot's queries are in flight: they are held
	// at a proxy until the server is stopped, then cut.
	t.Run("prometheus stops mid-triage", func(t *testing.T) {
		t.Parallel()
		inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{})
		prom := prometheus(t, inc)
		u, err := url.Parse(prom.URL)
		if err != nil {
			t.Fatal(err)
		}
		gate, err := harness.NewGate(u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = gate.Close() })
		srv := newSlack(t)
		bot := e.startBot(t, srv, botSetup{prometheus: "http://" + gate.Addr()})
		am := alertmanager(t, bot)
		gate.Hold()
		fire(t, am, inc)
		if err := gate.WaitHeld(ctxFor(t, time.Minute), 1); err != nil {
			t.Fatal(err)
		}
		prom.Stop()
		gate.Release()
		th := waitReport(t, srv, inc, false)
		t.Log(sourcesLine(th.reports[0]))
		rep := reportText(th.reports[0])
		assertContains(t, "report", rep, ":x: prometheus *failed*", "kubernetes/logs ok", "kubernetes/events ok",
			"image-decode-bomb", "ImageIO") // the diagnosis stands on the logs
		assertOneReport(t, srv, inc.Pod)
	})

	// The kubelet accepts the log request and never answers: the logs
	// source times out, the rest of the report is there.
	t.Run("kubelet hangs", func(t *testing.T) {
		t.Parallel()
		inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{})
		e.cp.Kubelet.Hang(inc.Namespace)
		t.Cleanup(func() { e.cp.Kubelet.Unhang(inc.Namespace) })
		prom := prometheus(t, inc)
		srv := newSlack(t)
		bot := e.startBot(t, srv, botSetup{prometheus: prom.URL, sourceTimeout: "3s"})
		am := alertmanager(t, bot)
		start := time.Now()
		fire(t, am, inc)
		th := waitReport(t, srv, inc, true)
		took := time.Since(start)
		t.Log(sourcesLine(th.reports[0]))
		rep := reportText(th.reports[0])
		assertContains(t, "report", rep, ":x: kubernetes/logs *failed*", "timed out after 3s", "kubelet",
			"prometheus ok", "kubernetes/events ok", "OOMKilled", "137")
		assertChart(t, th, inc.Pod)
		assertOneReport(t, srv, inc.Pod)
		if took > 45*time.Second {
			t.Errorf("report took %s with a 3 s source deadline", took)
		}
		hung := 0
		for _, r := range e.cp.Kubelet.Requests() {
			if r.Namespace == inc.Namespace && r.Status == 0 {
				hung++
			}
		}
		if hung == 0 {
			t.Error("no log request reached the hanging kubelet")
		}
	})

	// Slack answers 429 with Retry-After to the posts and the upload: the
	// bot waits and retries; the alert, the report and the chart arrive,
	// once each.
	t.Run("slack rate limits", func(t *testing.T) {
		t.Parallel()
		inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{})
		prom := prometheus(t, inc)
		srv := newSlack(t)
		bot := e.startBot(t, srv, botSetup{prometheus: prom.URL})
		am := alertmanager(t, bot)
		srv.FailNext("chat.postMessage", 3, 429, time.Second)
		srv.FailNext("files.completeUploadExternal", 1, 429, time.Second)
		fire(t, am, inc)
		th := waitReport(t, srv, inc, true)
		assertContains(t, "report", reportText(th.reports[0]), "image-decode-bomb", "ImageIO")
		assertChart(t, th, inc.Pod)
		assertOneReport(t, srv, inc.Pod)
		calls := srv.Calls("chat.postMessage")
		if len(calls) < 5 {
			t.Errorf("%d chat.postMessage calls: want 3 refused, then the alert and the report", len(calls))
		}
	})
}

// assertOneReport checks that the alert for pod was posted once and got
// exactly one report, a while after it came (a late duplicate would show).
func assertOneReport(t *testing.T, srv *slackserver.Server, pod string) {
	t.Helper()
	time.Sleep(2 * time.Second)
	parents, reports := 0, 0
	for _, m := range srv.Messages(alertsChannel) {
		if m.ThreadTS == "" && m.BotID == srv.BotID && !isReport(m) {
			parents++
			reports += len(threadOf(srv, m).reports)
		}
	}
	if parents != 1 || reports != 1 {
		t.Errorf("alert for %s posted %d time(s) with %d report(s); want 1 and 1", pod, parents, reports)
	}
}
