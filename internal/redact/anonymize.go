package redact

import (
	"sort"
	"strconv"
	"sync"
)

// Anonymizer maps real names (pods, namespaces, workloads, clusters,
// images) to stable aliases such as "namespace-1" and back, so a text can be
// sent to a third party (an LLM) without naming the infrastructure and its
// answer mapped back before a person reads it. It is safe for concurrent use.
type Anonymizer struct {
	mu      sync.Mutex
	toAlias map[string]string
	toReal  map[string]string
	counts  map[string]int
}

// NewAnonymizer returns an empty Anonymizer.
func NewAnonymizer() *Anonymizer {
	return &Anonymizer{toAlias: map[string]string{}, toReal: map[string]string{}, counts: map[string]int{}}
}

// Add registers real under kind and returns its alias ("<kind>-<n>", n
// counting per kind from 1). The same real name always gets the same alias,
// whatever kind it is added under later. An empty real is not registered
// and yields "".
func (a *Anonymizer) Add(kind, real string) string {
	if real == "" {
		return ""
	}
	if kind == "" {
		kind = "name"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if al, ok := a.toAlias[real]; ok {
		return al
	}
	for {
		a.counts[kind]++
		al := kind + "-" + strconv.Itoa(a.counts[kind])
		// A real name that happens to look like an alias must not be
		// shadowed by (or shadow) a generated one.
		if _, taken := a.toReal[al]; taken {
			continue
		}
		if _, isReal := a.toAlias[al]; isReal {
			continue
		}
		a.toAlias[real], a.toReal[al] = al, real
		return al
	}
}

// Apply replaces every registered real name in s with its alias. Longer
// names win over names they contain, and a name only matches as a whole
// token (its neighbours are not letters or digits), so "shop" does not
// break "workshop" while "checkout" still hides inside "checkout-7d9f".
func (a *Anonymizer) Apply(s string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return replaceTokens(s, a.toAlias)
}

// Reverse maps aliases in s back to the real names.
func (a *Anonymizer) Reverse(s string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return replaceTokens(s, a.toReal)
}

// replaceTokens replaces, in one left-to-right pass, every key of m found
// in s as a whole token with its value. One pass means a replacement is
// never itself rewritten (an alias containing another real name).
func replaceTokens(s string, m map[string]string) string {
	if len(m) == 0 || s == "" {
		return s
	}
	// Candidates by first byte, longest first.
	byFirst := map[byte][]string{}
	for k := range m {
		byFirst[k[0]] = append(byFirst[k[0]], k)
	}
	for _, ks := range byFirst {
		sort.Slice(ks, func(i, j int) bool {
			if len(ks[i]) != len(ks[j]) {
				return len(ks[i]) > len(ks[j])
			}
			return ks[i] < ks[j]
		})
	}
	var out []byte
	last := 0
	for i := 0; i < len(s); {
		cands := byFirst[s[i]]
		if len(cands) == 0 || (i > 0 && isWordByte(s[i-1])) {
			i++
			continue
		}
		matched := ""
		for _, k := range cands {
			if len(s)-i >= len(k) && s[i:i+len(k)] == k && (i+len(k) == len(s) || !isWordByte(s[i+len(k)])) {
				matched = k
				break
			}
		}
		if matched == "" {
			i++
			continue
		}
		out = append(out, s[last:i]...)
		out = append(out, m[matched]...)
		i += len(matched)
		last = i
	}
	if out == nil {
		return s
	}
	out = append(out, s[last:]...)
	return string(out)
}

// isWordByte reports whether c continues a name token. Only letters and
// digits do: '-', '.', '/' and ':' separate the parts of Kubernetes names
// and image references, and a real name followed by "-7d9f" is still that
// name leaking.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c >= 0x80
}
