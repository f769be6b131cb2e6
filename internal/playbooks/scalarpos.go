package playbooks

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// scalarPos maps a byte offset inside a scalar's decoded value back to a
// position in the file, so a CEL or template error points at the character
// in the YAML rather than at the start of the expression.
//
// The mapping rests on one property of YAML scalars: each source line's
// content (minus indentation) appears verbatim and in order in the value;
// only the line breaks between them change (kept in literal blocks, folded
// to spaces in folded blocks and plain multi-line scalars). So the content
// lines are located one after another in the value and the offset is
// attributed to the one containing it. Escapes in double-quoted scalars break
// the property: an offset past the first escape is reported at the escape.
// When nothing can be matched the scalar's own position is returned:
// approximate, never wrong about the line the value starts on.
func scalarPos(lines []string, n *yaml.Node, off int) pos {
	start := pos{n.Line, n.Column}
	if n.Kind != yaml.ScalarNode || off < 0 || off > len(n.Value) {
		return start
	}
	cur, best, bestBegin := 0, -1, 0
	segs := scalarSegments(lines, n)
	for i, s := range segs {
		if s.text == "" {
			continue
		}
		idx := strings.Index(n.Value[cur:], s.text)
		if idx < 0 || cur+idx > off {
			break
		}
		best, bestBegin = i, cur+idx
		cur = bestBegin + len(s.text)
	}
	if best < 0 {
		return start
	}
	s := segs[best]
	end := min(off, bestBegin+len(s.text))
	return pos{s.line, s.col + utf8.RuneCountInString(n.Value[bestBegin:end])}
}

// segment is one source line's share of a scalar: its text and where that
// text starts in the file.
type segment struct {
	line, col int
	text      string
}

func scalarSegments(lines []string, n *yaml.Node) []segment {
	at := func(line int) (string, bool) {
		if line < 1 || line > len(lines) {
			return "", false
		}
		return strings.TrimRight(lines[line-1], "\r"), true
	}
	var segs []segment
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		// Content starts on the line after the indicator (| or >) and ends
		// at the first non-blank line indented less than the first content
		// line.
		indent := -1
		for ln := n.Line + 1; ; ln++ {
			l, ok := at(ln)
			if !ok {
				break
			}
			if strings.TrimSpace(l) == "" {
				continue
			}
			lead := len(l) - len(strings.TrimLeft(l, " "))
			if indent < 0 {
				indent = lead
			}
			if lead < indent {
				break
			}
			segs = append(segs, segment{line: ln, col: indent + 1, text: l[indent:]})
		}
	default:
		first, ok := at(n.Line)
		if !ok || n.Column-1 > len(first) {
			return nil
		}
		col := n.Column
		text := first[n.Column-1:]
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && text != "" {
			text, col = text[1:], col+1
		}
		segs = append(segs, segment{line: n.Line, col: col, text: commonPrefix(n.Value, text)})
		// Continuation lines of a multi-line flow scalar are trimmed, and
		// the line break before each became a space (or a newline for a
		// blank line); stop once the value is covered.
		covered := len(segs[0].text)
		if covered < len(strings.TrimRight(text, " \t")) {
			// The first line was not consumed whole (an escape, or the
			// scalar ended): later lines are not part of it.
			return segs
		}
		for ln := n.Line + 1; covered < len(n.Value); ln++ {
			l, ok := at(ln)
			if !ok {
				break
			}
			trimmed := strings.TrimLeft(l, " \t")
			if trimmed == "" {
				continue
			}
			for covered < len(n.Value) && (n.Value[covered] == ' ' || n.Value[covered] == '\n') {
				covered++
			}
			t := commonPrefix(n.Value[covered:], trimmed)
			if t == "" {
				break
			}
			segs = append(segs, segment{line: ln, col: len(l) - len(trimmed) + 1, text: t})
			covered += len(t)
		}
	}
	return segs
}

// commonPrefix returns the longest common prefix of value and text: the
// part of a source line that is scalar content, without what follows it on
// the line (a closing quote, a comment).
func commonPrefix(value, text string) string {
	n := min(len(value), len(text))
	i := 0
	for i < n && value[i] == text[i] {
		i++
	}
	return text[:i]
}
