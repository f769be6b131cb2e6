package ddserver

import (
	"fmt"
	"strings"
)

// doc is what a search query is evaluated against: a log event or an
// event, reduced to the parts Datadog's search syntax addresses.
type doc struct {
	text   string            // free text is matched against the message
	fields map[string]string // reserved attributes: status, service, host, source
	tags   []string          // key:value tags
	attrs  map[string]any    // @attributes
}

// matcher is a parsed search query.
type matcher func(d doc) bool

// parseSearch parses the subset of Datadog's log/event search syntax the
// oombot source sends and users commonly write: terms key:value (glob
// values), @attr.path:value, "quoted phrases" and bare words (matched in the
// message), AND (or juxtaposition), OR, NOT / -term, and parentheses. An
// empty query or "*" matches everything.
func parseSearch(q string) (matcher, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if len(toks) == 0 {
		return func(doc) bool { return true }, nil
	}
	m, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at token %d", p.toks[p.i], p.i)
	}
	return m, nil
}

func tokenize(q string) ([]string, error) {
	var toks []string
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		default:
			start := i
			for i < len(q) && q[i] != ' ' && q[i] != '\t' && q[i] != '\n' && q[i] != '(' && q[i] != ')' {
				if q[i] == '"' {
					j := strings.IndexByte(q[i+1:], '"')
					if j < 0 {
						return nil, fmt.Errorf("unterminated quote at %d", i)
					}
					i += j + 2
					continue
				}
				if q[i] == '\\' && i+1 < len(q) {
					i++
				}
				i++
			}
			toks = append(toks, q[start:i])
		}
	}
	return toks, nil
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) or() (matcher, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "OR" {
		p.i++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(d doc) bool { return l(d) || right(d) }
	}
	return left, nil
}

func (p *parser) and() (matcher, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t == "" || t == ")" || t == "OR" {
			return left, nil
		}
		if t == "AND" {
			p.i++
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(d doc) bool { return l(d) && right(d) }
	}
}

func (p *parser) unary() (matcher, error) {
	t := p.peek()
	switch {
	case t == "NOT":
		p.i++
		m, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(d doc) bool { return !m(d) }, nil
	case len(t) > 1 && t[0] == '-':
		p.toks[p.i] = t[1:]
		m, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(d doc) bool { return !m(d) }, nil
	}
	return p.primary()
}

func (p *parser) primary() (matcher, error) {
	t := p.peek()
	switch t {
	case "":
		return nil, fmt.Errorf("unexpected end of query")
	case ")", "OR", "AND":
		return nil, fmt.Errorf("unexpected %q", t)
	case "(":
		p.i++
		m, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return m, nil
	}
	p.i++
	return term(t), nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return strings.ReplaceAll(s, `\`, "")
}

// term builds the matcher of one search term.
func term(t string) matcher {
	if t == "*" {
		return func(doc) bool { return true }
	}
	k, v, ok := strings.Cut(t, ":")
	if !ok || strings.HasPrefix(t, `"`) {
		word := strings.ToLower(unquote(t))
		return func(d doc) bool { return strings.Contains(strings.ToLower(d.text), word) }
	}
	v = strings.ToLower(unquote(v))
	if strings.HasPrefix(k, "@") {
		keyPath := k[1:]
		return func(d doc) bool {
			val, ok := lookup(d.attrs, keyPath)
			return ok && glob(v, strings.ToLower(fmt.Sprint(val)))
		}
	}
	k = strings.ToLower(k)
	return func(d doc) bool {
		if f, ok := d.fields[k]; ok && glob(v, strings.ToLower(f)) {
			return true
		}
		for _, tag := range d.tags {
			tk, tv, _ := strings.Cut(tag, ":")
			if strings.EqualFold(tk, k) && glob(v, strings.ToLower(tv)) {
				return true
			}
		}
		return false
	}
}

// glob matches a value with * wildcards.
func glob(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return strings.HasSuffix(s, last) && len(s) >= len(last)
}

// lookup resolves a dotted attribute path, trying the flat key first (Datadog
// attributes may be nested objects or dotted keys).
func lookup(m map[string]any, p string) (any, bool) {
	if v, ok := m[p]; ok {
		return v, true
	}
	head, rest, ok := strings.Cut(p, ".")
	if !ok {
		return nil, false
	}
	sub, ok := m[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookup(sub, rest)
}
