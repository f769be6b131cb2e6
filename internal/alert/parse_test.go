package alert

import (
	"reflect"
	"strings"
	"testing"
)

const pod = "checkout-7d9f8b6c5-x2x4q"

func newTestParser(t testing.TB, r Rules) *Parser {
	t.Helper()
	p, err := NewParser(r)
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	return p
}

// bot builds a bot message with top-level text only.
func bot(text string) Message {
	return Message{BotID: "B0BOT", Username: "alerts", Text: text}
}

// TestParseTargets checks what each labelled or unlabelled shape yields.
// Source, state, kind and fingerprint are covered elsewhere; this table
// compares the target, Missing and Inferred.
func TestParseTargets(t *testing.T) {
	type want struct {
		cluster, namespace, pod, workload, container string
		missing, inferred                            []string
	}
	tests := []struct {
		name string
		msg  Message
		want want
	}{
		{
			name: "datadog tag list",
			msg:  bot("Triggered: Container OOMKilled\nkube_cluster_name:prod-eu-1, kube_namespace:shop, pod_name:" + pod + ", kube_container_name:app, kube_deployment:checkout"),
			want: want{cluster: "prod-eu-1", namespace: "shop", pod: pod, workload: "checkout", container: "app"},
		},
		{
			name: "key before a tag on the same line is not swallowed",
			msg:  bot("Triggered: OOMKilled\nTags: kube_namespace:shop · pod_name:" + pod),
			want: want{namespace: "shop", pod: pod, workload: "checkout", inferred: []string{"workload"}},
		},
		{
			name: "prometheus label set",
			msg:  bot(`[FIRING:1] OOMKilled` + "\n" + `kube_pod_container_status_last_terminated_reason{cluster="prod-eu-1", namespace="shop", pod="` + pod + `", container="app"} == 1`),
			want: want{cluster: "prod-eu-1", namespace: "shop", pod: pod, workload: "checkout", container: "app", inferred: []string{"workload"}},
		},
		{
			name: "slack emphasis and code around labels",
			msg:  bot("[FIRING:1] KubePodOOMKilled\n • *namespace:* `shop`\n • *pod*: `" + pod + "`"),
			want: want{namespace: "shop", pod: pod, workload: "checkout", inferred: []string{"workload"}},
		},
		{
			name: "namespace/pod value splits",
			msg:  bot("ALERT OOMKilled\npod: shop/" + pod),
			want: want{namespace: "shop", pod: pod, workload: "checkout", inferred: []string{"workload"}},
		},
		{
			name: "kind/name workload value",
			msg:  bot("ALERT OOMKilled\nnamespace=shop workload=deployment/checkout"),
			want: want{namespace: "shop", workload: "checkout"},
		},
		{
			name: "explicit workload is kept over the derived one",
			msg:  bot("ALERT OOMKilled\nnamespace: shop\npod: " + pod + "\nworkload: checkout-v2"),
			want: want{namespace: "shop", pod: pod, workload: "checkout-v2"},
		},
		{
			name: "statefulset ordinal derives the statefulset",
			msg:  bot("ALERT OOMKilled namespace: data pod: kafka-2"),
			want: want{namespace: "data", pod: "kafka-2", workload: "kafka", inferred: []string{"workload"}},
		},
		{
			name: "daemonset pod: no workload guessed",
			msg:  bot("ALERT OOMKilled namespace: logging pod: fluentd-x2x4q"),
			want: want{namespace: "logging", pod: "fluentd-x2x4q"},
		},
		{
			name: "values that are not kubernetes names are skipped",
			msg:  bot("ALERT OOMKilled namespace: Shop_Prod namespace: shop pod: <none>"),
			want: want{namespace: "shop", missing: []string{"pod or workload"}},
		},
		{
			name: "prose pattern: container in pod ns/name",
			msg:  bot("[FIRING:1] KubernetesContainerOomKiller\nContainer app in pod shop/" + pod + " has been OOMKilled 1 times in the last 10 minutes."),
			want: want{namespace: "shop", pod: pod, workload: "checkout", container: "app", inferred: []string{"workload"}},
		},
		{
			name: "pod recognised by its shape in the headline",
			msg:  bot("Triggered: Container OOMKilled on " + pod + "."),
			want: want{pod: pod, workload: "checkout", missing: []string{"namespace"}, inferred: []string{"pod", "workload"}},
		},
		{
			name: "nothing found",
			msg:  bot("Triggered: some container was OOMKilled"),
			want: want{missing: []string{"namespace", "pod or workload"}},
		},
		{
			name: "alertmanager title mapped through titleLabels",
			msg: Message{BotID: "B0AM", Username: "Alertmanager", Attachments: []Attachment{{
				Title: "[FIRING:2] KubePodOOMKilled shop " + pod + " (prod-eu-1 app warning)"}}},
			want: want{namespace: "shop", pod: pod, workload: "checkout", inferred: []string{"workload"}},
		},
		{
			name: "alertmanager title from another group_by is not mapped",
			// group_by [alertname, cluster, service]: same count, but
			// "checkout" is no pod name, so the whole mapping is dropped.
			msg: Message{BotID: "B0AM", Username: "Alertmanager", Attachments: []Attachment{{
				Title: "[FIRING:1] KubePodOOMKilled prod-eu-1 checkout (app warning)"}}},
			want: want{missing: []string{"namespace", "pod or workload"}},
		},
		{
			name: "attachment fields",
			msg: Message{BotID: "B0AM", Attachments: []Attachment{{Title: "[FIRING:1] OOMKilled", Fields: []Field{
				{Title: "Namespace", Value: "shop"}, {Title: "Deployment", Value: "checkout"}, {Title: "Cluster", Value: "prod-eu-1"}}}}},
			want: want{cluster: "prod-eu-1", namespace: "shop", workload: "checkout"},
		},
		{
			name: "blocks",
			msg: Message{BotID: "B0DD", Text: "Triggered: JVM old gen above 90%", Blocks: []string{
				"Old gen after GC", "Tags: kube_namespace:shop · kube_stateful_set:ledger · pod_name:ledger-0"}},
			want: want{namespace: "shop", pod: "ledger-0", workload: "ledger"},
		},
	}
	p := newTestParser(t, DefaultRules())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := p.Parse(tt.msg)
			if !ok {
				t.Fatalf("Parse = false, want an alert")
			}
			got := want{a.Cluster, a.Namespace, a.Pod, a.Workload, a.Container, a.Missing, a.Inferred}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("target\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

// TestParseRecognition checks which messages are alerts, and their source,
// state, kind, title and link.
func TestParseRecognition(t *testing.T) {
	type want struct {
		ok                  bool
		source, state, kind string
		title, link         string
	}
	tests := []struct {
		name string
		msg  Message
		want want
	}{
		{"alertmanager firing", Message{Username: "Alertmanager", BotID: "B1", Attachments: []Attachment{{
			Title: "[FIRING:1] KubePodOOMKilled shop " + pod, TitleLink: "http://am:9093/#/alerts?receiver=x"}}},
			want{true, SourceAlertmanager, StateFiring, KindOOMKilled, "[FIRING:1] KubePodOOMKilled shop " + pod, "http://am:9093/#/alerts?receiver=x"}},
		{"alertmanager resolved", Message{Username: "Alertmanager", BotID: "B1", Attachments: []Attachment{{
			Title: "[RESOLVED] KubePodOOMKilled shop " + pod}}},
			want{true, SourceAlertmanager, StateResolved, KindOOMKilled, "[RESOLVED] KubePodOOMKilled shop " + pod, ""}},
		{"alertmanager from a renamed bot", Message{Username: "prom-alerts", BotID: "B1", Attachments: []Attachment{{
			Title: "[FIRING:3] ContainerMemoryWorkingSetHigh shop"}}},
			want{true, SourceAlertmanager, StateFiring, KindMemory, "[FIRING:3] ContainerMemoryWorkingSetHigh shop", ""}},
		{"datadog triggered", Message{Username: "Datadog", BotID: "B2", Text: "Triggered: [P2] Container OOMKilled on x\nhttps://app.datadoghq.com/monitors/42?group=a"},
			want{true, SourceDatadog, StateFiring, KindOOMKilled, "Triggered: [P2] Container OOMKilled on x", "https://app.datadoghq.com/monitors/42?group=a"}},
		{"datadog re-triggered", Message{Username: "Datadog", BotID: "B2", Text: "Re-Triggered: [P2] Container OOMKilled on x"},
			want{true, SourceDatadog, StateFiring, KindOOMKilled, "Re-Triggered: [P2] Container OOMKilled on x", ""}},
		{"datadog recovered", Message{Username: "Datadog", BotID: "B2", Text: "Recovered: [P2] Container OOMKilled on x"},
			want{true, SourceDatadog, StateResolved, KindOOMKilled, "Recovered: [P2] Container OOMKilled on x", ""}},
		{"datadog scope marks the source", Message{BotID: "B2", Text: "[Triggered on {kube_namespace:shop}] heap above 90%"},
			want{true, SourceDatadog, StateFiring, KindGC, "[Triggered on {kube_namespace:shop}] heap above 90%", ""}},
		{"linked title loses its markup", Message{BotID: "B2", Text: "*<https://x.example/m/1|Triggered: old gen above 90%>*"},
			want{true, SourceGeneric, StateFiring, KindGC, "Triggered: old gen above 90%", "https://x.example/m/1"}},
		{"exit code 137 is an OOM kill", bot("ALERT: container app exited with exitCode: 137"),
			want{true, SourceGeneric, StateFiring, KindOOMKilled, "ALERT: container app exited with exitCode: 137", ""}},
		{"reason OOMKilled", bot("Pod restarted. Reason: OOMKilled"),
			want{true, SourceGeneric, StateFiring, KindOOMKilled, "Pod restarted. Reason: OOMKilled", ""}},
		{"container_oom_events", bot("Alert: increase(container_oom_events_total[5m]) > 0"),
			want{true, SourceGeneric, StateFiring, KindOOMKilled, "Alert: increase(container_oom_events_total[5m]) > 0", ""}},
		{"OOM kill without a state word is still an alert", bot("🔥 shop/" + pod + " OOMKilled"),
			want{true, SourceGeneric, StateFiring, KindOOMKilled, "🔥 shop/" + pod + " OOMKilled", ""}},
		{"jvm.gc monitor", bot("Triggered: jvm.gc.major_collection_time above 1s"),
			want{true, SourceGeneric, StateFiring, KindGC, "Triggered: jvm.gc.major_collection_time above 1s", ""}},
		{"memory usage", bot("Warning: memory usage above 90% of limit"),
			want{true, SourceGeneric, StateFiring, KindMemory, "Warning: memory usage above 90% of limit", ""}},
		{"first state marker in a head wins", bot("[FIRING:1] heap alert, previously resolved"),
			want{true, SourceAlertmanager, StateFiring, KindGC, "[FIRING:1] heap alert, previously resolved", ""}},

		{"datadog no data", Message{Username: "Datadog", BotID: "B2", Text: "[No Data on {pod_name:x-0}] Container OOMKilled on x-0"}, want{}},
		{"GC words without a state are not an alert", bot("Deployed checkout v42: heap settings tuned"), want{}},
		{"lowercase oom in a channel handle is no OOM", bot("Triggered: CPU above 90% @slack-oom-alerts"), want{}},
		{"cpu", bot("Triggered: [P3] CPU throttling above 25% on " + pod), want{}},
		{"5xx", bot("[FIRING:1] HighErrorRate shop checkout (5xx above 2%)"), want{}},
		{"disk", bot("Triggered: disk usage above 90% on node-12"), want{}},
		{"person", Message{Text: "[FIRING:1] KubePodOOMKilled shop " + pod}, want{}},
		{"empty", Message{}, want{}},
	}
	p := newTestParser(t, DefaultRules())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := p.Parse(tt.msg)
			got := want{ok, a.Source, a.State, a.Kind, a.Title, a.Link}
			if got != tt.want {
				t.Errorf("\n got  %+v\n want %+v", got, tt.want)
			}
			if ok && a.Fingerprint == "" {
				t.Errorf("empty fingerprint")
			}
		})
	}
}

func TestParseBots(t *testing.T) {
	r := DefaultRules()
	r.Bots = []string{"datadog", "B0ALERTMGR"}
	p := newTestParser(t, r)
	msg := func(botID, user string) Message {
		return Message{BotID: botID, Username: user, Text: "Triggered: Container OOMKilled"}
	}
	tests := []struct {
		name string
		msg  Message
		want bool
	}{
		{"username, any case", msg("B0OTHER", "Datadog"), true},
		{"bot id", msg("B0ALERTMGR", "whatever"), true},
		{"other bot", msg("B0OTHER", "deploybot"), false},
		{"person", Message{Text: "Triggered: Container OOMKilled"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := p.Parse(tt.msg); ok != tt.want {
				t.Errorf("Parse ok = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	p := newTestParser(t, DefaultRules())
	am := func(status, extra string) Message {
		return Message{BotID: "B1", Username: "Alertmanager", Attachments: []Attachment{{
			Title: "[" + status + "] KubePodOOMKilled shop " + pod + " (prod-eu-1 app" + extra + ")"}}}
	}
	dd := func(state, scope, link string) Message {
		return Message{BotID: "B2", Username: "Datadog", Attachments: []Attachment{{
			Title: state + ": [P2] Container OOMKilled on " + pod, TitleLink: link,
			Text: "[" + state + " on {" + scope + "}]"}}}
	}
	const monitor = "https://app.datadoghq.eu/monitors/81234567?group=kube_namespace%3Ashop%2Cpod_name%3A" + pod
	tests := []struct {
		name string
		a, b Message
		same bool
	}{
		{"alertmanager firing and resolved", am("FIRING:2", ""), am("RESOLVED", " 10.0.0.1:8080"), true},
		{"alertmanager other pod", am("FIRING:1", ""),
			Message{BotID: "B1", Attachments: []Attachment{{Title: "[FIRING:1] KubePodOOMKilled shop checkout-7d9f8b6c5-bbbbb"}}}, false},
		{"datadog triggered and recovered, scope in another order",
			dd("Triggered", "kube_namespace:shop,pod_name:"+pod, monitor),
			dd("Recovered", "pod_name:"+pod+", kube_namespace:shop", monitor+"&event_id=2"), true},
		{"datadog scope from the link alone",
			Message{BotID: "B2", Username: "Datadog", Attachments: []Attachment{{Title: "Triggered: OOMKilled", TitleLink: monitor}}},
			dd("Recovered", "pod_name:"+pod+",kube_namespace:shop", monitor), true},
		{"datadog other monitor", dd("Triggered", "pod_name:"+pod, monitor),
			dd("Triggered", "pod_name:"+pod, strings.Replace(monitor, "81234567", "81234568", 1)), false},
		{"datadog other group", dd("Triggered", "pod_name:"+pod, monitor), dd("Triggered", "pod_name:other-0", monitor), false},
		{"datadog [Monitor #id] text", bot("[Monitor #81234567] Triggered: Container OOMKilled\n[Triggered on {pod_name:x-0}]"),
			bot("[Monitor #81234567] Recovered: Container OOMKilled\n[Recovered on {pod_name:x-0}]"), true},
		{"generic: state words removed", bot("ALERT: OOMKilled in namespace=shop pod=" + pod),
			bot("RESOLVED: OOMKilled in namespace=shop pod=" + pod), true},
		{"generic: other pod", bot("ALERT: OOMKilled in namespace=shop pod=a-0"), bot("ALERT: OOMKilled in namespace=shop pod=b-0"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok1 := p.Parse(tt.a)
			b, ok2 := p.Parse(tt.b)
			if !ok1 || !ok2 {
				t.Fatalf("Parse ok = %v, %v", ok1, ok2)
			}
			if (a.Fingerprint == b.Fingerprint) != tt.same {
				t.Errorf("fingerprints %q and %q: same = %v, want %v", a.Fingerprint, b.Fingerprint, !tt.same, tt.same)
			}
		})
	}
}

func TestParseCapsInput(t *testing.T) {
	p := newTestParser(t, DefaultRules())
	filler := strings.Repeat("x", MaxInput)
	// The target after the cap is not read; the kind before it is.
	a, ok := p.Parse(bot("Triggered: Container OOMKilled\n" + filler + "\nnamespace: shop pod: " + pod))
	if !ok {
		t.Fatal("Parse = false")
	}
	if a.Namespace != "" || a.Pod != "" {
		t.Errorf("read past the cap: namespace %q pod %q", a.Namespace, a.Pod)
	}
	// A kind only past the cap is not seen at all.
	if _, ok := p.Parse(bot("Triggered: something\n" + filler + "\nOOMKilled")); ok {
		t.Error("kind found past the cap")
	}
}

func TestDeriveWorkload(t *testing.T) {
	tests := []struct {
		pod, deploy, sts string
	}{
		{pod, "checkout", ""},
		{"api-gateway-5c4f7b8d9b-2wq8z", "api-gateway", ""},
		{"kafka-12", "", "kafka"},
		{"kafka-0", "", "kafka"},
		{"kafka-01", "", ""},
		{"fluentd-x2x4q", "", ""},
		{"backup-28374650-bcdfg", "", ""}, // CronJob pod: the job suffix has 0 and 3
		{"checkout-7d9f-abcde", "", ""},   // vowels are never generated
		{"-7d9f8b6c5-x2x4q", "", ""},
		{"", "", ""},
		{"-", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pod, func(t *testing.T) {
			d, _ := deploymentOf(tt.pod)
			s, _ := statefulSetOf(tt.pod)
			if d != tt.deploy || s != tt.sts {
				t.Errorf("deploymentOf = %q, statefulSetOf = %q; want %q, %q", d, s, tt.deploy, tt.sts)
			}
		})
	}
}
