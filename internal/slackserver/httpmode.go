package slackserver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign returns the headers Slack signs an HTTP request with:
// X-Slack-Request-Timestamp and
// X-Slack-Signature = "v0=" + hex(HMAC-SHA256(secret, "v0:<ts>:<body>")).
func Sign(secret string, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, "v0:"+stamp+":")
	_, _ = mac.Write(body)
	return http.Header{
		"X-Slack-Request-Timestamp": {stamp},
		"X-Slack-Signature":         {"v0=" + hex.EncodeToString(mac.Sum(nil))},
	}
}

// Signing says how a request to the bot is signed and marked.
type Signing struct {
	Secret string
	// At is the signing time (now when zero); more than five minutes off
	// must be refused by the bot.
	At time.Time
	// RetryNum > 0 adds X-Slack-Retry-Num and X-Slack-Retry-Reason
	// ("http_timeout" when RetryReason is empty), as on Events API retries.
	RetryNum    int
	RetryReason string
}

func signedRequest(ctx context.Context, target, contentType string, body []byte, sg Signing) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("slackserver: build request to %s: %w", target, err)
	}
	at := sg.At
	if at.IsZero() {
		at = time.Now()
	}
	for k, v := range Sign(sg.Secret, at, body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	if sg.RetryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(sg.RetryNum))
		req.Header.Set("X-Slack-Retry-Reason", or(sg.RetryReason, "http_timeout"))
	}
	return req, nil
}

// EventRequest builds a signed Events API POST (JSON body) to the bot's
// events URL; payload is an event_callback (see EventCallback) or a
// url_verification object.
func EventRequest(ctx context.Context, target string, sg Signing, payload any) (*http.Request, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("slackserver: encode event: %w", err)
	}
	return signedRequest(ctx, target, "application/json", body, sg)
}

// CommandRequest builds a signed slash command POST (form body) from the
// fields SlashCommandFields returns.
func CommandRequest(ctx context.Context, target string, sg Signing, fields map[string]string) (*http.Request, error) {
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	return signedRequest(ctx, target, "application/x-www-form-urlencoded", []byte(form.Encode()), sg)
}

// InteractionRequest builds a signed interactivity POST: the JSON payload
// in a "payload" form field, as Slack sends block_actions.
func InteractionRequest(ctx context.Context, target string, sg Signing, payload any) (*http.Request, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("slackserver: encode interaction: %w", err)
	}
	form := url.Values{"payload": {string(b)}}
	return signedRequest(ctx, target, "application/x-www-form-urlencoded", []byte(form.Encode()), sg)
}

// responseURLMaxUses is how often Slack lets a response_url be used.
const responseURLMaxUses = 5

type responseURL struct {
	channel, user, messageTS string
	uses                     int
}

// ResponsePost is a JSON body posted to a response URL.
type ResponsePost struct {
	URL  string
	Body map[string]any
	At   time.Time
}

// ResponseURL returns a fresh response URL not tied to a channel. Posts to
// it are recorded (ResponsePosts) and have no other effect.
func (s *Server) ResponseURL() string { return s.newResponseURL("", "", "") }

func (s *Server) newResponseURL(channel, user, messageTS string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strconv.FormatInt(s.nextIDLocked(), 10)
	s.resp[id] = &responseURL{channel: channel, user: user, messageTS: messageTS}
	return s.http.URL + "/response/" + id
}

// ResponsePosts returns the bodies posted to responseURL ("" for all).
func (s *Server) ResponsePosts(responseURL string) []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResponsePost
	for _, p := range s.respPosts {
		if responseURL == "" || p.URL == responseURL {
			out = append(out, p)
		}
	}
	return out
}

// serveResponseURL accepts a reply to a slash command or interaction. For
// a URL made by SlashCommandFields or BlockActionsPayload it also applies
// the reply: "in_channel" posts to the channel, the default (ephemeral)
// posts an ephemeral message for the user, replace_original and
// delete_original act on the message the action came from.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: MethodResponseURL, At: time.Now(), Params: url.Values{"id": {r.PathValue("id")}}}
	res := s.handleResponseURL(r, &call)
	call.Status = res.status
	s.record(call)
	writeResult(w, res)
}

func (s *Server) handleResponseURL(r *http.Request, call *Call) result {
	s.delay(r.Context(), MethodResponseURL)
	if f := s.takeFault(MethodResponseURL); f != nil {
		return f.result()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &call.JSON) != nil || call.JSON == nil {
		return result{status: http.StatusBadRequest, raw: []byte("invalid_payload")}
	}
	msg := call.JSON
	s.mu.Lock()
	defer s.mu.Unlock()
	ru := s.resp[r.PathValue("id")]
	switch {
	case ru == nil:
		return result{status: http.StatusNotFound, raw: []byte("no_service")}
	case ru.uses >= responseURLMaxUses:
		return result{status: http.StatusNotFound, raw: []byte("used_url")}
	}
	ru.uses++
	s.respPosts = append(s.respPosts, ResponsePost{URL: s.http.URL + r.URL.Path, Body: msg, At: time.Now()})
	s.bumpLocked()
	text, _ := msg["text"].(string)
	blocks := toMaps(msg["blocks"])
	orig := s.findLocked(ru.channel, ru.messageTS)
	switch {
	case ru.channel == "":
	case msg["delete_original"] == true && orig != nil:
		for i, m := range s.messages {
			if m == orig {
				s.messages = append(s.messages[:i:i], s.messages[i+1:]...)
				break
			}
		}
	case msg["replace_original"] == true && orig != nil:
		orig.Text, orig.Blocks = text, blocks
		orig.Edits++
	case msg["response_type"] == "in_channel":
		m := &Message{Channel: ru.channel, User: s.BotUserID, BotID: s.BotID, AppID: s.AppID, Text: text, Blocks: blocks}
		if t, _ := msg["thread_ts"].(string); t != "" {
			m.ThreadTS = t
		}
		m.TS = s.nextTSLocked()
		s.messages = append(s.messages, m)
	default:
		m := &Message{Channel: ru.channel, User: s.BotUserID, BotID: s.BotID, AppID: s.AppID, Text: text,
			Blocks: blocks, EphemeralUser: ru.user}
		m.TS = s.nextTSLocked()
		s.ephem = append(s.ephem, m)
	}
	return ok(nil)
}

// toMaps converts a decoded JSON array of objects.
func toMaps(v any) []map[string]any {
	arr, isArr := v.([]any)
	if !isArr {
		return nil
	}
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, isMap := e.(map[string]any); isMap {
			out = append(out, m)
		}
	}
	return out
}

// EventCallback wraps an inner event (MessageEvent, an app_mention, …) in
// the Events API outer object Slack delivers, with a fresh event_id.
func (s *Server) EventCallback(event map[string]any) map[string]any {
	s.mu.Lock()
	n := s.nextIDLocked()
	s.mu.Unlock()
	return map[string]any{
		"token": "verification-token-unused", "team_id": s.TeamID, "api_app_id": s.AppID,
		"event": event, "type": "event_callback", "event_id": fmt.Sprintf("Ev%08d", n),
		"event_time": time.Now().Unix(), "is_ext_shared_channel": false,
		"authorizations": []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true,
			"is_enterprise_install": false, "enterprise_id": nil}},
		"event_context": fmt.Sprintf("4-slackserver-%d", n),
	}
}

// MessageEvent is the "message" event Slack sends for a stored message
// (top-level fields as in the Events API; bot posts carry bot_id,
// subtype "bot_message" and username when set on m).
func (s *Server) MessageEvent(m Message) map[string]any {
	s.mu.Lock()
	w := s.wireLocked(&m)
	s.mu.Unlock()
	// A new message event has no reply metadata.
	for _, k := range []string{"reply_count", "reply_users", "reply_users_count", "latest_reply", "edited"} {
		delete(w, k)
	}
	if m.ThreadTS == "" {
		delete(w, "thread_ts")
	}
	w["channel"] = m.Channel
	w["event_ts"] = m.TS
	w["channel_type"] = "channel"
	return w
}

// PushMessage stores m in channel (AddMessage) and pushes its message
// event over Socket Mode. It returns the stored message and envelope ID.
func (s *Server) PushMessage(channel string, m Message) (Message, string, error) {
	stored := s.AddMessage(channel, m)
	id, err := s.Push(EventsAPI, s.EventCallback(s.MessageEvent(stored)))
	return stored, id, err
}

// SlashCommand is an invocation of a slash command.
type SlashCommand struct {
	Command     string // "/oom"
	Text        string // "triage payments-api-7d4f9c-x2k8p"
	ChannelID   string
	ChannelName string
	UserID      string
	UserName    string
}

// SlashCommandFields returns the fields Slack sends for c, with a fresh
// response_url on this server and a trigger_id. Push them as the payload
// of a SlashCommands envelope (Socket Mode sends them as a JSON object of
// strings) or send them with CommandRequest (HTTP mode, a form).
func (s *Server) SlashCommandFields(c SlashCommand) map[string]string {
	ru := s.newResponseURL(c.ChannelID, c.UserID, "")
	return map[string]string{
		"token": "verification-token-unused", "team_id": s.TeamID, "team_domain": s.TeamDomain,
		"channel_id": c.ChannelID, "channel_name": or(c.ChannelName, strings.ToLower(c.ChannelID)),
		"user_id": c.UserID, "user_name": or(c.UserName, strings.ToLower(c.UserID)),
		"command": c.Command, "text": c.Text, "api_app_id": s.AppID, "is_enterprise_install": "false",
		"response_url": ru, "trigger_id": s.triggerID(),
	}
}

func (s *Server) triggerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nextIDLocked()
	return fmt.Sprintf("%d.%d.%032x", time.Now().Unix(), n, n)
}

// BlockAction is a click on a button of a message.
type BlockAction struct {
	ActionID string
	BlockID  string
	Value    string
	// ButtonText is the button's label ("Re-run" when empty).
	ButtonText string
	ChannelID  string
	// MessageTS is the message holding the button; when stored, the
	// payload carries it as "message" (with its thread_ts).
	MessageTS string
	UserID    string
	UserName  string
}

// BlockActionsPayload returns the block_actions interaction payload Slack
// sends for a, with a fresh response_url tied to the message. Push it as
// an Interactive envelope or send it with InteractionRequest.
func (s *Server) BlockActionsPayload(a BlockAction) map[string]any {
	ru := s.newResponseURL(a.ChannelID, a.UserID, a.MessageTS)
	container := map[string]any{"type": "message", "message_ts": a.MessageTS, "channel_id": a.ChannelID, "is_ephemeral": false}
	now := time.Now()
	actionTS := fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
	p := map[string]any{
		"type": "block_actions", "api_app_id": s.AppID, "token": "verification-token-unused",
		"trigger_id": s.triggerID(), "response_url": ru, "is_enterprise_install": false,
		"team":      map[string]any{"id": s.TeamID, "domain": s.TeamDomain},
		"user":      map[string]any{"id": a.UserID, "username": or(a.UserName, strings.ToLower(a.UserID)), "name": or(a.UserName, strings.ToLower(a.UserID)), "team_id": s.TeamID},
		"channel":   map[string]any{"id": a.ChannelID, "name": strings.ToLower(a.ChannelID)},
		"container": container,
		"actions": []map[string]any{{
			"type": "button", "action_id": a.ActionID, "block_id": a.BlockID, "value": a.Value,
			"text":      map[string]any{"type": "plain_text", "text": or(a.ButtonText, "Re-run"), "emoji": true},
			"action_ts": actionTS,
		}},
		"state": map[string]any{"values": map[string]any{}},
	}
	s.mu.Lock()
	if m := s.findLocked(a.ChannelID, a.MessageTS); m != nil {
		w := s.wireLocked(m)
		p["message"] = w
		if m.ThreadTS != "" {
			container["thread_ts"] = m.ThreadTS
		}
	}
	s.mu.Unlock()
	return p
}
