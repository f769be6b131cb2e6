package slackserver

import (
	"strings"
	"testing"
)

func TestValidateBlocks(t *testing.T) {
	text := func(typ, s string) map[string]any { return map[string]any{"type": typ, "text": s} }
	section := func(s string) map[string]any { return map[string]any{"type": "section", "text": text("mrkdwn", s)} }
	fields := func(n, size int) []any {
		var out []any
		for range n {
			out = append(out, text("mrkdwn", strings.Repeat("f", size)))
		}
		return out
	}
	button := func(label string) map[string]any {
		return map[string]any{"type": "button", "action_id": "rerun", "text": text("plain_text", label), "value": "v"}
	}
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = map[string]any{"type": "divider"}
	}
	tests := []struct {
		name   string
		blocks []map[string]any
		want   string // substring of the first error; "" = valid
	}{
		{"valid report", []map[string]any{
			{"type": "header", "text": text("plain_text", "OOMKilled: payments-api")},
			section("*Verdict:* heap leak"),
			{"type": "section", "fields": fields(10, 2000)},
			{"type": "context", "elements": []any{text("mrkdwn", "sources: k8s ok")}},
			{"type": "actions", "elements": []any{button("Re-run")}},
			{"type": "image", "image_url": "https://example.com/x.png", "alt_text": "memory"},
			{"type": "divider"},
		}, ""},
		{"51 blocks", many, "no more than 50 items allowed [json-pointer:/blocks]"},
		{"section text 3001", []map[string]any{section(strings.Repeat("x", 3001))}, "[json-pointer:/blocks/0/text/text]"},
		{"section text 3000 ok", []map[string]any{section(strings.Repeat("x", 3000))}, ""},
		{"empty section", []map[string]any{{"type": "section"}}, "either a 'text' or 'fields'"},
		{"11 fields", []map[string]any{{"type": "section", "fields": fields(11, 5)}}, "/blocks/0/fields]"},
		{"field 2001", []map[string]any{{"type": "section", "fields": fields(1, 2001)}}, "/blocks/0/fields/0/text]"},
		{"mrkdwn header", []map[string]any{{"type": "header", "text": text("mrkdwn", "x")}}, "must be plain_text"},
		{"header 151", []map[string]any{{"type": "header", "text": text("plain_text", strings.Repeat("h", 151))}}, "/blocks/0/text/text]"},
		{"button label 76", []map[string]any{{"type": "actions", "elements": []any{button(strings.Repeat("b", 76))}}}, "/blocks/0/elements/0/text/text]"},
		{"image without alt", []map[string]any{{"type": "image", "image_url": "https://x"}}, "/blocks/0/alt_text]"},
		{"unknown type", []map[string]any{{"type": "sectoin"}}, "unsupported type: sectoin"},
		{"missing type", []map[string]any{{"text": text("mrkdwn", "x")}}, "missing required field: type"},
		{"bad text type", []map[string]any{{"type": "section", "text": text("markdown", "x")}}, "must be one of plain_text, mrkdwn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := validateBlocks(tc.blocks)
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("errors = %v, want none", errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs[0], tc.want) {
				t.Fatalf("errors = %v, want first containing %q", errs, tc.want)
			}
		})
	}
}
