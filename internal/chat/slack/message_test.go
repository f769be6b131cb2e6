package slack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/chat"
)

const msgPod = "checkout-7d9f8b6c5-x2x4q"

// msgEvent decodes a fixture envelope the way the receivers do.
func msgEvent(t testing.TB, name string) (*slackevents.MessageEvent, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	outer, err := slackevents.ParseEvent(json.RawMessage(data), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("%s: ParseEvent: %v", name, err)
	}
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || outer.Type != slackevents.CallbackEvent {
		t.Fatalf("%s: not an event_callback: %T", name, outer.Data)
	}
	ev, ok := outer.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		t.Fatalf("%s: inner event %T, want *MessageEvent", name, outer.InnerEvent.Data)
	}
	return ev, cb.EventID
}

func msgParser(t testing.TB) *alert.Parser {
	t.Helper()
	p, err := alert.NewParser(alert.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFixtures runs every fixture through the receivers' path: decode the
// envelope, InboundFromEvent, Parse. Fingerprints are asserted exactly:
// the bot stores alert threads under them, so a change would orphan the
// threads of alerts that fired before an upgrade.
func TestFixtures(t *testing.T) {
	const amLink = "http://alertmanager.monitoring.svc:9093/#/alerts?receiver=slack-oom"
	const amCommon = " (prod-eu-1 app 10.42.3.17:8080 kube-state-metrics OOMKilled kube-prometheus-stack-kube-state-metrics warning)"
	const ddLink = "https://app.datadoghq.eu/monitors/81234567?group=kube_namespace%3Ashop%2Cpod_name%3A" + msgPod + "&from_ts=1767224700000&to_ts=1767225900000&event_id="
	tests := []struct {
		name     string
		inbound  bool // InboundFromEvent accepts it
		ts, user string
		botID    string
		username string
		isAlert  bool
		want     alert.Alert
	}{
		{name: "alertmanager-firing-oomkilled", inbound: true, ts: "1767225600.000100", botID: "B0ALERTMGR", username: "Alertmanager", isAlert: true,
			want: alert.Alert{Source: "alertmanager", State: "firing", Kind: "oomkilled",
				Title:     "[FIRING:1] KubePodOOMKilled shop " + msgPod + amCommon,
				Namespace: "shop", Pod: msgPod, Workload: "checkout",
				Fingerprint: "alertmanager:60eda53b59d3e578", Link: amLink, Inferred: []string{"workload"}}},
		{name: "alertmanager-resolved", inbound: true, ts: "1767226500.000200", botID: "B0ALERTMGR", username: "Alertmanager", isAlert: true,
			want: alert.Alert{Source: "alertmanager", State: "resolved", Kind: "oomkilled",
				Title:     "[RESOLVED] KubePodOOMKilled shop " + msgPod + amCommon,
				Namespace: "shop", Pod: msgPod, Workload: "checkout",
				Fingerprint: "alertmanager:60eda53b59d3e578", Link: amLink, Inferred: []string{"workload"}}},
		{name: "alertmanager-templated", inbound: true, ts: "1767225660.000300", botID: "B0ALERTMGR", username: "Alertmanager", isAlert: true,
			want: alert.Alert{Source: "alertmanager", State: "firing", Kind: "oomkilled", Title: "[FIRING:1] KubePodOOMKilled",
				Cluster: "prod-eu-1", Namespace: "shop", Pod: msgPod, Workload: "checkout", Container: "app",
				Fingerprint: "alertmanager:f70072bb51ce0fee", Link: amLink, Inferred: []string{"workload"}}},
		{name: "alertmanager-workload-only", inbound: true, ts: "1767225720.000400", botID: "B0ALERTMGR", username: "Alertmanager", isAlert: true,
			want: alert.Alert{Source: "alertmanager", State: "firing", Kind: "oomkilled",
				Title:   "[FIRING:3] DeploymentContainersOOMKilled checkout shop (prod-eu-1 app warning)",
				Cluster: "prod-eu-1", Namespace: "shop", Workload: "checkout", Container: "app",
				Fingerprint: "alertmanager:5929bd049e0cfe71", Link: amLink}},
		{name: "datadog-triggered-oom", inbound: true, ts: "1767225780.000500", botID: "B0DATADOG1", username: "Datadog", isAlert: true,
			want: alert.Alert{Source: "datadog", State: "firing", Kind: "oomkilled", Title: "Triggered: [P2] Container OOMKilled on " + msgPod,
				Cluster: "prod-eu-1", Namespace: "shop", Pod: msgPod, Workload: "checkout", Container: "app",
				Fingerprint: "datadog:624d53fb42ec0b42", Link: ddLink + "7712345678901234567"}},
		{name: "datadog-recovered", inbound: true, ts: "1767226800.000600", botID: "B0DATADOG1", username: "Datadog", isAlert: true,
			want: alert.Alert{Source: "datadog", State: "resolved", Kind: "oomkilled", Title: "Recovered: [P2] Container OOMKilled on " + msgPod,
				Namespace: "shop", Pod: msgPod, Workload: "checkout",
				Fingerprint: "datadog:624d53fb42ec0b42", Link: ddLink + "7712345678909999999", Inferred: []string{"workload"}}},
		{name: "datadog-blocks-gc", inbound: true, ts: "1767225840.000700", user: "U0DATADOG1", botID: "B0DATADOG2", username: "Datadog", isAlert: true,
			want: alert.Alert{Source: "datadog", State: "firing", Kind: "gc", Title: "Triggered: [P3] JVM old gen above 90% after GC on " + msgPod,
				Cluster: "prod-eu-1", Namespace: "shop", Pod: msgPod, Workload: "checkout", Container: "app",
				Fingerprint: "datadog:9ba1bbb96ef8c406",
				Link:        "https://app.datadoghq.eu/monitors/81239999?group=kube_namespace%3Ashop%2Cpod_name%3A" + msgPod}},
		{name: "datadog-cpu", inbound: true, ts: "1767225900.000800", botID: "B0DATADOG1", username: "Datadog"},
		{name: "human-message", inbound: true, ts: "1767225960.000900", user: "U0HUMAN001"},
		{name: "message-changed"},
	}
	p := msgParser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, eventID := msgEvent(t, tt.name)
			in, ok := InboundFromEvent(ev, eventID, 2)
			if ok != tt.inbound {
				t.Fatalf("InboundFromEvent ok = %v, want %v", ok, tt.inbound)
			}
			if !ok {
				return
			}
			wantIn := chat.Inbound{EventID: eventID, Channel: "C0ALERTS01", TS: tt.ts, User: tt.user, Retry: 2}
			gotIn := in
			gotIn.Message = alert.Message{}
			if !reflect.DeepEqual(gotIn, wantIn) {
				t.Errorf("inbound\n got  %+v\n want %+v", gotIn, wantIn)
			}
			if in.Message.BotID != tt.botID || in.Message.Username != tt.username {
				t.Errorf("poster = %q/%q, want %q/%q", in.Message.BotID, in.Message.Username, tt.botID, tt.username)
			}
			a, ok := p.Parse(in.Message)
			if ok != tt.isAlert {
				t.Fatalf("Parse ok = %v, want %v (%+v)", ok, tt.isAlert, a)
			}
			if !ok {
				return
			}
			if !reflect.DeepEqual(a, tt.want) {
				t.Errorf("alert\n got  %#v\n want %#v", a, tt.want)
			}
		})
	}
}

func TestFixtureFingerprintPairs(t *testing.T) {
	p := msgParser(t)
	parse := func(name string) alert.Alert {
		ev, id := msgEvent(t, name)
		in, ok := InboundFromEvent(ev, id, 0)
		if !ok {
			t.Fatalf("%s: not inbound", name)
		}
		a, ok := p.Parse(in.Message)
		if !ok {
			t.Fatalf("%s: not an alert", name)
		}
		return a
	}
	pairs := []struct {
		firing, resolved string
	}{
		{"alertmanager-firing-oomkilled", "alertmanager-resolved"},
		{"datadog-triggered-oom", "datadog-recovered"},
	}
	seen := map[string]string{}
	for _, pr := range pairs {
		f, r := parse(pr.firing), parse(pr.resolved)
		if f.State != alert.StateFiring || r.State != alert.StateResolved {
			t.Errorf("%s/%s states = %s/%s", pr.firing, pr.resolved, f.State, r.State)
		}
		if f.Fingerprint != r.Fingerprint {
			t.Errorf("%s and %s: fingerprints %q != %q", pr.firing, pr.resolved, f.Fingerprint, r.Fingerprint)
		}
		seen[f.Fingerprint] = pr.firing
	}
	// Alerts on the same pod from other rules or monitors must not share a
	// fingerprint with these: a resolve would close the wrong thread.
	for _, other := range []string{"alertmanager-templated", "alertmanager-workload-only", "datadog-blocks-gc"} {
		if first, dup := seen[parse(other).Fingerprint]; dup {
			t.Errorf("%s shares its fingerprint with %s", other, first)
		}
	}
}

func TestAlertMessageBlocks(t *testing.T) {
	ev, _ := msgEvent(t, "datadog-blocks-gc")
	m := AlertMessage(*ev.Message)
	const link = "https://app.datadoghq.eu/monitors/81239999?group=kube_namespace%3Ashop%2Cpod_name%3A" + msgPod
	want := []string{
		"*<" + link + "|Triggered: [P3] JVM old gen above 90% after GC on " + msgPod + ">*",
		"[Triggered on {kube_namespace:shop,pod_name:" + msgPod + "}]\n" +
			"Old gen occupancy after full GC is 94% of the max heap and the floor has climbed for 3 hours: likely a leak. " +
			"<https://wiki.example.com/runbooks/jvm-heap|Heap runbook>\n• Owner: <@U0PAYMENTS1>",
		"*Metric*\n`avg(last_30m):avg:jvm.gc.old_gen_size{kube_namespace:shop} by {pod_name} / avg:jvm.heap_memory_max{kube_namespace:shop} by {pod_name} &gt; 0.9`\n*Value*\n0.94",
		"Tags: kube_cluster_name:prod-eu-1 · kube_namespace:shop · kube_deployment:checkout · pod_name:" + msgPod + " · kube_container_name:app",
	}
	if !reflect.DeepEqual(m.Blocks, want) {
		t.Errorf("blocks\n got  %q\n want %q", m.Blocks, want)
	}
	if m.Username != "Datadog" || m.BotID != "B0DATADOG2" || len(m.Attachments) != 0 {
		t.Errorf("poster %q/%q, %d attachments", m.BotID, m.Username, len(m.Attachments))
	}
}

func TestAlertMessageAttachments(t *testing.T) {
	header := slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, "Heap alert", false, false))
	divider := slackapi.NewDividerBlock()
	md := &slackapi.MarkdownBlock{Type: slackapi.MBTMarkdown, Text: "**namespace**: shop"}
	msg := slackapi.Msg{Text: "top", Username: "hook", BotID: "B1",
		BotProfile: &slackapi.BotProfile{Name: "ignored: username wins"},
		Blocks:     slackapi.Blocks{BlockSet: []slackapi.Block{md, divider}},
		Attachments: []slackapi.Attachment{{
			Pretext: "pre", Title: "title", TitleLink: "https://x", Text: "text", Fallback: "fb", Footer: "foot",
			Fields: []slackapi.AttachmentField{{Title: "pod", Value: msgPod, Short: true}},
			Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{header}},
		}},
	}
	want := alert.Message{Text: "top", Username: "hook", BotID: "B1",
		Blocks: []string{"**namespace**: shop", "Heap alert"},
		Attachments: []alert.Attachment{{Pretext: "pre", Title: "title", TitleLink: "https://x", Text: "text", Fallback: "fb", Footer: "foot",
			Fields: []alert.Field{{Title: "pod", Value: msgPod}}}},
	}
	if got := AlertMessage(msg); !reflect.DeepEqual(got, want) {
		t.Errorf("\n got  %#v\n want %#v", got, want)
	}
	if got := AlertMessage(slackapi.Msg{}); !reflect.DeepEqual(got, alert.Message{}) {
		t.Errorf("empty message flattened to %#v", got)
	}
}

func TestInboundFromEventSubtypes(t *testing.T) {
	tests := []struct {
		subtype string
		want    bool
	}{
		{"", true},
		{"bot_message", true},
		{"thread_broadcast", true},
		{"message_changed", false},
		{"message_deleted", false},
		{"message_replied", false},
		{"channel_join", false},
		{"channel_topic", false},
	}
	for _, tt := range tests {
		t.Run(tt.subtype, func(t *testing.T) {
			ev := &slackevents.MessageEvent{Type: "message", SubType: tt.subtype, Channel: "C1", TimeStamp: "1.2",
				ThreadTimeStamp: "1.1", BotID: "B1", Username: "hook", Text: "[FIRING:1] OOMKilled"}
			in, ok := InboundFromEvent(ev, "Ev1", 0)
			if ok != tt.want {
				t.Fatalf("ok = %v, want %v", ok, tt.want)
			}
			if ok && (in.TS != "1.2" || in.ThreadTS != "1.1" || in.Thread() != "1.1" ||
				in.Message.Text != "[FIRING:1] OOMKilled" || in.Message.BotID != "B1" || in.Message.Username != "hook") {
				t.Errorf("inbound %+v", in)
			}
		})
	}
	if _, ok := InboundFromEvent(nil, "Ev1", 0); ok {
		t.Error("nil event accepted")
	}
	hidden := &slackevents.MessageEvent{Type: "message", Message: &slackapi.Msg{Hidden: true}}
	if _, ok := InboundFromEvent(hidden, "Ev1", 0); ok {
		t.Error("hidden message accepted")
	}
}

// msgBenchInputs are the fixture messages, and the same text flattened
// for the regexp baseline.
func msgBenchInputs(b *testing.B) ([]alert.Message, []string) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("fixtures: %v", err)
	}
	var msgs []alert.Message
	var texts []string
	for _, f := range files {
		ev, id := msgEvent(b, strings.TrimSuffix(filepath.Base(f), ".json"))
		in, ok := InboundFromEvent(ev, id, 0)
		if !ok {
			continue
		}
		msgs = append(msgs, in.Message)
		parts := append([]string{in.Message.Text}, in.Message.Blocks...)
		for _, a := range in.Message.Attachments {
			parts = append(parts, a.Pretext, a.Title, a.TitleLink, a.Text, a.Footer, a.Fallback)
			for _, fl := range a.Fields {
				parts = append(parts, fl.Title+": "+fl.Value)
			}
		}
		texts = append(texts, strings.Join(parts, "\n"))
	}
	return msgs, texts
}

// BenchmarkParse parses every fixture once per iteration.
func BenchmarkParse(b *testing.B) {
	p := msgParser(b)
	msgs, _ := msgBenchInputs(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			p.Parse(m)
		}
	}
}

// BenchmarkRegexpOnly is the baseline for BenchmarkParse: one compiled
// regular expression matched over the same texts.
func BenchmarkRegexpOnly(b *testing.B) {
	re := regexp.MustCompile(`(?i)oom[ _-]?kill`)
	_, texts := msgBenchInputs(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range texts {
			re.MatchString(s)
		}
	}
}
