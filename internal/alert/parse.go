package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxInput is how many bytes of a message the parser reads. Alerts put
// what matters first; the cap keeps a pasted log dump from costing much.
const MaxInput = 64 << 10

// maxHead caps each first line that is checked for the alert state.
const maxHead = 1 << 10

// maxTitle caps Alert.Title, in runes.
const maxTitle = 200

// Parser recognises memory alerts. It is safe for concurrent use.
type Parser struct {
	bots     map[string]bool
	firing   []*regexp.Regexp
	resolved []*regexp.Regexp
	// stateWords is firing and resolved together, removed from titles
	// before they are fingerprinted.
	stateWords []*regexp.Regexp
	ignore     []*regexp.Regexp
	kinds      []kindRule
	// tags maps a lower-cased tag or label name to its target field.
	tags     map[string]field
	patterns []*regexp.Regexp
	// titleLabels are Rules.TitleLabels sorted, as Alertmanager sorts them.
	titleLabels []string

	// Fixed recognisers of the integrations' own syntax; not configurable
	// because they describe the integrations, not a team's templates.
	amTitle   *regexp.Regexp
	ddScope   *regexp.Regexp
	ddMonitor *regexp.Regexp
	ddGroup   *regexp.Regexp
	url       *regexp.Regexp
	slackLink *regexp.Regexp
}

type kindRule struct {
	kind string
	// res stay separate: one alternation of them measured no faster (it
	// loses each expression's literal-prefix scan).
	res []*regexp.Regexp
}

// NewParser compiles rules, after filling unset lists from DefaultRules.
func NewParser(r Rules) (*Parser, error) {
	r = r.WithDefaults()
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("alert rules: %w", err)
	}
	p := &Parser{
		bots:      map[string]bool{},
		tags:      map[string]field{},
		firing:    mustCompileAll(r.Firing),
		resolved:  mustCompileAll(r.Resolved),
		ignore:    mustCompileAll(r.Ignore),
		patterns:  mustCompileAll(r.Patterns),
		amTitle:   regexp.MustCompile(`^\s*\[(?:FIRING(?::\d+)?|RESOLVED)\]\s*`),
		ddScope:   regexp.MustCompile(`(?i)\bon \{([^{}\n]{1,1000})\}`),
		ddMonitor: regexp.MustCompile(`/monitors/(\d{1,20})|(?i)\bmonitor\s*(?:id)?\s*[#:]?\s*#?(\d{3,20})\b`),
		ddGroup:   regexp.MustCompile(`[?&](?:amp;)?group=([^&\s|>"']{1,1000})`),
		url:       regexp.MustCompile(`https?://[^\s<>|"'` + "`" + `]{1,1000}`),
		slackLink: regexp.MustCompile(`<([^<>|\s]{1,1000})\|([^<>]{0,500})>`),
	}
	p.kinds = []kindRule{
		{KindOOMKilled, mustCompileAll(r.OOMKilled)},
		{KindGC, mustCompileAll(r.GC)},
		{KindMemory, mustCompileAll(r.Memory)},
	}
	for _, b := range r.Bots {
		p.bots[strings.ToLower(strings.TrimSpace(b))] = true
	}
	for f, names := range map[field][]string{
		fCluster: r.Tags.Cluster, fNamespace: r.Tags.Namespace, fPod: r.Tags.Pod,
		fWorkload: r.Tags.Workload, fContainer: r.Tags.Container,
	} {
		for _, n := range names {
			p.tags[strings.ToLower(n)] = f
		}
	}
	p.stateWords = append(append(p.stateWords, p.firing...), p.resolved...)
	p.titleLabels = append([]string(nil), r.TitleLabels...)
	sort.Strings(p.titleLabels)
	return p, nil
}

// mustCompileAll compiles expressions Validate has already accepted.
func mustCompileAll(list []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(list))
	for _, s := range list {
		out = append(out, regexp.MustCompile(s))
	}
	return out
}

// view is the part of a message the parser reads, capped at MaxInput.
type view struct {
	// all is every piece of text, one per line group, in message order.
	all string
	// heads are the first lines where integrations put the alert state.
	heads []string
	// title is the first attachment title, else the first line of text,
	// else of the first block, else the first fallback.
	title string
	// link is the first attachment title link.
	link string
}

func newView(m Message) view {
	var v view
	var b strings.Builder
	add := func(s string) {
		if s == "" || b.Len() >= MaxInput {
			return
		}
		if rest := MaxInput - b.Len(); len(s) > rest {
			s = s[:rest]
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	head := func(s string) {
		if h := firstLine(s); h != "" && b.Len() < MaxInput {
			v.heads = append(v.heads, h)
		}
	}
	add(m.Text)
	head(m.Text)
	for _, bl := range m.Blocks {
		head(bl)
		add(bl)
	}
	for _, a := range m.Attachments {
		for _, s := range []string{a.Pretext, a.Title, a.Text, a.Fallback} {
			head(s)
		}
		add(a.Pretext)
		add(a.Title)
		add(a.TitleLink)
		add(a.Text)
		for _, f := range a.Fields {
			// "Title: Value" reads like any other labelled value.
			if f.Title != "" {
				add(capString(f.Title, maxHead) + ": " + capString(f.Value, MaxInput))
			} else {
				add(f.Value)
			}
		}
		add(a.Footer)
		add(a.Fallback)
		if v.title == "" && a.Title != "" {
			v.title = firstLine(a.Title)
		}
		if v.link == "" && a.TitleLink != "" {
			v.link = capString(a.TitleLink, 2048)
		}
	}
	if v.title == "" {
		v.title = firstLine(m.Text)
	}
	for _, bl := range m.Blocks {
		if v.title != "" {
			break
		}
		v.title = firstLine(bl)
	}
	for _, a := range m.Attachments {
		if v.title != "" {
			break
		}
		v.title = firstLine(a.Fallback)
	}
	v.all = b.String()
	return v
}

// firstLine returns the first non-blank line of s, trimmed and capped.
func firstLine(s string) string {
	s = capString(s, MaxInput)
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if line = strings.TrimSpace(line); line != "" {
			return capString(line, maxHead)
		}
	}
	return ""
}

// capString cuts s to at most n bytes without splitting a rune.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Parse recognises m. It returns false when m is not a memory alert: a
// message from a person or from a bot not in Rules.Bots, one whose first
// lines match Rules.Ignore, one that matches no kind, or a GC or memory
// message without a firing or resolved marker.
func (p *Parser) Parse(m Message) (Alert, bool) {
	if m.BotID == "" && m.Username == "" {
		return Alert{}, false
	}
	if len(p.bots) > 0 && !p.bots[strings.ToLower(m.BotID)] && !p.bots[strings.ToLower(m.Username)] {
		return Alert{}, false
	}
	v := newView(m)
	for _, h := range v.heads {
		if matchAny(p.ignore, h) {
			return Alert{}, false
		}
	}
	kind := p.kind(v.all)
	if kind == "" {
		return Alert{}, false
	}
	state, known := p.state(v.heads)
	if !known && kind != KindOOMKilled {
		// GC and memory words turn up in many bot messages (deploys, CI);
		// without a state marker they are not alerts. An OOM kill is.
		return Alert{}, false
	}
	a := Alert{
		Source: p.source(m, v),
		State:  state,
		Kind:   kind,
		Title:  p.cleanTitle(v.title),
		Link:   p.link(v),
	}
	t := p.target(v, a.Source)
	t.apply(&a)
	a.Fingerprint = p.fingerprint(a, v, t)
	if a.Namespace == "" {
		a.Missing = append(a.Missing, FieldNamespace)
	}
	if a.Pod == "" && a.Workload == "" {
		a.Missing = append(a.Missing, MissingTarget)
	}
	return a, true
}

func (p *Parser) kind(all string) string {
	for _, k := range p.kinds {
		if matchAny(k.res, all) {
			return k.kind
		}
	}
	return ""
}

// state reads the first head that says firing or resolved; within a head
// the earlier marker wins, so "[FIRING:1] … resolved by restart" fires.
func (p *Parser) state(heads []string) (string, bool) {
	for _, h := range heads {
		f, r := firstIndex(p.firing, h), firstIndex(p.resolved, h)
		switch {
		case r >= 0 && (f < 0 || r < f):
			return StateResolved, true
		case f >= 0:
			return StateFiring, true
		}
	}
	return StateFiring, false
}

func (p *Parser) source(m Message, v view) string {
	for _, h := range v.heads {
		if p.amTitle.MatchString(h) {
			return SourceAlertmanager
		}
	}
	user := strings.ToLower(m.Username)
	switch {
	case strings.Contains(user, "alertmanager") || strings.Contains(user, "prometheus"):
		return SourceAlertmanager
	case strings.Contains(user, "datadog") || strings.Contains(v.all, "datadoghq.") || p.ddScope.MatchString(v.all):
		return SourceDatadog
	}
	return SourceGeneric
}

// cleanTitle drops Slack link markup and emphasis from a headline.
func (p *Parser) cleanTitle(s string) string {
	s = p.slackLink.ReplaceAllString(s, "$2")
	s = strings.Trim(unescape(s), " *_`")
	if utf8.RuneCountInString(s) > maxTitle {
		r := []rune(s)
		s = string(r[:maxTitle-1]) + "…"
	}
	return s
}

// link prefers the attachment title link, then a Datadog monitor URL, then
// the first URL in the message.
func (p *Parser) link(v view) string {
	if v.link != "" {
		return unescape(v.link)
	}
	urls := p.url.FindAllString(v.all, 32)
	for _, u := range urls {
		if strings.Contains(u, "/monitors/") {
			return unescape(u)
		}
	}
	if len(urls) > 0 {
		return unescape(urls[0])
	}
	return ""
}

// unescape undoes Slack's three escapes in message text.
func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}

// fingerprint identifies the alert across its firing and resolved
// messages. It hashes only what both carry: Datadog's monitor id and group
// scope, Alertmanager's group label values (the title without its status
// and its common-label suffix, which can change as alerts resolve), or the
// title without its state words, each with the target.
func (p *Parser) fingerprint(a Alert, v view, t target) string {
	var key string
	switch {
	case a.Source == SourceDatadog && p.monitorID(v.all) != "":
		scope := p.datadogScope(v.all)
		if scope == "" {
			scope = t.key()
		}
		key = "datadog|" + p.monitorID(v.all) + "|" + scope
	case a.Source == SourceAlertmanager && p.amTitle.MatchString(v.title):
		key = "alertmanager|" + strings.Join(strings.Fields(amGroup(p.amTitle, v.title)), " ") + "|" + t.key()
	default:
		title := v.title
		for _, re := range p.stateWords {
			title = re.ReplaceAllString(title, " ")
		}
		key = a.Source + "|" + normalize(title) + "|" + t.key()
	}
	sum := sha256.Sum256([]byte(key))
	return a.Source + ":" + hex.EncodeToString(sum[:8])
}

// amGroup is an Alertmanager title's group label values: the title minus
// "[FIRING:n]" and the " (common labels)" suffix.
func amGroup(status *regexp.Regexp, title string) string {
	rest := status.ReplaceAllString(title, "")
	if i := strings.Index(rest, " ("); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}

func (p *Parser) monitorID(all string) string {
	m := p.ddMonitor.FindStringSubmatch(all)
	if m == nil {
		return ""
	}
	if m[1] != "" {
		return m[1]
	}
	return m[2]
}

// datadogScope is the monitor group ("kube_namespace:shop,pod_name:x") from
// "[Triggered on {…}]" or the monitor link's group parameter, with its tags
// sorted so both spellings agree.
func (p *Parser) datadogScope(all string) string {
	var raw string
	if m := p.ddScope.FindStringSubmatch(all); m != nil {
		raw = m[1]
	} else if m := p.ddGroup.FindStringSubmatch(all); m != nil {
		raw = percentDecode(m[1])
	}
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, ",")
	for i := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(parts[i]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// percentDecode decodes %XX escapes and '+', leaving malformed escapes as
// they are (a link is evidence, not input to reject).
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// normalize lower-cases s and keeps only words of letters and digits, so
// punctuation and spacing differences don't change a fingerprint.
func normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > utf8.RuneSelf)
	}), " ")
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// firstIndex is the earliest match position of any of res in s, or -1.
func firstIndex(res []*regexp.Regexp, s string) int {
	best := -1
	for _, re := range res {
		if loc := re.FindStringIndex(s); loc != nil && (best < 0 || loc[0] < best) {
			best = loc[0]
		}
	}
	return best
}
