package alert

// Message is a chat message reduced to the text an alert parser needs,
// independent of the chat platform. Platform adapters flatten their native
// message (Slack: text, blocks, attachments) into it.
type Message struct {
	// Text is the message's top-level text (may be empty: Alertmanager's
	// slack_configs posts everything in one attachment).
	Text string
	// Blocks holds the plain text of each block element (header, section
	// text and fields, context elements, rich text), in order.
	Blocks []string
	// Attachments are legacy attachments, still used by both integrations.
	Attachments []Attachment
	// BotID and Username identify the poster (e.g. "Datadog",
	// "alertmanager"); empty for human messages.
	BotID    string
	Username string
}

// Attachment is a legacy message attachment.
type Attachment struct {
	Pretext   string
	Title     string
	TitleLink string
	Text      string
	Fallback  string
	Footer    string
	Fields    []Field
}

// Field is an attachment field.
type Field struct {
	Title string
	Value string
}
