package alert

import (
	"strings"
)

// field is a target field an alert can name.
type field int

const (
	fCluster field = iota
	fNamespace
	fPod
	fWorkload
	fContainer
	nFields
)

// String is the field's name in Alert.Missing, Alert.Inferred and
// pattern groups.
func (f field) String() string {
	switch f {
	case fCluster:
		return FieldCluster
	case fNamespace:
		return FieldNamespace
	case fPod:
		return FieldPod
	case fWorkload:
		return FieldWorkload
	case fContainer:
		return FieldContainer
	}
	return ""
}

func fieldByName(name string) (field, bool) {
	for f := field(0); f < nFields; f++ {
		if f.String() == name {
			return f, true
		}
	}
	return 0, false
}

// target collects the target fields; the first valid value for a field
// wins, so callers add sources in order of trust.
type target struct {
	v        [nFields]string
	inferred [nFields]bool
}

// set stores val for f if f is still empty and val is a valid name for it.
func (t *target) set(f field, val string, inferred bool) bool {
	if t.v[f] != "" || !validFor(f, val) {
		return false
	}
	t.v[f] = val
	t.inferred[f] = inferred
	return true
}

func (t *target) apply(a *Alert) {
	a.Cluster, a.Namespace, a.Pod, a.Workload, a.Container = t.v[fCluster], t.v[fNamespace], t.v[fPod], t.v[fWorkload], t.v[fContainer]
	for f := field(0); f < nFields; f++ {
		if t.inferred[f] {
			a.Inferred = append(a.Inferred, f.String())
		}
	}
}

// wants reports whether any of the named fields is still empty.
func (t *target) wants(names []string) bool {
	for _, n := range names {
		if f, ok := fieldByName(n); ok && t.v[f] == "" {
			return true
		}
	}
	return false
}

// key identifies the target in a fingerprint.
func (t *target) key() string {
	return strings.Join(t.v[:], "/")
}

// target reads the alert's target from, in order of trust: labelled values
// (tags, labels, fields), configured patterns, the Alertmanager title's
// unlabelled group values, and finally the shape of unlabelled words. A
// Deployment or StatefulSet name is derived from the pod name last.
func (p *Parser) target(v view, source string) target {
	var t target
	p.labelled(&t, v.all)
	for _, re := range p.patterns {
		names := re.SubexpNames()
		if !t.wants(names) {
			// Everything this pattern could fill is known: skip a scan
			// of the whole message.
			continue
		}
		for _, m := range re.FindAllStringSubmatch(v.all, 8) {
			for i, val := range m {
				if f, ok := fieldByName(names[i]); ok && val != "" {
					p.setValue(&t, f, val)
				}
			}
		}
	}
	if source == SourceAlertmanager {
		p.titlePositional(&t, v.title)
	}
	if t.v[fPod] == "" && t.v[fWorkload] == "" {
		// A word shaped like a Deployment's pod name in a headline is
		// almost certainly the pod: the shape is hard to hit by accident.
	heads:
		for _, h := range v.heads {
			for _, w := range strings.FieldsFunc(h, isWordSep) {
				w = strings.TrimRight(w, ".-")
				if _, ok := deploymentOf(w); ok && t.set(fPod, w, true) {
					break heads
				}
			}
		}
	}
	if t.v[fWorkload] == "" && t.v[fPod] != "" {
		if w, ok := deploymentOf(t.v[fPod]); ok {
			t.set(fWorkload, w, true)
		} else if w, ok := statefulSetOf(t.v[fPod]); ok {
			t.set(fWorkload, w, true)
		}
	}
	return t
}

func isWordSep(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.')
}

// labelled scans "key: value", "key=value", "key:value" and
// `key="value"` pairs (Slack emphasis around the key allowed) whose key is
// a configured tag name. It walks back from each separator rather than
// matching a regular expression: this runs over the whole message and is
// the parser's hottest loop. Each separator is looked at on its own, so
// "Tags: kube_namespace:shop" yields both "tags" and "kube_namespace".
func (p *Parser) labelled(t *target, all string) {
	for i := 0; i < len(all); i++ {
		if all[i] != ':' && all[i] != '=' {
			continue
		}
		if k := keyBefore(all, i); k != "" {
			if f, ok := p.tags[strings.ToLower(k)]; ok {
				p.setValue(t, f, readValue(all[i+1:]))
			}
		}
	}
}

// keyBefore returns the label-like word that ends before the separator at
// all[sep], skipping spaces and up to two emphasis or code marks.
func keyBefore(all string, sep int) string {
	j := sep
	for j > 0 && (all[j-1] == ' ' || all[j-1] == '\t') {
		j--
	}
	for n := 0; n < 2 && j > 0 && strings.IndexByte("*_`", all[j-1]) >= 0; n++ {
		j--
	}
	end := j
	for j > 0 && end-j <= maxKey && isKeyByte(all[j-1]) {
		j--
	}
	if j == end || end-j > maxKey || j > 0 && isKeyByte(all[j-1]) {
		return ""
	}
	if c := all[j] | 0x20; !('a' <= c && c <= 'z') && all[j] != '_' {
		return ""
	}
	return all[j:end]
}

// maxKey caps a key's length; label names are short.
const maxKey = 63

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-'
}

// readValue reads the value after a key's separator: optional emphasis,
// spaces and one opening quote, then name characters.
func readValue(s string) string {
	i := 0
	for i < len(s) && strings.IndexByte("*_ \t", s[i]) >= 0 {
		i++
	}
	if i < len(s) && strings.IndexByte("\"'`", s[i]) >= 0 {
		i++
	}
	j := i
	for j < len(s) && j-i < 320 && isValueByte(s[j]) {
		j++
	}
	return strings.TrimRight(s[i:j], ".-/_")
}

func isValueByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '/'
}

// setValue stores a raw value, splitting "namespace/pod" and
// "deployment/name" forms.
func (p *Parser) setValue(t *target, f field, val string) {
	if i := strings.IndexByte(val, '/'); i >= 0 && (f == fPod || f == fWorkload) {
		left, right := strings.ToLower(val[:i]), val[i+1:]
		switch left {
		case "deployment", "deploy", "deployments", "deployment.apps", "deployments.apps",
			"statefulset", "sts", "statefulsets", "statefulset.apps", "statefulsets.apps", "pod", "pods":
		default:
			if validFor(fNamespace, left) && validFor(f, right) {
				t.set(fNamespace, left, false)
			}
		}
		val = right
	}
	t.set(f, val, false)
}

// titlePositional maps the unlabelled group values of an Alertmanager
// title back to Rules.TitleLabels, all or nothing.
func (p *Parser) titlePositional(t *target, title string) {
	if !p.amTitle.MatchString(title) {
		return
	}
	values := strings.Fields(amGroup(p.amTitle, title))
	if len(values) == 0 || len(values) != len(p.titleLabels) {
		return
	}
	var got [nFields]string
	for i, label := range p.titleLabels {
		f, ok := p.tags[strings.ToLower(label)]
		if !ok {
			continue
		}
		if !validFor(f, values[i]) || f == fPod && !podShaped(values[i]) {
			return
		}
		got[f] = values[i]
	}
	for f, val := range got {
		if val != "" {
			t.set(field(f), val, false)
		}
	}
}

// validFor reports whether val can be a value of f: Kubernetes names are
// DNS-1123 labels (namespace, container) or subdomains (pod, workload).
func validFor(f field, val string) bool {
	switch f {
	case fNamespace, fContainer:
		return isDNSName(val, 63, false)
	case fPod, fWorkload:
		return isDNSName(val, 253, true)
	case fCluster:
		if val == "" || len(val) > 100 {
			return false
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; !isValueByte(c) || c == '/' {
				return false
			}
		}
		return true
	}
	return false
}

// isDNSName checks lower-case alphanumerics and '-' (and '.', for
// subdomains), starting and ending alphanumeric.
func isDNSName(s string, max int, dots bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if (i == 0 || i == len(s)-1) && !alnum {
			return false
		}
		if !alnum && c != '-' && !(dots && c == '.') {
			return false
		}
	}
	return true
}

// safeAlphabet is the alphabet Kubernetes uses for generated name suffixes
// and pod-template hashes (k8s.io/apimachinery/pkg/util/rand): no vowels,
// no 0, 1 or 3, so generated parts can't spell words.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func allSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(safeAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// WorkloadOf guesses a pod's Deployment (<deployment>-<hash>-<5 chars>) or
// StatefulSet (<sts>-<ordinal>) from its generated name; ok is false for
// names no controller would generate.
func WorkloadOf(pod string) (workload string, ok bool) {
	if w, ok := deploymentOf(pod); ok {
		return w, true
	}
	return statefulSetOf(pod)
}

// deploymentOf returns the Deployment of a pod named
// <deployment>-<pod-template-hash>-<5 chars>.
func deploymentOf(pod string) (string, bool) {
	i := strings.LastIndexByte(pod, '-')
	if i < 0 || len(pod)-i-1 != 5 || !allSafe(pod[i+1:]) {
		return "", false
	}
	rs := pod[:i]
	j := strings.LastIndexByte(rs, '-')
	if j <= 0 {
		return "", false
	}
	hash := rs[j+1:]
	if len(hash) < 6 || len(hash) > 10 || !allSafe(hash) {
		return "", false
	}
	if !isDNSName(rs[:j], 253, true) {
		return "", false
	}
	return rs[:j], true
}

// statefulSetOf returns the StatefulSet of a pod named <sts>-<ordinal>.
func statefulSetOf(pod string) (string, bool) {
	i := strings.LastIndexByte(pod, '-')
	ord := pod[i+1:]
	if i <= 0 || ord == "" || len(ord) > 5 || ord[0] == '0' && len(ord) > 1 {
		return "", false
	}
	for k := 0; k < len(ord); k++ {
		if ord[k] < '0' || ord[k] > '9' {
			return "", false
		}
	}
	if !isDNSName(pod[:i], 253, true) {
		return "", false
	}
	return pod[:i], true
}

// podShaped reports whether name ends the way controller-generated pod
// names do: a 5-character generated suffix or a StatefulSet ordinal.
func podShaped(name string) bool {
	if _, ok := statefulSetOf(name); ok {
		return true
	}
	i := strings.LastIndexByte(name, '-')
	return i > 0 && len(name)-i-1 == 5 && allSafe(name[i+1:])
}
