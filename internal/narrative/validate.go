package narrative

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/sashabaranov/go-openai/jsonschema"
)

// reply is the structured output the model must produce.
type reply struct {
	Statements []replyItem `json:"statements"`
	Hypotheses []replyItem `json:"hypotheses"`
}

type replyItem struct {
	Rank     int      `json:"rank"`
	Text     string   `json:"text"`
	Evidence []string `json:"evidence"`
}

// replySchema is written out rather than reflected: strict mode (OpenAI,
// vLLM's guided decoding, Ollama's format) wants every property required
// and additionalProperties false at every level, and no $defs indirection.
func replySchema() *jsonschema.Definition {
	ids := jsonschema.Definition{Type: jsonschema.Array, Description: "ids of the evidence items the text relies on",
		Items: &jsonschema.Definition{Type: jsonschema.String}}
	text := jsonschema.Definition{Type: jsonschema.String, Description: "one or two plain-text sentences"}
	statement := jsonschema.Definition{
		Type:                 jsonschema.Object,
		Properties:           map[string]jsonschema.Definition{"text": text, "evidence": ids},
		Required:             []string{"text", "evidence"},
		AdditionalProperties: false,
	}
	hypothesis := jsonschema.Definition{
		Type: jsonschema.Object,
		Properties: map[string]jsonschema.Definition{
			"rank": {Type: jsonschema.Integer, Description: "1 is the most likely"},
			"text": text, "evidence": ids,
		},
		Required:             []string{"rank", "text", "evidence"},
		AdditionalProperties: false,
	}
	return &jsonschema.Definition{
		Type: jsonschema.Object,
		Properties: map[string]jsonschema.Definition{
			"statements": {Type: jsonschema.Array, Items: &statement},
			"hypotheses": {Type: jsonschema.Array, Items: &hypothesis,
				Description: "empty unless no playbook matched; at most 3"},
		},
		Required:             []string{"statements", "hypotheses"},
		AdditionalProperties: false,
	}
}

// errInvalid marks a reply that is not JSON for the schema.
var errInvalid = errors.New("reply is not JSON for the narrative schema")

// parseReply decodes and schema-checks the model's content.
func parseReply(content string) (*reply, error) {
	content = stripFence(strings.TrimSpace(content))
	var r reply
	if err := jsonschema.VerifySchemaAndUnmarshal(*replySchema(), []byte(content), &r); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	return &r, nil
}

// stripFence removes one ```json … ``` wrapper: some local models add it
// even with a response format, and it carries no meaning.
func stripFence(s string) string {
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "```"), "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 && !strings.ContainsAny(s[:i], "{[") {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// Limits on what is shown.
const (
	maxStatementRunes = 400
	maxStatements     = 8
	maxHypotheses     = 3
)

// checker holds what a reply is validated against.
type checker struct {
	// ids are the evidence ids that were sent.
	ids map[string]bool
	// matched is true when at least one playbook matched.
	matched bool
	// forbidden are lower-cased names of playbooks that did not match (ids,
	// ids with spaces, titles): naming one contradicts the diagnosis.
	forbidden []string
}

// contradiction catches a statement arguing with the diagnosis without
// naming a playbook ("the real cause is…", "rather than a leak").
var contradiction = regexp.MustCompile(`(?i)\b(real|actual|true) cause\b|\bnot (the|a) (likely |real |actual )?cause\b|\bmore likely\b|\bmisdiagnos|\b(wrong|incorrect) (diagnosis|playbook|match)|\bignore (all |the )?(previous|prior|above)\b`)

// check filters a reply into what may be shown; dropped counts what was
// removed.
func (c *checker) check(r *reply) (stmts, hyps []replyItem, dropped int) {
	for _, s := range r.Statements {
		s.Text = sanitize(s.Text)
		if len(stmts) == maxStatements || !c.ok(s) || contradiction.MatchString(s.Text) || c.namesForbidden(s.Text) {
			dropped++
			continue
		}
		stmts = append(stmts, s)
	}
	sort.SliceStable(r.Hypotheses, func(i, j int) bool { return r.Hypotheses[i].Rank < r.Hypotheses[j].Rank })
	for _, h := range r.Hypotheses {
		h.Text = sanitize(h.Text)
		// Hypotheses are for the no-match case only: with a match they could
		// only compete with the diagnosis.
		if c.matched || len(hyps) == maxHypotheses || !c.ok(h) {
			dropped++
			continue
		}
		h.Rank = len(hyps) + 1
		hyps = append(hyps, h)
	}
	return stmts, hyps, dropped
}

// ok requires text and at least one citation, every one of them sent.
func (c *checker) ok(it replyItem) bool {
	if it.Text == "" || len(it.Evidence) == 0 {
		return false
	}
	for _, id := range it.Evidence {
		if !c.ids[id] {
			return false
		}
	}
	return true
}

func (c *checker) namesForbidden(text string) bool {
	lower := strings.ToLower(text)
	for _, f := range c.forbidden {
		if f != "" && strings.Contains(lower, f) {
			return true
		}
	}
	return false
}

var (
	// link matches URLs and markdown links: a narrative never needs one, and
	// an injected link in a chat message is a phishing vector.
	link      = regexp.MustCompile(`(?i)\b(?:https?|ftp)://\S+|\bwww\.\S+`)
	mdLink    = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdMarkers = strings.NewReplacer("**", "", "__", "", "`", "", "~~", "")
	// mention matches chat broadcast syntax (<!channel>, <@U123>, @here).
	mention = regexp.MustCompile(`<[!@#][^>]*>|(?i)@(?:here|channel|everyone)\b`)
	spaces  = regexp.MustCompile(`\s+`)
)

// sanitize reduces model text to one plain line: no control or invisible
// characters (terminal escapes, bidi overrides), no markdown emphasis,
// headings, links or chat mentions, bounded length. Escaping for a medium
// (Slack's <, >, &) is the renderer's job.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == unicode.ReplacementChar:
			return -1
		}
		return r
	}, s)
	s = mdLink.ReplaceAllString(s, "$1")
	s = link.ReplaceAllString(s, "[link removed]")
	s = mention.ReplaceAllString(s, "")
	s = mdMarkers.Replace(s)
	s = strings.TrimLeft(strings.TrimSpace(s), "#>*-+ ")
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	return capRunes(s, maxStatementRunes)
}

func capRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
