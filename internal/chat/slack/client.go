package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/oombot/oombot/internal/chat"
)

// Identity is who the bot is in the workspace, from auth.test.
type Identity struct {
	UserID string
	BotID  string
	TeamID string
	// URL is the workspace URL (https://acme.slack.com/), used to build
	// message links without an extra API call.
	URL string
}

// Client posts to Slack. It implements chat.Platform; wrap it in
// chat.Queued for per-channel ordering and rate-limit retries.
type Client struct {
	api      *slackapi.Client
	http     *http.Client
	appToken string
	id       Identity
}

// ClientOptions configure NewClient.
type ClientOptions struct {
	// APIURL overrides https://slack.com/api/ (must end in /).
	APIURL string
	// HTTPClient is used for the Web API and response URLs.
	HTTPClient *http.Client
	// AppToken (xapp-…) is needed for Socket Mode only.
	AppToken string
}

// NewClient checks the bot token with auth.test and returns a client. A
// rejected token is an error that says which token and why.
func NewClient(ctx context.Context, botToken string, o ClientOptions) (*Client, error) {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(hc)}
	if o.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(o.AppToken))
	}
	if o.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(o.APIURL))
	}
	api := slackapi.New(botToken, opts...)
	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		var se slackapi.SlackErrorResponse
		if errors.As(err, &se) {
			return nil, fmt.Errorf("slack auth.test rejected SLACK_BOT_TOKEN: %s (reinstall the app to the workspace and copy the Bot User OAuth Token)", se.Err)
		}
		return nil, fmt.Errorf("slack auth.test: %w", err)
	}
	return &Client{api: api, http: hc, appToken: o.AppToken, id: Identity{UserID: resp.UserID, BotID: resp.BotID, TeamID: resp.TeamID, URL: resp.URL}}, nil
}

// Identity returns who the bot is.
func (c *Client) Identity() Identity { return c.id }

// API exposes the underlying client for the receivers (socket mode).
func (c *Client) API() *slackapi.Client { return c.api }

// Permalink builds a link to a message from the workspace URL.
func (c *Client) Permalink(ref chat.Ref) string {
	if ref.Permalink != "" {
		return ref.Permalink
	}
	if c.id.URL == "" || ref.Channel == "" || ref.TS == "" {
		return ""
	}
	return strings.TrimSuffix(c.id.URL, "/") + "/archives/" + ref.Channel + "/p" + strings.Replace(ref.TS, ".", "", 1)
}

// render turns a neutral message into text and blocks.
func (c *Client) render(m chat.Message) (string, []slackapi.Block) {
	switch {
	case m.Report != nil:
		o := BlockOptions{TriageID: m.TriageID, Notice: m.Notice, Buttons: m.TriageID != ""}
		if m.See != nil {
			o.HistoryLink = c.Permalink(*m.See)
		}
		return ReportText(m.Report), ReportBlocks(m.Report, o)
	case m.Narrative != nil:
		return "Narrative (LLM, unverified wording; the report above is authoritative)", NarrativeBlocks(m.Narrative)
	}
	// Text is the bot's own words but may quote an alert title or a pod
	// name; escaped, nothing in it can become a link or a mention.
	text := blkEsc(m.Text)
	if m.See != nil {
		if link := c.Permalink(*m.See); link != "" {
			text += " <" + link + "|thread>"
		}
	}
	return text, nil
}

// Post implements chat.Platform.
func (c *Client) Post(ctx context.Context, to chat.Target, m chat.Message) (chat.Ref, error) {
	text, blocks := c.render(m)
	if to.ResponseURL != "" {
		wm := &slackapi.WebhookMessage{Text: text, ReplaceOriginal: m.ReplaceOriginal, ResponseType: "in_channel"}
		if m.Ephemeral {
			wm.ResponseType = "ephemeral"
		}
		if len(blocks) > 0 {
			wm.Blocks = &slackapi.Blocks{BlockSet: blocks}
		}
		if err := slackapi.PostWebhookCustomHTTPContext(ctx, to.ResponseURL, c.http, wm); err != nil {
			return chat.Ref{}, classify("response_url", err)
		}
		return chat.Ref{Channel: to.Channel}, nil
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(blocks...))
	}
	if to.ThreadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(to.ThreadTS))
	}
	if m.Ephemeral && to.User != "" {
		ts, err := c.api.PostEphemeralContext(ctx, to.Channel, to.User, opts...)
		if err != nil {
			return chat.Ref{}, classify("chat.postEphemeral", err)
		}
		return chat.Ref{Channel: to.Channel, TS: ts}, nil
	}
	ch, ts, err := c.api.PostMessageContext(ctx, to.Channel, opts...)
	if err != nil {
		return chat.Ref{}, classify("chat.postMessage", err)
	}
	return chat.Ref{Channel: ch, TS: ts}, nil
}

// Update implements chat.Platform.
func (c *Client) Update(ctx context.Context, ref chat.Ref, m chat.Message) error {
	text, blocks := c.render(m)
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(blocks...))
	}
	if _, _, _, err := c.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, opts...); err != nil {
		return classify("chat.update", err)
	}
	return nil
}

// Upload implements chat.Platform with the current upload flow
// (files.getUploadURLExternal, upload, files.completeUploadExternal).
func (c *Client) Upload(ctx context.Context, to chat.Target, f chat.File) error {
	_, err := c.api.UploadFileContext(ctx, slackapi.UploadFileParameters{
		Filename: f.Name, Title: f.Title, FileSize: len(f.Data), Reader: bytes.NewReader(f.Data),
		Channel: to.Channel, ThreadTimestamp: to.ThreadTS,
	})
	if err != nil {
		return classify("files.upload", err)
	}
	return nil
}

// classify says whether a Slack failure is worth retrying: rate limits
// (with Slack's Retry-After), 5xx and network errors are; a bad token, a
// missing scope or an unknown channel are not.
func classify(op string, err error) error {
	ce := &chat.Error{Op: op, Err: err}
	var rl *slackapi.RateLimitedError
	var sc slackapi.StatusCodeError
	var ne net.Error
	var se slackapi.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		ce.Retryable, ce.RetryAfter = true, rl.RetryAfter
	case errors.As(err, &sc):
		ce.Retryable = sc.Retryable()
	case errors.As(err, &se):
		ce.Retryable = se.Err == "ratelimited" || se.Err == "internal_error" || se.Err == "service_unavailable" || se.Err == "fatal_error"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case errors.As(err, &ne):
		ce.Retryable = true
	}
	return ce
}

// HistoryMessage is a top-level message read back from a channel.
type HistoryMessage struct {
	chat.Inbound
	// Replied is true when the bot has posted in the message's thread.
	Replied bool
}

// Bounds on one History call: a catch-up reads minutes of a channel, and a
// flood must not turn it into an unbounded crawl.
const (
	historyPageSize = 200
	historyMaxPages = 10
	repliesMaxPages = 5
)

// History reads channel's top-level messages posted after oldest
// (conversations.history; scope channels:history or groups:history, which
// receiving message events needs anyway), oldest first. The bot's own
// messages and hidden subtypes (edits, joins) are left out, as the live
// receivers leave them out. Rate limits are waited out while ctx allows.
func (c *Client) History(ctx context.Context, channel string, oldest time.Time) ([]HistoryMessage, error) {
	params := &slackapi.GetConversationHistoryParameters{ChannelID: channel, Limit: historyPageSize,
		Oldest: fmt.Sprintf("%d.%06d", oldest.Unix(), oldest.Nanosecond()/1000)}
	var out []HistoryMessage
	for range historyMaxPages {
		var resp *slackapi.GetConversationHistoryResponse
		err := retryRateLimited(ctx, func() (err error) {
			resp, err = c.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return nil, classify("conversations.history", err)
		}
		for _, m := range resp.Messages {
			if c.isSelf(m.Msg) {
				continue
			}
			in, ok := inboundFromHistory(channel, m.Msg)
			if !ok {
				continue
			}
			replied, err := c.replied(ctx, channel, m.Msg)
			if err != nil {
				return nil, err
			}
			out = append(out, HistoryMessage{Inbound: in, Replied: replied})
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	// Slack pages newest first; answer in posting order.
	slices.Reverse(out)
	return out, nil
}

func (c *Client) isSelf(m slackapi.Msg) bool {
	return (c.id.BotID != "" && m.BotID == c.id.BotID) || (c.id.UserID != "" && m.User == c.id.UserID)
}

// replied reports whether the bot posted in m's thread. The parent's
// reply_users usually says; when it does not list the bot (Slack may cut
// the list short, and file shares count as replies), the thread is read.
func (c *Client) replied(ctx context.Context, channel string, m slackapi.Msg) (bool, error) {
	if m.ReplyCount == 0 {
		return false, nil
	}
	if slices.Contains(m.ReplyUsers, c.id.UserID) {
		return true, nil
	}
	params := &slackapi.GetConversationRepliesParameters{ChannelID: channel, Timestamp: m.Timestamp, Limit: historyPageSize}
	for range repliesMaxPages {
		var (
			msgs []slackapi.Message
			more bool
			next string
		)
		err := retryRateLimited(ctx, func() (err error) {
			msgs, more, next, err = c.api.GetConversationRepliesContext(ctx, params)
			return err
		})
		if err != nil {
			return false, classify("conversations.replies", err)
		}
		for _, r := range msgs {
			if r.Timestamp != m.Timestamp && c.isSelf(r.Msg) {
				return true, nil
			}
		}
		if !more || next == "" {
			break
		}
		params.Cursor = next
	}
	return false, nil
}

// inboundFromHistory is InboundFromEvent for a message read back with
// conversations.history: no event id (none exists), same subtype rules.
func inboundFromHistory(channel string, m slackapi.Msg) (chat.Inbound, bool) {
	switch m.SubType {
	case "", "bot_message", "thread_broadcast":
	default:
		return chat.Inbound{}, false
	}
	if m.Hidden {
		return chat.Inbound{}, false
	}
	return chat.Inbound{Channel: channel, TS: m.Timestamp, ThreadTS: m.ThreadTimestamp, User: m.User, Message: AlertMessage(m)}, true
}

// retryRateLimited runs call, waiting out Slack's Retry-After up to three
// times (conversations.* are Tier 3, and a catch-up reads several
// channels at once).
func retryRateLimited(ctx context.Context, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		var rl *slackapi.RateLimitedError
		if err == nil || !errors.As(err, &rl) || attempt == 3 {
			return err
		}
		t := time.NewTimer(rl.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
