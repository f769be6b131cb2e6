package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oombot/oombot/test/e2e/harness"
)

// TestEventFieldSelector is scenario 4: a namespace holds the events of 60
// sibling pods (same Deployment, same reasons) and one left by an earlier
// pod of the same name. The API server filters by field selector (client
// go's fake would return them all), the bot asks with one, and the report
// and its evidence cite the target pod's events only.
func TestEventFieldSelector(t *testing.T) {
	t.Parallel()
	e := env(t)
	inc := e.incident(t, "examples/incidents/image-decode-bomb", harness.IncidentOptions{DecoyPods: 60})
	if inc.Events == 0 || inc.Decoys != 61 {
		t.Fatalf("loaded %d target events and %d decoys", inc.Events, inc.Decoys)
	}
	ctx := ctxFor(t, time.Minute)
	// The server really filters: the selector the bot sends returns the
	// target's events and the same-name leftover, nothing of the siblings.
	sel := "involvedObject.name=" + inc.Pod + ",involvedObject.kind=Pod"
	list, err := e.cp.Admin.CoreV1().Events(inc.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.cp.Admin.CoreV1().Events(inc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != inc.Events+1 || len(all.Items) != inc.Events+inc.Decoys {
		t.Fatalf("field selector returned %d of %d events, want %d", len(list.Items), len(all.Items), inc.Events+1)
	}

	prom := prometheus(t, inc)
	srv := newSlack(t)
	bot := e.startBot(t, srv, botSetup{prometheus: prom.URL})
	am := alertmanager(t, bot)
	fire(t, am, inc)
	th := waitReport(t, srv, inc, true)
	rep := th.reports[0]
	assertContains(t, "report", reportText(rep), "image-decode-bomb", "kubernetes/events ok")
	assertNotContains(t, "report", reportText(rep), harness.DecoyMarker)

	ev := evidenceOf(t, srv, rep)
	events, _ := ev["events"].([]any)
	if len(events) != inc.Events {
		t.Errorf("evidence has %d events, want the target's %d", len(events), inc.Events)
	}
	for _, x := range events {
		if s := fmt.Sprint(x); strings.Contains(s, harness.DecoyMarker) {
			t.Errorf("evidence cites a decoy event: %.300s", s)
		}
	}

	// How it asked: one list, with the selector, scoped to the namespace.
	audit, err := e.cp.API.Audit(bot.user())
	if err != nil {
		t.Fatal(err)
	}
	lists := 0
	for _, a := range audit {
		if a.Verb != "list" || a.ObjectRef == nil || a.ObjectRef.Resource != "events" {
			continue
		}
		lists++
		u, err := url.Parse(a.RequestURI)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get("fieldSelector"); !strings.Contains(got, "involvedObject.name="+inc.Pod) {
			t.Errorf("event list without the pod's field selector: %s", a.RequestURI)
		}
		if a.ObjectRef.Namespace != inc.Namespace {
			t.Errorf("event list not scoped to the namespace: %s", a.RequestURI)
		}
	}
	if lists == 0 {
		t.Error("the bot never listed events")
	}
}
