package alert

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Rules configure recognition. Every list left unset (nil) takes its value
// from DefaultRules; a list that is set, even to [], replaces the default,
// so copy the defaults you want to keep. Regular expressions use Go's RE2
// syntax and are matched case-sensitively unless they start with (?i).
type Rules struct {
	// Bots lists the bot ids (B0123ABC) or usernames ("Datadog",
	// "Alertmanager") whose messages may be alerts, compared without regard
	// to case. Empty accepts any bot; messages from people never count.
	Bots []string `json:"bots,omitempty" yaml:"bots,omitempty"`
	// Firing and Resolved recognise the alert's state in the first line of
	// the message text, of each block and of each attachment's pretext,
	// title, text and fallback. A message matching neither is treated as
	// firing, but only OOMKilled alerts are accepted without a state word.
	Firing   []string `json:"firing,omitempty" yaml:"firing,omitempty"`
	Resolved []string `json:"resolved,omitempty" yaml:"resolved,omitempty"`
	// Ignore, matched on the same first lines, marks notifications that
	// are about the monitor rather than the workload (Datadog "No Data").
	Ignore []string `json:"ignore,omitempty" yaml:"ignore,omitempty"`
	// OOMKilled, GC and Memory recognise the kind of alert anywhere in the
	// message, tried in that order; a message matching none is not a memory
	// alert.
	OOMKilled []string `json:"oomKilled,omitempty" yaml:"oomKilled,omitempty"`
	GC        []string `json:"gc,omitempty" yaml:"gc,omitempty"`
	Memory    []string `json:"memory,omitempty" yaml:"memory,omitempty"`
	// Tags name the labels and tags that carry the target, read wherever
	// they appear as `name: value`, `name=value`, `name:value` or as an
	// attachment field titled name.
	Tags Tags `json:"tags" yaml:"tags"`
	// Patterns are extra regular expressions with named groups (cluster,
	// namespace, pod, workload, container) for messages that carry the
	// target in prose. They fill only what labelled values did not.
	Patterns []string `json:"patterns,omitempty" yaml:"patterns,omitempty"`
	// TitleLabels are the Alertmanager route's group_by label names. The
	// default slack_configs title lists their values without names, sorted
	// by name; when the count matches, the values are mapped back to names.
	// The mapping is dropped as a whole if any value is not a valid name
	// for its field, or if the pod value does not end the way generated pod
	// names do (-<5 chars> or -<ordinal>).
	TitleLabels []string `json:"titleLabels,omitempty" yaml:"titleLabels,omitempty"`
}

// Tags lists, per target field, the label or tag names that carry it.
type Tags struct {
	Cluster   []string `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	Namespace []string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Pod       []string `json:"pod,omitempty" yaml:"pod,omitempty"`
	Workload  []string `json:"workload,omitempty" yaml:"workload,omitempty"`
	Container []string `json:"container,omitempty" yaml:"container,omitempty"`
}

// DefaultRules recognise Alertmanager's slack_configs messages (default and
// common templated shapes) and the Datadog Slack integration's monitor
// notifications.
func DefaultRules() Rules {
	return Rules{
		Firing: []string{
			`\[FIRING(?::\d+)?\]`,
			`(?i)\b(?:re-?)?triggered\b`,
			`(?i)\b(?:firing|alert(?:ing)?|critical|warn(?:ing)?)\b`,
		},
		Resolved: []string{
			`\[RESOLVED\]`,
			`(?i)\b(?:recovered|resolved)\b`,
		},
		Ignore: []string{
			`(?i)\b(?:re-?)?no data\b`,
		},
		OOMKilled: []string{
			`(?i)oom[ _-]?kill`,
			// Upper case only: "oom" is common in channel and handle names
			// (@slack-oom-alerts) that every notification repeats.
			`\bOOM(?:s|ed)?\b`,
			`(?i)exit(?:ed)?[ _-]?(?:code|status)?["'*_` + "`" + `]*\s*[:=]?\s*["'` + "`" + `(]?137\b`,
			`container_oom_events`,
		},
		GC: []string{
			`(?i)\bgc\b`,
			`(?i)garbage[ -]collect`,
			`(?i)old[ _.-]?gen`,
			`(?i)\btenured\b`,
			`(?i)\bheap\b`,
			`(?i)\bmetaspace\b`,
			`jvm[._]gc`,
		},
		Memory: []string{
			`(?i)working[ _.-]?set`,
			`(?i)\bmem(?:ory)?[ _.-]?(?:usage|used|utili[sz]ation|limit|pressure|rss)\b`,
			`(?i)\bhigh memory\b`,
			`container_memory`,
			`kubernetes\.memory`,
			`OutOfMemory`,
			`(?i)\bout of memory\b`,
		},
		Tags: Tags{
			Cluster:   []string{"kube_cluster_name", "cluster_name", "cluster"},
			Namespace: []string{"kube_namespace", "namespace"},
			Pod:       []string{"pod_name", "pod"},
			Workload:  []string{"kube_deployment", "kube_stateful_set", "deployment", "statefulset", "workload"},
			Container: []string{"kube_container_name", "container"},
		},
		Patterns: []string{
			// "Container app in pod shop/checkout-…": the description of the
			// widely copied KubernetesContainerOomKiller rule.
			`(?i)\bcontainer\s+` + "`?" + `(?P<container>[a-z0-9][a-z0-9-]{0,62})` + "`?" + `\s+(?:in|of)\s+pod\b`,
			// "pod shop/checkout-…" or "Pod: shop/checkout-…".
			`(?i)\bpod[:\s]+` + "`?" + `(?P<namespace>[a-z0-9][a-z0-9-]{0,62})/(?P<pod>[a-z0-9][a-z0-9.-]{0,252})`,
		},
		TitleLabels: []string{"alertname", "namespace", "pod"},
	}
}

// WithDefaults fills every unset list from DefaultRules; a list set, even
// to empty, is kept. Webhook receivers share it with the chat parser, so one
// configuration serves both.
func (r Rules) WithDefaults() Rules {
	d := DefaultRules()
	fill := func(v *[]string, def []string) {
		if *v == nil {
			*v = def
		}
	}
	fill(&r.Firing, d.Firing)
	fill(&r.Resolved, d.Resolved)
	fill(&r.Ignore, d.Ignore)
	fill(&r.OOMKilled, d.OOMKilled)
	fill(&r.GC, d.GC)
	fill(&r.Memory, d.Memory)
	fill(&r.Tags.Cluster, d.Tags.Cluster)
	fill(&r.Tags.Namespace, d.Tags.Namespace)
	fill(&r.Tags.Pod, d.Tags.Pod)
	fill(&r.Tags.Workload, d.Tags.Workload)
	fill(&r.Tags.Container, d.Tags.Container)
	fill(&r.Patterns, d.Patterns)
	fill(&r.TitleLabels, d.TitleLabels)
	return r
}

// isTargetField reports whether name is a group name a pattern may use.
func isTargetField(name string) bool {
	switch name {
	case FieldCluster, FieldNamespace, FieldPod, FieldWorkload, FieldContainer:
		return true
	}
	return false
}

// Validate reports every invalid entry, each named by its field and index
// (for example "patterns[1]: …").
func (r Rules) Validate() error {
	var errs []error
	check := func(field string, list []string, named bool) {
		for i, s := range list {
			name := fmt.Sprintf("%s[%d]", field, i)
			if strings.TrimSpace(s) == "" {
				errs = append(errs, fmt.Errorf("%s: empty regular expression", name))
				continue
			}
			re, err := regexp.Compile(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			if !named {
				continue
			}
			known := 0
			for _, g := range re.SubexpNames()[1:] {
				switch {
				case g == "":
				case isTargetField(g):
					known++
				default:
					errs = append(errs, fmt.Errorf("%s: unknown group name %q (want cluster, namespace, pod, workload or container)", name, g))
				}
			}
			if known == 0 {
				errs = append(errs, fmt.Errorf("%s: no named group: add (?P<namespace>…), (?P<pod>…) or another target group", name))
			}
		}
	}
	check("firing", r.Firing, false)
	check("resolved", r.Resolved, false)
	check("ignore", r.Ignore, false)
	check("oomKilled", r.OOMKilled, false)
	check("gc", r.GC, false)
	check("memory", r.Memory, false)
	check("patterns", r.Patterns, true)

	for i, s := range r.Bots {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, fmt.Errorf("bots[%d]: empty bot id or username", i))
		}
	}
	owner := map[string]string{} // tag name → the field that first listed it
	names := func(field string, list []string) {
		for i, s := range list {
			if s == "" || strings.ContainsAny(s, " \t\r\n:=") {
				errs = append(errs, fmt.Errorf("%s[%d]: %q is not a tag or label name", field, i, s))
				continue
			}
			if field == "titleLabels" {
				continue
			}
			k := strings.ToLower(s)
			if prev, ok := owner[k]; ok && prev != field {
				errs = append(errs, fmt.Errorf("%s[%d]: %q is already listed in %s", field, i, s, prev))
				continue
			}
			owner[k] = field
		}
	}
	names("tags.cluster", r.Tags.Cluster)
	names("tags.namespace", r.Tags.Namespace)
	names("tags.pod", r.Tags.Pod)
	names("tags.workload", r.Tags.Workload)
	names("tags.container", r.Tags.Container)
	names("titleLabels", r.TitleLabels)
	return errors.Join(errs...)
}
