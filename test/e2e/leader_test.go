package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oombot/oombot/internal/rbac"
	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/slackserver"
	"github.com/oombot/oombot/test/e2e/harness"
)

// TestLeaderElection is scenario 5: two bot processes, one ServiceAccount
// bound as the HA overlay binds it, a real Lease in the real API server and
// a shared PostgreSQL store. Alerts arrive in the channel as Alertmanager's
// Slack posts (Socket Mode events go to the Lease holder only); the leader
// is killed (SIGKILL: no release) in the middle of the storm. The other
// replica takes over within 15 s and every alert is answered exactly once.
func TestLeaderElection(t *testing.T) {
	t.Parallel()
	e := env(t)
	ctx := ctxFor(t, 5*time.Minute)
	ha, err := harness.RenderDeployRBAC(ctx, e.kustomize, filepath.Join(repoRoot(), harness.KustomizeHA))
	if err != nil {
		t.Fatal(err)
	}
	if len(ha.LeaseRules) == 0 {
		t.Fatalf("%s renders no Lease Role", ha.Source)
	}
	pg := realserver.Postgres(t)

	// Alerts for distinct workloads: one namespace each, so no alert is
	// another's duplicate.
	const alerts = 10
	var incs []*harness.Incident
	for i := 0; i < alerts; i++ {
		incs = append(incs, e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{Namespace: uniqueName(fmt.Sprintf("storm%02d", i))}))
	}
	prom := prometheus(t, incs[0])

	botNS := uniqueName("oombot")
	if err := e.cp.CreateNamespace(ctx, botNS, nil); err != nil {
		t.Fatal(err)
	}
	srv := newSlack(t)
	a := e.startBot(t, srv, botSetup{prometheus: prom.URL, rbac: ha, namespace: botNS, name: "bot-a", noSocketWait: true,
		sourceTimeout: "3s", overall: "10s", extra: "leaderElection: {enabled: true, namespace: " + botNS + "}\n", postgres: pg.DSN,
		env: map[string]string{"POD_NAME": "bot-a"}})
	b := e.startBot(t, srv, botSetup{prometheus: prom.URL, rbac: ha, namespace: botNS, name: "bot-b", noSocketWait: true,
		sourceTimeout: "3s", overall: "10s", extra: "leaderElection: {enabled: true, namespace: " + botNS + "}\n", postgres: pg.DSN,
		env: map[string]string{"POD_NAME": "bot-b"}})
	bots := map[string]*runningBot{"bot-a": a, "bot-b": b}

	// One of them leads: it holds the Lease and the only connection.
	waitSlack(t, srv, "the leader's Socket Mode connection", func(s *slackserver.Server) bool { return s.Connections() == 1 })
	leaderName := leaseHolder(t, e, botNS)
	leader, ok := bots[leaderName]
	if !ok {
		t.Fatalf("Lease held by %q, not one of the bots", leaderName)
	}
	followerName := "bot-a"
	if leaderName == "bot-a" {
		followerName = "bot-b"
	}

	// The storm: an alert every 500 ms. The leader dies in the middle of
	// the fourth alert's triage: its kubelet is made to hang, so the
	// alert is acknowledged (Slack will not redeliver it) and its report
	// not yet posted when the SIGKILL lands.
	const victim = 3
	posted := make([]slackserver.Message, 0, alerts)
	var killedAt time.Time
	connects := srv.Connects()
	for i, inc := range incs {
		if i == victim {
			e.cp.Kubelet.Hang(inc.Namespace)
		}
		m, _, err := srv.PushMessage(alertsChannel, slackAlert(inc))
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, m)
		if i == victim {
			waitKubelet(t, e, inc.Namespace)
			leader.Kill()
			killedAt = time.Now()
			e.cp.Kubelet.Unhang(inc.Namespace)
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitSlack(t, srv, "the follower's takeover", func(s *slackserver.Server) bool { return s.Connects() > connects })
	// When the new leader asked for its connection.
	var took time.Duration
	for _, c := range srv.Calls("apps.connections.open") {
		if c.At.After(killedAt) {
			took = c.At.Sub(killedAt)
			break
		}
	}
	if holder := leaseHolder(t, e, botNS); holder != followerName {
		t.Errorf("after the kill the Lease is held by %q, want %q", holder, followerName)
	}
	if took > 15*time.Second {
		t.Errorf("takeover took %s after the leader died, want ≤ 15 s", took)
	}

	// Every alert gets exactly one answer, even those the dead leader had
	// acknowledged but not answered (the new leader resumes them).
	waitSlackFor(t, srv, 3*time.Minute, "an answer to every alert", func(s *slackserver.Server) bool {
		for _, m := range posted {
			if len(botReplies(s, m.TS)) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * time.Second) // a late duplicate would show by now
	for i, m := range posted {
		rs := botReplies(srv, m.TS)
		if len(rs) != 1 {
			var texts []string
			for _, r := range rs {
				texts = append(texts, tailString(r.Text, 120))
			}
			t.Errorf("alert %d (%s): %d replies, want 1: %q", i, incs[i].Namespace, len(rs), texts)
			continue
		}
		if !isReport(rs[0]) || !strings.Contains(reportText(rs[0]), "image-decode-bomb") {
			t.Errorf("alert %d (%s): reply is not the diagnosis: %.300s", i, incs[i].Namespace, reportText(rs[0]))
		}
	}
	// Who answered: the dead leader the alerts before its death, the new
	// one the rest, no alert twice (the shared store's dedup keys).
	posts := map[string]int{}
	for name, b := range bots {
		for _, l := range b.Logs() {
			if l.Msg() == "report posted" {
				posts[name]++
			}
		}
	}
	if posts[leaderName] != victim || posts[followerName] != alerts-victim {
		t.Errorf("reports posted: %v; want %d by the killed leader, %d by the new one (the one cut short resumed)", posts, victim, alerts-victim)
	}
	resumed := false
	for _, l := range bots[followerName].Logs() {
		resumed = resumed || l.Msg() == "answering an alert a replica received but never answered"
	}
	if !resumed {
		t.Error("the new leader never resumed the alert the old one was triaging when it died")
	}
	t.Logf("takeover %s after the kill; reports posted by %s (killed) %d, by %s %d",
		took.Round(100*time.Millisecond), leaderName, posts[leaderName], followerName, posts[followerName])
}

// waitKubelet waits until the kubelet holds a (hanging) log request for a
// pod in ns: the triage is in flight.
func waitKubelet(t *testing.T, e *sharedEnv, ns string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range e.cp.Kubelet.Requests() {
			if r.Namespace == ns {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log request for namespace %s reached the kubelet", ns)
}

// slackAlert is Alertmanager's default slack_configs post for the
// incident's KubePodOOMKilled alert (group_by alertname, namespace, pod).
func slackAlert(inc *harness.Incident) slackserver.Message {
	title := fmt.Sprintf("[FIRING:1] KubePodOOMKilled %s %s (%s OOMKilled critical)", inc.Namespace, inc.Pod, inc.Container)
	return slackserver.Message{SubType: "bot_message", BotID: "B0ALERTMGR", Username: "Alertmanager",
		Attachments: []map[string]any{{"color": "danger", "title": title, "fallback": title,
			"title_link": "http://alertmanager.monitoring.svc:9093/#/alerts?receiver=slack-oom"}}}
}

// botReplies are the bot's messages in a thread, file shares left out.
func botReplies(srv *slackserver.Server, ts string) []slackserver.Message {
	var out []slackserver.Message
	for _, m := range srv.Thread(alertsChannel, ts) {
		if m.TS != ts && m.BotID == srv.BotID && len(m.Files) == 0 {
			out = append(out, m)
		}
	}
	return out
}

func leaseHolder(t *testing.T, e *sharedEnv, ns string) string {
	t.Helper()
	l, err := e.cp.Admin.CoordinationV1().Leases(ns).Get(ctxFor(t, 10*time.Second), rbac.LeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}
