package alert

import (
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary text into every part of a message. Parse must
// not panic, and whatever it accepts must hold the Alert invariants.
func FuzzParse(f *testing.F) {
	seeds := [][5]string{
		{"", "[FIRING:1] KubePodOOMKilled shop " + pod + " (prod-eu-1 app)", "", "", ""},
		{"", "[RESOLVED] KubePodOOMKilled shop " + pod, "", "", ""},
		{"", "[FIRING:1] KubePodOOMKilled", "*Labels:*\n • namespace: `shop`\n • pod: `" + pod + "`", "", ""},
		{"", "[FIRING:3] DeploymentOOMKilled checkout shop", "", "deployment", "checkout"},
		{"Triggered: [P2] Container OOMKilled on " + pod, "", "[Triggered on {kube_namespace:shop,pod_name:" + pod + "}]",
			"", "https://app.datadoghq.eu/monitors/81234567?group=kube_namespace%3Ashop"},
		{"Recovered: [P3] JVM old gen above 90%", "Tags: kube_namespace:shop · kube_stateful_set:ledger · pod_name:ledger-0", "", "", ""},
		{"Triggered: CPU above 90% @slack-oom-alerts", "", "", "", ""},
		{"ALERT exitCode: 137 pod: a/b/c namespace=\"\" workload=deployment/", "", "", "pod", "%zz%3"},
		{"<https://x|<y|z>> on {} on {,,} [Monitor #] /monitors/", "\xff\xfe", "é" + string(rune(0x10FFFF)), "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	p := newTestParser(f, DefaultRules())
	f.Fuzz(func(t *testing.T, text, title, body, fieldTitle, fieldValue string) {
		m := Message{BotID: "B1", Username: "bot", Text: text, Blocks: []string{body},
			Attachments: []Attachment{{Title: title, Text: body, TitleLink: fieldValue, Fields: []Field{{Title: fieldTitle, Value: fieldValue}}}}}
		a, ok := p.Parse(m)
		if !ok {
			if a.Source != "" || a.Fingerprint != "" {
				t.Fatalf("rejected message returned %+v", a)
			}
			return
		}
		switch {
		case a.State != StateFiring && a.State != StateResolved:
			t.Fatalf("state %q", a.State)
		case a.Kind != KindOOMKilled && a.Kind != KindGC && a.Kind != KindMemory:
			t.Fatalf("kind %q", a.Kind)
		case a.Source != SourceAlertmanager && a.Source != SourceDatadog && a.Source != SourceGeneric:
			t.Fatalf("source %q", a.Source)
		case a.Fingerprint == "":
			t.Fatal("empty fingerprint")
		case utf8.RuneCountInString(a.Title) > maxTitle:
			t.Fatalf("title of %d runes", utf8.RuneCountInString(a.Title))
		case a.Namespace != "" && !validFor(fNamespace, a.Namespace),
			a.Pod != "" && !validFor(fPod, a.Pod),
			a.Workload != "" && !validFor(fWorkload, a.Workload),
			a.Container != "" && !validFor(fContainer, a.Container):
			t.Fatalf("invalid name in %+v", a)
		case (a.Namespace == "") != contains(a.Missing, FieldNamespace):
			t.Fatalf("missing %v with namespace %q", a.Missing, a.Namespace)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
