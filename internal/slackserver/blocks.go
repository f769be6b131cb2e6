package slackserver

import (
	"fmt"
	"unicode/utf8"
)

// Block Kit limits Slack enforces with invalid_blocks (documented per block
// type at docs.slack.dev/reference/block-kit/blocks).
const (
	maxBlocks          = 50
	maxBlockID         = 255
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxContextElements = 10
	maxActionsElements = 25
	maxButtonText      = 75
	maxActionID        = 255
	maxButtonValue     = 2000
	maxAltText         = 2000
)

// validateBlocks checks the limits that make Slack refuse a message, and
// words each problem as Slack does: "<problem> [json-pointer:/blocks/0/text/text]".
// It checks the block types oombot uses; other known types pass unchecked.
func validateBlocks(blocks []map[string]any) []string {
	var errs []string
	add := func(ptr, format string, a ...any) {
		errs = append(errs, fmt.Sprintf(format, a...)+" [json-pointer:"+ptr+"]")
	}
	if len(blocks) > maxBlocks {
		add("/blocks", "no more than %d items allowed", maxBlocks)
	}
	for i, b := range blocks {
		ptr := fmt.Sprintf("/blocks/%d", i)
		typ, _ := b["type"].(string)
		if id, _ := b["block_id"].(string); utf8.RuneCountInString(id) > maxBlockID {
			add(ptr+"/block_id", "must be less than %d characters", maxBlockID+1)
		}
		switch typ {
		case "section":
			text, hasText := b["text"].(map[string]any)
			fields, _ := b["fields"].([]any)
			if !hasText && len(fields) == 0 {
				add(ptr, "must provide either a 'text' or 'fields' property")
			}
			if hasText {
				checkText(add, ptr+"/text", text, maxSectionText, false)
			}
			if len(fields) > maxSectionFields {
				add(ptr+"/fields", "no more than %d items allowed", maxSectionFields)
			}
			for j, f := range fields {
				fm, _ := f.(map[string]any)
				checkText(add, fmt.Sprintf("%s/fields/%d", ptr, j), fm, maxFieldText, false)
			}
		case "header":
			text, _ := b["text"].(map[string]any)
			checkText(add, ptr+"/text", text, maxHeaderText, true)
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > maxContextElements {
				add(ptr+"/elements", "must have between 1 and %d items", maxContextElements)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > maxActionsElements {
				add(ptr+"/elements", "must have between 1 and %d items", maxActionsElements)
			}
			for j, e := range els {
				em, _ := e.(map[string]any)
				checkButton(add, fmt.Sprintf("%s/elements/%d", ptr, j), em)
			}
		case "image":
			_, url := b["image_url"].(string)
			_, file := b["slack_file"].(map[string]any)
			if !url && !file {
				add(ptr, "must provide either 'image_url' or 'slack_file'")
			}
			if alt, _ := b["alt_text"].(string); alt == "" || utf8.RuneCountInString(alt) > maxAltText {
				add(ptr+"/alt_text", "must be between 1 and %d characters", maxAltText)
			}
		case "divider", "rich_text", "input", "file", "video", "markdown", "table", "call", "context_actions":
		case "":
			add(ptr+"/type", "missing required field: type")
		default:
			add(ptr+"/type", "unsupported type: %s", typ)
		}
	}
	return errs
}

// checkText validates a text composition object.
func checkText(add func(ptr, format string, a ...any), ptr string, t map[string]any, maxLen int, plainOnly bool) {
	if t == nil {
		add(ptr, "must be a text object")
		return
	}
	typ, _ := t["type"].(string)
	switch {
	case plainOnly && typ != "plain_text":
		add(ptr+"/type", "must be plain_text")
	case typ != "plain_text" && typ != "mrkdwn":
		add(ptr+"/type", "must be one of plain_text, mrkdwn")
	}
	text, _ := t["text"].(string)
	if n := utf8.RuneCountInString(text); n == 0 || n > maxLen {
		add(ptr+"/text", "must be between 1 and %d characters", maxLen)
	}
}

// checkButton validates an interactive element of an actions block.
func checkButton(add func(ptr, format string, a ...any), ptr string, e map[string]any) {
	if e == nil {
		add(ptr, "must be an element object")
		return
	}
	if id, _ := e["action_id"].(string); utf8.RuneCountInString(id) > maxActionID {
		add(ptr+"/action_id", "must be less than %d characters", maxActionID+1)
	}
	if e["type"] != "button" {
		return
	}
	text, _ := e["text"].(map[string]any)
	checkText(add, ptr+"/text", text, maxButtonText, true)
	if v, _ := e["value"].(string); utf8.RuneCountInString(v) > maxButtonValue {
		add(ptr+"/value", "must be less than %d characters", maxButtonValue+1)
	}
}
