package narrative

import (
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text stays", "plain text stays"},
		{"**bold** and `code` and __under__", "bold and code and under"},
		{"## Heading line", "Heading line"},
		{"- a list item", "a list item"},
		{"see [the docs](https://evil.example/x) now", "see the docs now"},
		{"visit https://evil.example/login?u=1 today", "visit [link removed] today"},
		{"ping <!channel> and @here and <@U123>", "ping and and"},
		{"red \x1b[31malert\x1b[0m", "red [31malert[0m"},
		{"bidi \u202Egnp.exe\u202C zero\u200bwidth", "bidi gnp.exe zerowidth"},
		{"multi\nline\r\n\ttext", "multi line text"},
		{"jvm_old_gen_used keeps underscores", "jvm_old_gen_used keeps underscores"},
		{"DataBufferByte.<init> keeps angle brackets", "DataBufferByte.<init> keeps angle brackets"},
	}
	for _, tc := range cases {
		if got := sanitize(tc.in); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := sanitize(strings.Repeat("word ", 500))
	if n := len([]rune(long)); n > maxStatementRunes+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("long text: %d runes, suffix %q", n, long[len(long)-5:])
	}
}

func TestStripFence(t *testing.T) {
	for in, want := range map[string]string{
		"```json\n{\"a\":1}\n```": `{"a":1}`,
		"```\n{\"a\":1}```":       `{"a":1}`,
		"```{\"a\":1}```":         `{"a":1}`,
		`{"a":1}`:                 `{"a":1}`,
		"```":                     "```",
	} {
		if got := stripFence(in); got != want {
			t.Errorf("stripFence(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckerForbidden(t *testing.T) {
	c := &checker{ids: map[string]bool{"kill": true}, matched: true,
		forbidden: []string{"lock-growth", "lock growth", "per-key locks accumulating"}}
	r := &reply{Statements: []replyItem{
		{Text: "The kernel killed it.", Evidence: []string{"kill"}},
		{Text: "Lock Growth explains it.", Evidence: []string{"kill"}},
		{Text: "Per-key locks accumulating.", Evidence: []string{"kill"}},
		{Text: "The real cause is elsewhere.", Evidence: []string{"kill"}},
		{Text: "This is more likely a leak.", Evidence: []string{"kill"}},
		{Text: "   ", Evidence: []string{"kill"}},
	}}
	stmts, hyps, dropped := c.check(r)
	if len(stmts) != 1 || stmts[0].Text != "The kernel killed it." || len(hyps) != 0 || dropped != 5 {
		t.Errorf("kept %+v, dropped %d", stmts, dropped)
	}
}
