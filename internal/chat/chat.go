// Package chat is the boundary between the bot and a chat platform. The bot
// (internal/bot) speaks only these types; a platform package (Slack today,
// internal/chat/slack) renders messages, posts them and turns the platform's
// inbound traffic into Inbound, Command and Action values. Adding Mattermost
// or Teams means one more package implementing Platform and feeding Handler.
package chat

import (
	"context"
	"errors"
	"time"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/narrative"
	"github.com/oombot/oombot/internal/report"
)

// Target says where a message goes.
type Target struct {
	Channel string
	// ThreadTS, when set, makes the message a reply in that thread.
	ThreadTS string
	// ResponseURL, when set, is a slash command's reply URL; platforms that
	// have one post there instead of the channel.
	ResponseURL string
	// User receives an ephemeral message (Message.Ephemeral).
	User string
}

// Ref identifies a posted message so it can be updated or linked.
type Ref struct {
	Channel string
	TS      string
	// Permalink is a link to the message when the platform returned one.
	Permalink string
}

// Message is a platform-neutral message; the platform decides its layout.
// Exactly one of Report, Narrative or Text is the main content.
type Message struct {
	// Text is a plain message, also the notification fallback.
	Text string
	// Report is a triage report; the platform renders it in full (verdict,
	// facts, matches with evidence, next steps, source statuses).
	Report *report.Report
	// Narrative is the optional LLM narrative for a report posted before.
	Narrative *narrative.Narrative
	// Notice is a short line shown above a report ("Re-run by …").
	Notice string
	// See points at an earlier thread this message refers to: a duplicate
	// alert's reply links the thread that has the triage; a report links
	// its workload's previous triage (Report.History).
	See *Ref
	// TriageID is carried by the report's buttons (re-run, feedback, raw
	// evidence) so an Action can be traced back to its triage.
	TriageID string
	// Ephemeral asks for a message only Target.User sees.
	Ephemeral bool
	// ReplaceOriginal applies to ResponseURL replies.
	ReplaceOriginal bool
}

// File is an upload: a chart PNG or a text snippet.
type File struct {
	Name  string
	Title string
	// Type is "png" or "text".
	Type string
	Data []byte
}

// Platform posts to a chat system. Implementations must be safe for
// concurrent use, honour rate limits themselves and return errors that say
// whether they are worth retrying (see Retryable).
type Platform interface {
	Post(ctx context.Context, to Target, m Message) (Ref, error)
	Update(ctx context.Context, ref Ref, m Message) error
	Upload(ctx context.Context, to Target, f File) error
}

// Inbound is a message seen in a watched channel: a candidate alert.
type Inbound struct {
	// EventID is the platform's delivery id; redeliveries repeat it.
	EventID  string
	Channel  string
	TS       string
	ThreadTS string
	User     string
	Message  alert.Message
	// Retry is the platform's retry counter (Slack's X-Slack-Retry-Num or
	// the envelope's retry_attempt); 0 on first delivery.
	Retry int
}

// Thread returns the thread a reply to m belongs in.
func (m Inbound) Thread() string {
	if m.ThreadTS != "" {
		return m.ThreadTS
	}
	return m.TS
}

// Command is a slash command (/oom ...).
type Command struct {
	Channel     string
	User        string
	Command     string // "/oom"
	Text        string // "triage checkout-7d9 -n shop"
	ResponseURL string
	TriggerID   string
}

// Action is a button click on a posted report.
type Action struct {
	Channel     string
	User        string
	MessageTS   string
	ThreadTS    string
	ActionID    string // ActionRerun, ActionHelpful, ActionWrong, ActionEvidence
	TriageID    string
	ResponseURL string
}

// Action ids of the buttons under a report.
const (
	ActionRerun    = "oom_rerun"
	ActionHelpful  = "oom_feedback_helpful"
	ActionWrong    = "oom_feedback_wrong"
	ActionEvidence = "oom_raw_evidence"
)

// Handler consumes inbound traffic. HandleCommand must return quickly: its
// reply is the acknowledgement (Slack allows 3 s); slow work continues in
// the background and posts later.
type Handler interface {
	HandleMessage(ctx context.Context, m Inbound)
	HandleCommand(ctx context.Context, c Command) Message
	HandleAction(ctx context.Context, a Action)
}

// Error is returned by platforms for failed calls.
type Error struct {
	Op  string
	Err error
	// Retryable is true for rate limits, 5xx and network errors.
	Retryable bool
	// RetryAfter is the wait the platform asked for (rate limits).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err, or an error it wraps, is a retryable
// platform error, and how long to wait first.
func IsRetryable(err error) (bool, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable, e.RetryAfter
	}
	return false, 0
}
