package slack

import (
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/chat"
)

// AlertMessage flattens a Slack message into the text the alert parser
// reads: the top-level text, each block's text (header, section text and
// fields, context elements, rich text, markdown; attachment blocks after
// message blocks) and each legacy attachment. Links in rich text are kept
// as Slack's <url|label> markup so they read like links in mrkdwn text.
func AlertMessage(m slackapi.Msg) alert.Message {
	out := alert.Message{Text: m.Text, BotID: m.BotID, Username: m.Username}
	if out.Username == "" && m.BotProfile != nil {
		// Apps posting with chat.postMessage carry their name only in the
		// bot profile; incoming webhooks set username.
		out.Username = m.BotProfile.Name
	}
	out.Blocks = appendBlocks(out.Blocks, m.Blocks.BlockSet)
	for _, a := range m.Attachments {
		at := alert.Attachment{Pretext: a.Pretext, Title: a.Title, TitleLink: a.TitleLink,
			Text: a.Text, Fallback: a.Fallback, Footer: a.Footer}
		for _, f := range a.Fields {
			at.Fields = append(at.Fields, alert.Field{Title: f.Title, Value: f.Value})
		}
		out.Attachments = append(out.Attachments, at)
		out.Blocks = appendBlocks(out.Blocks, a.Blocks.BlockSet)
	}
	return out
}

// appendBlocks appends the plain text of each block that has any.
func appendBlocks(dst []string, blocks []slackapi.Block) []string {
	for _, b := range blocks {
		var parts []string
		text := func(t *slackapi.TextBlockObject) {
			if t != nil && t.Text != "" {
				parts = append(parts, t.Text)
			}
		}
		switch b := b.(type) {
		case *slackapi.HeaderBlock:
			text(b.Text)
		case *slackapi.SectionBlock:
			text(b.Text)
			for _, f := range b.Fields {
				text(f)
			}
		case *slackapi.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slackapi.TextBlockObject); ok {
					text(t)
				}
			}
		case *slackapi.MarkdownBlock:
			if b.Text != "" {
				parts = append(parts, b.Text)
			}
		case *slackapi.RichTextBlock:
			var sb strings.Builder
			richText(&sb, b.Elements)
			if s := strings.TrimSpace(sb.String()); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			dst = append(dst, strings.Join(parts, "\n"))
		}
	}
	return dst
}

// richText writes rich-text elements as mrkdwn-like text, one line per
// section, list item, quote or preformatted block.
func richText(sb *strings.Builder, elems []slackapi.RichTextElement) {
	for _, e := range elems {
		switch e := e.(type) {
		case *slackapi.RichTextSection:
			richSection(sb, e.Elements)
			sb.WriteByte('\n')
		case *slackapi.RichTextQuote:
			sb.WriteString("> ")
			richSection(sb, e.Elements)
			sb.WriteByte('\n')
		case *slackapi.RichTextPreformatted:
			richSection(sb, e.Elements)
			sb.WriteByte('\n')
		case *slackapi.RichTextList:
			for _, item := range e.Elements {
				sb.WriteString("• ")
				richText(sb, []slackapi.RichTextElement{item})
			}
		}
	}
}

func richSection(sb *strings.Builder, elems []slackapi.RichTextSectionElement) {
	for _, e := range elems {
		switch e := e.(type) {
		case *slackapi.RichTextSectionTextElement:
			sb.WriteString(e.Text)
		case *slackapi.RichTextSectionLinkElement:
			sb.WriteString("<" + e.URL)
			if e.Text != "" {
				sb.WriteString("|" + e.Text)
			}
			sb.WriteString(">")
		case *slackapi.RichTextSectionUserElement:
			sb.WriteString("<@" + e.UserID + ">")
		case *slackapi.RichTextSectionChannelElement:
			sb.WriteString("<#" + e.ChannelID + ">")
		case *slackapi.RichTextSectionEmojiElement:
			sb.WriteString(":" + e.Name + ":")
		}
	}
}

// InboundFromEvent turns a message event into a candidate alert. It
// returns false for messages that are not new posts: edits, deletions,
// reply notifications, joins, topic changes and other hidden subtypes.
// Bot messages (subtype bot_message, or app posts without a subtype) are
// returned; ignoring the bot's own messages is the receiver's job.
func InboundFromEvent(ev *slackevents.MessageEvent, eventID string, retry int) (chat.Inbound, bool) {
	if ev == nil {
		return chat.Inbound{}, false
	}
	switch ev.SubType {
	case "", "bot_message", "thread_broadcast":
	default:
		return chat.Inbound{}, false
	}
	msg := ev.Message
	if msg == nil {
		// MessageEvent's decoder always sets Message; a hand-built event
		// may not.
		msg = &slackapi.Msg{Text: ev.Text, Blocks: ev.Blocks, BotID: ev.BotID, Username: ev.Username}
	}
	if msg.Hidden {
		return chat.Inbound{}, false
	}
	m := AlertMessage(*msg)
	if m.BotID == "" {
		m.BotID = ev.BotID
	}
	if m.Username == "" {
		m.Username = ev.Username
	}
	return chat.Inbound{
		EventID:  eventID,
		Channel:  ev.Channel,
		TS:       firstNonEmpty(ev.TimeStamp, msg.Timestamp),
		ThreadTS: firstNonEmpty(ev.ThreadTimeStamp, msg.ThreadTimestamp),
		User:     firstNonEmpty(ev.User, msg.User),
		Message:  m,
		Retry:    retry,
	}, true
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
