package alert

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDefaultRulesValid(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Fatalf("DefaultRules().Validate() = %v", err)
	}
	if err := (Rules{}).Validate(); err != nil {
		t.Fatalf("zero Rules (all defaults) Validate() = %v", err)
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name  string
		rules Rules
		want  []string // substrings of the error
	}{
		{"bad firing regex", Rules{Firing: []string{`ok`, `(`}}, []string{"firing[1]", "missing closing )"}},
		{"bad oomKilled regex", Rules{OOMKilled: []string{`[z-a]`}}, []string{"oomKilled[0]", "invalid character class range"}},
		{"empty gc regex", Rules{GC: []string{" "}}, []string{"gc[0]: empty"}},
		{"bad memory regex", Rules{Memory: []string{`a{2000}`}}, []string{"memory[0]", "invalid repeat count"}},
		{"resolved", Rules{Resolved: []string{`*`}}, []string{"resolved[0]"}},
		{"ignore", Rules{Ignore: []string{`\p{Nope}`}}, []string{"ignore[0]", "invalid character class range"}},
		{"pattern with an unknown group", Rules{Patterns: []string{`(?P<ns>\w+)`}}, []string{`patterns[0]: unknown group name "ns"`, "patterns[0]: no named group"}},
		{"pattern without a named group", Rules{Patterns: []string{`pod (\w+)`}}, []string{"patterns[0]: no named group"}},
		{"tag name with a space", Rules{Tags: Tags{Pod: []string{"pod name"}}}, []string{`tags.pod[0]: "pod name" is not a tag or label name`}},
		{"tag listed for two fields", Rules{Tags: Tags{Pod: []string{"name"}, Workload: []string{"Name"}}}, []string{`tags.workload[0]: "Name" is already listed in tags.pod`}},
		{"empty bot", Rules{Bots: []string{""}}, []string{"bots[0]: empty"}},
		{"empty title label", Rules{TitleLabels: []string{""}}, []string{"titleLabels[0]"}},
		{"several errors are all reported", Rules{Firing: []string{`(`}, Patterns: []string{`x`}}, []string{"firing[0]", "patterns[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err := NewParser(tt.rules); err == nil || !strings.HasPrefix(err.Error(), "alert rules: ") {
				t.Errorf("NewParser error = %v, want it wrapped with \"alert rules: \"", err)
			}
		})
	}
}

// TestCustomRules shows each configurable part taking effect: a bot
// allow-list, a pattern with named groups, replaced tag names and title
// labels.
func TestCustomRules(t *testing.T) {
	r := Rules{
		Bots:     []string{"PagerBot"},
		Patterns: []string{`(?i)service (?P<workload>[a-z0-9-]+) in (?P<namespace>[a-z0-9-]+) on (?P<cluster>[a-z0-9-]+)`},
		Tags: Tags{
			Pod:       []string{"k8s.pod.name"},
			Container: []string{"k8s.container.name"},
		},
		TitleLabels: []string{"env", "alertname", "namespace"},
		Memory:      []string{`(?i)\brss\b`},
	}
	p := newTestParser(t, r)
	tests := []struct {
		name string
		msg  Message
		want Alert
	}{
		{
			name: "pattern",
			msg:  Message{Username: "PagerBot", BotID: "B9", Text: "CRITICAL: service checkout in shop on prod-eu-1 was OOMKilled"},
			want: Alert{Cluster: "prod-eu-1", Namespace: "shop", Workload: "checkout"},
		},
		{
			name: "tag names from config",
			msg:  Message{Username: "PagerBot", BotID: "B9", Text: "CRITICAL: RSS above limit\nnamespace: shop k8s.pod.name: " + pod + " k8s.container.name: app"},
			want: Alert{Namespace: "shop", Pod: pod, Workload: "checkout", Container: "app", Inferred: []string{"workload"}},
		},
		{
			name: "replaced tag names no longer count",
			msg:  Message{Username: "PagerBot", BotID: "B9", Text: "CRITICAL: OOMKilled\nnamespace: shop pod_name: " + pod},
			// pod_name is not a tag any more; the pod is still found by its
			// shape nowhere in the headline, so it is missing.
			want: Alert{Namespace: "shop", Missing: []string{"pod or workload"}},
		},
		{
			name: "title labels from config",
			// Sorted: alertname, env, namespace.
			msg:  Message{Username: "PagerBot", BotID: "B9", Attachments: []Attachment{{Title: "[FIRING:1] JavaOOMKilled prod shop (x)"}}},
			want: Alert{Namespace: "shop", Missing: []string{"pod or workload"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := p.Parse(tt.msg)
			if !ok {
				t.Fatal("Parse = false")
			}
			got := Alert{Cluster: a.Cluster, Namespace: a.Namespace, Pod: a.Pod, Workload: a.Workload,
				Container: a.Container, Missing: a.Missing, Inferred: a.Inferred}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
	if _, ok := p.Parse(Message{Username: "Datadog", BotID: "B1", Text: "Triggered: OOMKilled"}); ok {
		t.Error("a bot outside Bots was accepted")
	}
}

// TestRulesDecode checks the camelCase keys under strict decoding, as the
// bot's config file decodes them, and that unset lists keep the defaults.
func TestRulesDecode(t *testing.T) {
	const doc = `
bots: [Datadog]
oomKilled: ['(?i)killed by the oom killer']
titleLabels: [alertname, namespace, pod]
tags:
  pod: [pod_name, pod, kubernetes_pod_name]
patterns: ['app (?P<workload>[a-z-]+)']
`
	var fromYAML Rules
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&fromYAML); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	want := Rules{
		Bots:        []string{"Datadog"},
		OOMKilled:   []string{"(?i)killed by the oom killer"},
		TitleLabels: []string{"alertname", "namespace", "pod"},
		Tags:        Tags{Pod: []string{"pod_name", "pod", "kubernetes_pod_name"}},
		Patterns:    []string{"app (?P<workload>[a-z-]+)"},
	}
	if !reflect.DeepEqual(fromYAML, want) {
		t.Errorf("yaml decoded\n %+v\nwant\n %+v", fromYAML, want)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"oomKilled"`, `"titleLabels"`, `"tags":{"pod"`} {
		if !bytes.Contains(js, []byte(key)) {
			t.Errorf("json %s lacks %s", js, key)
		}
	}
	var fromJSON Rules
	if err := json.Unmarshal(js, &fromJSON); err != nil || !reflect.DeepEqual(fromJSON, want) {
		t.Errorf("json round trip = %+v, %v", fromJSON, err)
	}

	filled := fromYAML.WithDefaults()
	if !reflect.DeepEqual(filled.Tags.Namespace, DefaultRules().Tags.Namespace) || !reflect.DeepEqual(filled.GC, DefaultRules().GC) {
		t.Errorf("unset lists not defaulted: %+v", filled)
	}
	if !reflect.DeepEqual(filled.OOMKilled, want.OOMKilled) {
		t.Errorf("set list replaced: %v", filled.OOMKilled)
	}

	p := newTestParser(t, fromYAML)
	a, ok := p.Parse(Message{Username: "Datadog", BotID: "B1", Text: "Triggered: container was killed by the OOM killer\nkube_namespace:shop kubernetes_pod_name:" + pod})
	if !ok || a.Kind != KindOOMKilled || a.Pod != pod || a.Namespace != "shop" {
		t.Errorf("Parse with decoded rules = %+v, %v", a, ok)
	}
	// The default "OOMKilled" expression was replaced.
	if _, ok := p.Parse(Message{Username: "Datadog", BotID: "B1", Text: "Container OOMKilled"}); ok {
		t.Error("replaced oomKilled list still matched the default expression")
	}
}
