package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/test/e2e/harness"
)

// TestOOMKilledAlertGetsDiagnosis is scenario 1: Alertmanager fires
// KubePodOOMKilled for the image-decode-bomb pod; the bot, running under
// its own ServiceAccount with deploy/'s RBAC, reads the pod, its events,
// its rollout history and its previous log through the real API server
// (the log from the fake kubelet, through the API server's proxy) and the
// metrics from Prometheus, and posts the diagnosis with its chart in the
// alert's thread.
func TestOOMKilledAlertGetsDiagnosis(t *testing.T) {
	t.Parallel()
	e := env(t)
	inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{})
	prom := prometheus(t, inc)
	srv := newSlack(t)
	bot := e.startBot(t, srv, botSetup{prometheus: prom.URL})
	am := alertmanager(t, bot)
	fire(t, am, inc)

	th := waitReport(t, srv, inc, true)
	if len(th.reports) != 1 {
		t.Fatalf("%d reports in the thread, want 1", len(th.reports))
	}
	assertContains(t, "alert message", th.parent.Text, "KubePodOOMKilled")
	rep := reportText(th.reports[0])
	assertContains(t, "report", rep,
		"image-decode-bomb", // the playbook that matched
		"OOMKilled", "137",  // the termination, from the pod's status
		"ImageIO",                 // the OutOfMemoryError's frame, from the previous log
		"kubernetes/logs ok",      // read through the API server and the kubelet
		"kubernetes/events ok",    // the field-selected event list
		"kubernetes/workload ok",  // pod → ReplicaSet → Deployment
		"prometheus ok",           // the metrics, from the real server
		inc.Namespace+"/"+inc.Pod, // the target
		"2025.01.2",               // the image of the current revision
	)
	assertContains(t, "notification text", th.reports[0].Text, "image-decode-bomb")
	assertChart(t, th, inc.Pod)

	// The previous log went API server → kubelet with the kubelet client
	// certificate, the previous flag and the byte cap.
	var prev *harness.KubeletRequest
	for _, r := range e.cp.Kubelet.Requests() {
		if r.Namespace == inc.Namespace && r.Pod == inc.Pod && r.Container == inc.Container && r.Previous {
			prev = &r
		}
	}
	if prev == nil {
		t.Fatal("the kubelet never served the previous log")
	}
	if prev.ClientCN != "kube-apiserver-kubelet-client" || prev.LimitBytes <= 0 || prev.Status != 200 {
		t.Errorf("previous-log request: %+v", *prev)
	}

	// Every call the bot made was its own ServiceAccount's and allowed.
	audit, err := e.cp.API.Audit(bot.user())
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]bool{}
	for _, a := range audit {
		if a.Decision() != "allow" {
			t.Errorf("denied: %s %s (%s)", a.Verb, a.RequestURI, a.Decision())
		}
		if a.ObjectRef != nil {
			r := a.ObjectRef.Resource
			if a.ObjectRef.Subresource != "" {
				r += "/" + a.ObjectRef.Subresource
			}
			calls[a.Verb+" "+r] = true
		}
	}
	for _, want := range []string{"get pods", "list events", "get replicasets", "get deployments", "list replicasets", "get pods/log"} {
		if !calls[want] {
			t.Errorf("the bot never made %q through the API server (calls: %v)", want, calls)
		}
	}
}

// TestIncidents is scenario 2: the lock-growth and classloader incidents,
// and a healthy pod, each asked about with /oom triage (their alerts are
// restart and heap-usage alerts, which an SRE follows up by hand). The
// report must name the right playbook, or say no playbook matched and
// still give the facts.
func TestIncidents(t *testing.T) {
	t.Parallel()
	e := env(t)
	for _, c := range []struct {
		name, bundle string
		// want is in the report; notWant must not be.
		want, notWant []string
	}{
		// Live triage collects no class histograms (they come from jcmd,
		// which needs exec, which the bot is never granted), so the
		// playbook's required signal cannot fire on a live cluster: the
		// report says so, with everything else it found.
		{name: "lock-growth", bundle: "testdata/bundles/lock-growth",
			want: []string{"no playbook matched", "Java heap space", "exit 1",
				"`lock-growth` (0.35): required signal lock-instances-accumulating did not fire",
				"jvm_heap_used: leak", // the climbing floor, from Prometheus
				"kubernetes/logs ok", "prometheus ok"}},
		{name: "classloader-leak", bundle: "testdata/bundles/classloader-leak",
			want: []string{"likely cause: classloader-leak", "OutOfMemoryError (Metaspace)", "exit 1",
				"jvm_classes_loaded: leak", "kubernetes/logs ok", "prometheus ok"}},
		{name: "healthy", bundle: "testdata/bundles/healthy",
			want:    []string{"No OOM kill found", "no playbook matched", "kubernetes/events ok", "prometheus ok"},
			notWant: []string{"likely cause"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			inc := e.incident(t, c.bundle, harness.IncidentOptions{})
			prom := prometheus(t, inc)
			srv := newSlack(t)
			e.startBot(t, srv, botSetup{prometheus: prom.URL})
			rep := slashTriage(t, srv, inc)
			text := reportText(rep)
			t.Logf("verdict: %s", strings.SplitN(rep.Text, "\n", 2)[0])
			assertContains(t, c.name+" report", text, c.want...)
			assertNotContains(t, c.name+" report", text, c.notWant...)
		})
	}
}

// slashTriage runs `/oom triage POD -n NS` in alertsChannel and returns the
// report the bot posts there.
func slashTriage(t *testing.T, srv *slackserver.Server, inc *harness.Incident) slackserver.Message {
	t.Helper()
	fields := srv.SlashCommandFields(slackserver.SlashCommand{Command: "/oom", Text: "triage " + inc.Pod + " -n " + inc.Namespace,
		ChannelID: alertsChannel, UserID: "U0SRE00001"})
	if _, err := srv.Push(slackserver.SlashCommands, fields); err != nil {
		t.Fatal(err)
	}
	var rep slackserver.Message
	waitSlack(t, srv, "report in the channel", func(s *slackserver.Server) bool {
		for _, m := range s.Messages(alertsChannel) {
			if m.ThreadTS == "" && m.BotID == s.BotID && isReport(m) && strings.Contains(reportText(m), inc.Pod) {
				rep = m
				return true
			}
		}
		return false
	})
	return rep
}

// evidenceOf clicks "Show raw evidence" on a report and returns the
// evidence JSON the bot uploads to the thread.
func evidenceOf(t *testing.T, srv *slackserver.Server, rep slackserver.Message) map[string]any {
	t.Helper()
	id := ""
	for _, b := range rep.Blocks {
		if b["type"] != "actions" {
			continue
		}
		for _, el := range b["elements"].([]any) {
			if v, ok := el.(map[string]any)["value"].(string); ok && v != "" {
				id = v
			}
		}
	}
	if id == "" {
		t.Fatal("report has no buttons")
	}
	threadTS := rep.ThreadTS
	if threadTS == "" {
		threadTS = rep.TS
	}
	p := srv.BlockActionsPayload(slackserver.BlockAction{ActionID: "oom_raw_evidence", Value: id, ChannelID: alertsChannel, MessageTS: rep.TS, UserID: "U0SRE00002"})
	if _, err := srv.Push(slackserver.Interactive, p); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	waitSlack(t, srv, "evidence snippet", func(s *slackserver.Server) bool {
		for _, f := range s.Files() {
			if f.ThreadTS == threadTS && f.Completed && strings.HasPrefix(f.Name, "evidence-") {
				return json.Unmarshal(f.Data, &ev) == nil
			}
		}
		return false
	})
	return ev
}
