// Package alert decides whether a chat message is a memory alert and, if so,
// which Kubernetes workload it is about.
//
// Chat adapters flatten their platform's message into a Message; a Parser,
// built from Rules, turns it into an Alert or says "not a memory alert".
// Recognition is deliberately textual: Alertmanager and Datadog both post
// free-form text whose shape depends on each team's templates, so the parser
// reads labelled values wherever they appear (attachment fields, `key: value`
// lines, Datadog `tag:value` lists, Prometheus `{label="value"}` sets) and
// falls back to positional and shape-based guesses only when nothing is
// labelled, recording those guesses in Alert.Inferred.
//
// # Recommended templates
//
// Alertmanager's default slack_configs message has no text: pod and
// namespace appear only as unlabelled values in the title, which the parser
// maps through Rules.TitleLabels (the route's group_by). Labelled text is
// unambiguous and should be preferred:
//
//	slack_configs:
//	  - channel: '#oom-alerts'
//	    text: >-
//	      {{ range .Alerts }}*Alert:* {{ .Annotations.summary }}
//	      *Labels:*{{ range .Labels.SortedPairs }} • {{ .Name }}: `{{ .Value }}`{{ end }}
//	      {{ end }}
//
// Datadog monitors should be multi-alert monitors grouped by kube_namespace
// and pod_name (or kube_deployment), so the notification carries
// `[Triggered on {kube_namespace:…,pod_name:…}]` and the group tags.
package alert

// Values of Alert.Source.
const (
	SourceAlertmanager = "alertmanager"
	SourceDatadog      = "datadog"
	SourceGeneric      = "generic"
)

// Values of Alert.State.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Values of Alert.Kind.
const (
	KindOOMKilled = "oomkilled"
	KindGC        = "gc"
	KindMemory    = "memory"
)

// Names used in Alert.Missing and Alert.Inferred.
const (
	FieldCluster   = "cluster"
	FieldNamespace = "namespace"
	FieldPod       = "pod"
	FieldWorkload  = "workload"
	FieldContainer = "container"
	// MissingTarget is reported when neither a pod nor a workload was found.
	MissingTarget = "pod or workload"
)

// Alert is a memory alert recognised in a chat message.
type Alert struct {
	// Source is the integration that posted it: SourceAlertmanager,
	// SourceDatadog or SourceGeneric.
	Source string
	// State is StateFiring or StateResolved.
	State string
	// Kind is KindOOMKilled, KindGC or KindMemory.
	Kind string
	// Title is the alert's headline as shown in chat, without link markup.
	Title string

	Cluster   string
	Namespace string
	// Pod is empty when the alert names only a workload; the bot then
	// picks the workload's most recently OOMKilled pod.
	Pod string
	// Workload is a Deployment or StatefulSet name, read from the alert or
	// derived from Pod's name (then listed in Inferred).
	Workload  string
	Container string

	// Fingerprint is the same for the firing and the resolved message of
	// one alert, and differs between alerts on different targets. Empty
	// never: every recognised alert has one.
	Fingerprint string
	// Link points at the alert's source (Alertmanager, Datadog monitor).
	Link string
	// Missing names what could not be found (FieldNamespace,
	// MissingTarget), so the bot can say what to add to the alert template.
	Missing []string
	// Inferred names fields that were guessed rather than read: the
	// workload derived from a pod name, or a pod recognised by the shape of
	// an unlabelled word.
	Inferred []string
}
