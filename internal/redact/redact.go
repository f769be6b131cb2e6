// Package redact removes secrets from text before it leaves the bot.
//
// Citations quote raw log lines, events, environment variables and JVM
// flags, and reports travel to Slack and to an LLM. Rather than trusting
// every outbound path to clean its own payload, the triage engine redacts
// the evidence once, centrally (Redactor.Evidence), right after it is
// assembled; everything derived from it afterwards is clean by construction.
//
// Each secret is replaced by "[REDACTED:<kind>]". Wherever the secret has a
// name (password=…, -Dssl.keyStorePassword=…, Authorization: Bearer …,
// user:pass@ in a URL) the name is kept, so a reader still sees which
// setting was involved. The patterns are deliberately anchored on key names
// and token prefixes rather than on entropy: Java class names, stack frames,
// -XX: flags and metric names carry the diagnosis and must survive intact.
//
// Anonymizer is a separate, opt-in tool: it maps real names (pods,
// namespaces, workloads, clusters, images) to stable aliases and back.
package redact

import (
	"net"
	"reflect"
	"regexp"
	"strings"

	"github.com/oombot/oombot/internal/evidence"
)

// Options choose what, beyond credentials, is masked.
type Options struct {
	// IPs also masks IPv4/IPv6 addresses (off by default: pod IPs are often
	// useful for diagnosis).
	IPs bool
	// Emails masks email addresses (on by default via Default()).
	Emails bool
	// Extra are site-specific patterns; every match is replaced with
	// "[REDACTED:custom]".
	Extra []*regexp.Regexp
}

// Default is what the triage engine uses: credentials and emails masked,
// IPs kept.
func Default() Options { return Options{Emails: true} }

// Redactor replaces secrets in strings. It holds only compiled, read-only
// patterns, so one Redactor is safe for concurrent use.
type Redactor struct {
	rules []rule
	gate  gate
}

// rule is one detector. needles are lower-case literals, at least one of
// which must occur (ignoring case) in the input for the regexp to be worth
// running; they keep the common case — a line with no secret — to one
// cheap pass (see gate). A rule without needles always runs.
type rule struct {
	kind    string
	needles []string
	re      *regexp.Regexp
	// replace rewrites one match given its submatch indexes into s; ok is
	// false when the match is not a secret after all (and is kept as is).
	replace func(s string, m []int) (out string, ok bool)
}

// marker is the replacement text for a secret of the given kind.
func marker(kind string) string { return "[REDACTED:" + kind + "]" }

// keyWords are the secret-bearing words a key must end with, and the kind
// each maps to. Ending (not containing) is what keeps TokenService: or
// tokens=5 intact.
var keyWords = `password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|credentials?`

// New compiles a Redactor.
func New(opts Options) *Redactor {
	r := &Redactor{}
	add := func(ru rule) { r.rules = append(r.rules, ru) }

	// PEM private keys first: a whole block (or a truncated one that runs to
	// the end of the text) becomes one marker.
	add(rule{
		kind:    "private-key",
		needles: []string{"private key-----"},
		re:      regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)`),
		replace: whole("private-key"),
	})
	// URLs with userinfo (jdbc:postgresql://user:pass@host, https://u:p@h):
	// keep the user, it tells which account was used.
	add(rule{
		kind:    "url-password",
		needles: []string{"://"},
		re:      regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)([^\s:/@"'<>]*):([^\s@/"'<>]+)@`),
		replace: func(s string, m []int) (string, bool) {
			if isRedacted(s[m[6]:m[7]]) {
				return "", false
			}
			return s[m[2]:m[5]] + ":" + marker("url-password") + "@", true
		},
	})
	// Oracle thin URLs put credentials without a scheme: jdbc:oracle:thin:user/pass@host.
	add(rule{
		kind:    "url-password",
		needles: []string{"jdbc:oracle:"},
		re:      regexp.MustCompile(`(jdbc:oracle:[a-z]+:)([^\s/@:"']+)/([^\s@"']+)@`),
		replace: func(s string, m []int) (string, bool) {
			if isRedacted(s[m[6]:m[7]]) {
				return "", false
			}
			return s[m[2]:m[5]] + "/" + marker("url-password") + "@", true
		},
	})
	// Authorization headers: keep the scheme, mask the credentials.
	add(rule{
		kind:    "authorization",
		needles: []string{"authorization"},
		re:      regexp.MustCompile(`(?i)((?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?)(?:(bearer|basic|digest|token|negotiate)[ \t]+)?([^\s"',;&]+)`),
		replace: func(s string, m []int) (string, bool) {
			cred := s[m[6]:m[7]]
			if isRedacted(cred) || !hasAlnum(cred) || m[4] < 0 && isAuthScheme(cred) {
				return "", false
			}
			out := s[m[2]:m[3]]
			kind := "authorization"
			if m[4] >= 0 {
				out += s[m[4]:m[5]] + " "
				kind = strings.ToLower(s[m[4]:m[5]])
			}
			return out + marker(kind), true
		},
	})
	// A bare bearer token outside a header (curl -H lines are covered above,
	// but "using Bearer eyJ…" in a log is not).
	add(rule{
		kind:    "bearer",
		needles: []string{"bearer"},
		re:      regexp.MustCompile(`(?i)(\bbearer[ \t]+)([A-Za-z0-9\-._~+/]{8,}=*)`),
		replace: func(s string, m []int) (string, bool) {
			tok := s[m[4]:m[5]]
			// Prose ("Bearer credentials rejected") is not a token: real
			// tokens are long or at least contain a digit.
			if isRedacted(tok) || len(tok) < 16 && !strings.ContainsAny(tok, "0123456789") {
				return "", false
			}
			return s[m[2]:m[3]] + marker("bearer"), true
		},
	})
	// key=value, key: value, "key":"value" and -Dsome.password=value.
	add(rule{
		kind: "password",
		needles: []string{"pass", "pwd", "secret", "token", "apikey", "api_key", "api-key",
			"accesskey", "access_key", "access-key", "credential"},
		re: regexp.MustCompile(`(?i)([A-Za-z0-9_.\-]*?(?:` + keyWords + `))(["']?[ \t]*[:=][ \t]*)((?:bearer|basic)[ \t]+)?("[^"\n]*"|'[^'\n]*'|[^\s"',;&]+)`),
		replace: func(s string, m []int) (string, bool) {
			key, sep, val := s[m[2]:m[3]], s[m[4]:m[5]], s[m[8]:m[9]]
			if m[6] >= 0 {
				// token: Bearer abc — keep the scheme, mask what follows.
				sep += s[m[6]:m[7]]
			}
			quote := ""
			if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') {
				quote, val = val[:1], val[1:len(val)-1]
			}
			if !secretValue(key, val) || m[6] < 0 && isAuthScheme(val) {
				return "", false
			}
			return key + sep + quote + marker(keyKind(key)) + quote, true
		},
	})
	// AWS access key ids, and a 40-char secret following one on the same text.
	add(rule{
		kind:    "aws-access-key-id",
		needles: []string{"akia", "asia"},
		re:      regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`),
		replace: whole("aws-access-key-id"),
	})
	add(rule{
		kind:    "slack-token",
		needles: []string{"xox", "xapp-"},
		re:      regexp.MustCompile(`\b(?:xox[abprs]|xapp)-[A-Za-z0-9\-]{10,}`),
		replace: whole("slack-token"),
	})
	add(rule{
		kind:    "github-token",
		needles: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		re:      regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})`),
		replace: whole("github-token"),
	})
	add(rule{
		kind:    "jwt",
		needles: []string{"eyj"},
		re:      regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`),
		replace: whole("jwt"),
	})
	add(rule{
		kind:    "google-api-key",
		needles: []string{"aiza"},
		re:      regexp.MustCompile(`\bAIza[0-9A-Za-z_\-]{35}`),
		replace: whole("google-api-key"),
	})
	if opts.Emails {
		add(rule{
			kind:    "email",
			needles: []string{"@"},
			re:      regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b`),
			replace: whole("email"),
		})
	}
	if opts.IPs {
		add(rule{
			kind: "ip",
			re:   regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b`),
			replace: func(s string, m []int) (string, bool) {
				return marker("ip"), true
			},
		})
		add(rule{
			kind:    "ip",
			needles: []string{":"},
			re:      regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}`),
			replace: func(s string, m []int) (string, bool) {
				c := s[m[0]:m[1]]
				// Timestamps (12:34:56) and Java method references
				// (Foo::bar) are not addresses: only a free-standing token
				// net.ParseIP accepts as IPv6 is masked.
				if m[0] > 0 && isAddrNeighbour(s[m[0]-1]) || m[1] < len(s) && isAddrNeighbour(s[m[1]]) {
					return "", false
				}
				if ip := net.ParseIP(c); ip == nil || ip.To4() != nil || strings.Trim(c, ":") == "" {
					return "", false
				}
				return marker("ip"), true
			},
		})
	}
	for _, re := range opts.Extra {
		if re == nil {
			continue
		}
		add(rule{kind: "custom", re: re, replace: whole("custom")})
	}
	r.gate = newGate(r.rules)
	return r
}

// whole replaces the entire match.
func whole(kind string) func(string, []int) (string, bool) {
	m := marker(kind)
	return func(string, []int) (string, bool) { return m, true }
}

// isAddrNeighbour reports whether c, next to an IPv6-looking run, shows the
// run is part of a longer word.
func isAddrNeighbour(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':'
}

func isRedacted(v string) bool { return strings.HasPrefix(v, "[REDACTED:") }

func hasAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// isAuthScheme reports whether v is only an authentication scheme name
// ("Authorization: Bearer" with the credentials elsewhere or absent).
func isAuthScheme(v string) bool {
	switch strings.ToLower(v) {
	case "bearer", "basic", "digest", "token", "negotiate":
		return true
	}
	return false
}

// secretValue reports whether val, found after key, is worth masking: empty
// values, earlier markers and references to other variables (${DB_PASSWORD},
// $(SECRET)) carry no secret and are useful to see.
func secretValue(key, val string) bool {
	switch {
	case val == "", isRedacted(val), !hasAlnum(val):
		// Nothing to hide in "password=" or "token = ***"; and "APIKey == x"
		// is code, not a value.
		return false
	case strings.HasPrefix(val, "${"), strings.HasPrefix(val, "$("):
		return false
	case strings.EqualFold(key, "pwd") && strings.HasPrefix(val, "/"):
		// PWD=/app is the shell's working directory.
		return false
	}
	return true
}

// keyKind names the kind of secret a key holds.
func keyKind(key string) string {
	k := strings.ToLower(key)
	if strings.Contains(strings.NewReplacer("_", "", "-", "", ".", "").Replace(k), "secretaccesskey") {
		return "aws-secret-key"
	}
	for _, c := range []struct{ suffix, kind string }{
		{"password", "password"}, {"passwd", "password"}, {"pwd", "password"},
		{"client_secret", "client-secret"}, {"client-secret", "client-secret"}, {"clientsecret", "client-secret"},
		{"secret", "secret"}, {"token", "token"},
		{"apikey", "api-key"}, {"api_key", "api-key"}, {"api-key", "api-key"},
		{"accesskey", "access-key"}, {"access_key", "access-key"}, {"access-key", "access-key"},
		{"credentials", "credentials"}, {"credential", "credentials"},
	} {
		if strings.HasSuffix(k, c.suffix) {
			return c.kind
		}
	}
	return "secret"
}

// String returns s with every secret replaced by "[REDACTED:<kind>]".
func (r *Redactor) String(s string) string {
	out, _ := r.redact(s)
	return out
}

// redact returns the redacted string and how many replacements were made.
func (r *Redactor) redact(s string) (string, int) {
	if s == "" {
		return s, 0
	}
	// Which rules can match is decided once, on the original text: markers
	// written by one rule ("[REDACTED:password]") must not wake another.
	want := r.gate.scan(s)
	n := 0
	for i := range r.rules {
		ru := &r.rules[i]
		if i < maxGated && len(ru.needles) > 0 && want&(1<<i) == 0 {
			continue
		}
		out, k := ru.apply(s)
		if k == 0 {
			continue
		}
		n += k
		s = out
		if ru.kind == "aws-access-key-id" {
			out, k = awsSecretAfterID(s)
			s, n = out, n+k
		}
	}
	return s, n
}

// maxGated is how many rules the gate's bit mask can track; rules beyond it
// (only possible with many Extra patterns, which have no needles anyway)
// always run.
const maxGated = 64

// gate finds, in one pass over the text, which rules' needles occur in it.
// Most cited lines contain no needle at all, and one byte-by-byte pass
// with a first-byte table is several times cheaper than a substring search
// per needle.
type gate struct {
	byFirst [256][]gateNeedle
	// pairs has bit (a<<8|b) set when some needle starts with the lower-case
	// bytes a, b: most letters of a log line fail this test and cost one
	// table lookup.
	pairs [256 * 256 / 64]uint64
	// single are one-byte needles ("@"), found with IndexByte.
	single []gateNeedle
}

type gateNeedle struct {
	s    string // lower case
	rule uint64 // bit of the rule it wakes
}

func newGate(rules []rule) gate {
	var g gate
	for i, ru := range rules {
		if i >= maxGated {
			break
		}
		for _, nd := range ru.needles {
			gn := gateNeedle{s: nd, rule: 1 << i}
			if len(nd) == 1 {
				g.single = append(g.single, gn)
				continue
			}
			g.byFirst[nd[0]] = append(g.byFirst[nd[0]], gn)
			p := int(nd[0])<<8 | int(nd[1])
			g.pairs[p/64] |= 1 << (p % 64)
		}
	}
	return g
}

// scan returns the bit set of rules whose needles occur in s, ignoring
// ASCII case.
func (g *gate) scan(s string) uint64 {
	var mask uint64
	for _, nd := range g.single {
		if strings.IndexByte(s, nd.s[0]) >= 0 {
			mask |= nd.rule
		}
	}
	for i := 0; i+1 < len(s); i++ {
		a, b := lowerByte(s[i]), lowerByte(s[i+1])
		if p := int(a)<<8 | int(b); g.pairs[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		for _, nd := range g.byFirst[a] {
			if mask&nd.rule == 0 && hasPrefixFold(s[i:], nd.s) {
				mask |= nd.rule
			}
		}
	}
	return mask
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring ASCII case in s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// apply replaces every accepted match of the rule in s.
func (ru *rule) apply(s string) (string, int) {
	ms := ru.re.FindAllStringSubmatchIndex(s, -1)
	if len(ms) == 0 {
		return s, 0
	}
	var b strings.Builder
	last, n := 0, 0
	for _, m := range ms {
		rep, ok := ru.replace(s, m)
		if !ok {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(rep)
		last = m[1]
		n++
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

var awsSecretRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])`)

// awsSecretAfterID masks 40-character base64 strings that follow a (now
// redacted) AWS access key id in the same text: the id and its secret are
// usually printed together (credentials files, CLI output). Without the id
// nearby a 40-char token is too ambiguous (git SHAs are 40 chars of hex) to
// mask.
func awsSecretAfterID(s string) (string, int) {
	mk := marker("aws-access-key-id")
	i := strings.Index(s, mk)
	if i < 0 {
		return s, 0
	}
	head, tail := s[:i], s[i:]
	ms := awsSecretRE.FindAllStringSubmatchIndex(tail, -1)
	var b strings.Builder
	last, n := 0, 0
	for _, m := range ms {
		tok := tail[m[2]:m[3]]
		if isHex(tok) {
			continue
		}
		b.WriteString(tail[last:m[2]])
		b.WriteString(marker("aws-secret-key"))
		last = m[3]
		n++
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(tail[last:])
	return head + b.String(), n
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Evidence redacts, in place, every exported string reachable from ev —
// string fields, string slices, nested structs and slices of structs
// (citation texts, messages, frames, JVM options, warnings, …) — and returns
// how many replacements were made. A nil ev is a no-op.
func (r *Redactor) Evidence(ev *evidence.Evidence) int {
	if ev == nil {
		return 0
	}
	return r.walk(reflect.ValueOf(ev).Elem())
}

// walk redacts every settable string reachable from v. Reflection, rather
// than a hand-written list of fields, means a field added to the evidence
// model later is redacted without anyone remembering to.
func (r *Redactor) walk(v reflect.Value) int {
	n := 0
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			out, k := r.redact(v.String())
			if k > 0 {
				v.SetString(out)
				n += k
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				n += r.walk(f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			n += r.walk(v.Index(i))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			n += r.walk(v.Elem())
		}
	case reflect.Map:
		// Map values are not addressable: rewrite changed entries.
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var changed []kv
		for iter.Next() {
			val := reflect.New(iter.Value().Type()).Elem()
			val.Set(iter.Value())
			if k := r.walk(val); k > 0 {
				n += k
				changed = append(changed, kv{iter.Key(), val})
			}
		}
		for _, c := range changed {
			v.SetMapIndex(c.k, c.v)
		}
	}
	return n
}
