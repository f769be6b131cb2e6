package slackserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Message is a stored message. Blocks and Attachments are decoded JSON so
// tests can assert on block content.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the parent's ts for a reply, "" for a top-level message.
	ThreadTS string
	User     string
	BotID    string
	AppID    string
	Username string
	// SubType is e.g. "bot_message" for an Alertmanager post added with
	// AddMessage; messages the bot posts have none, as on Slack.
	SubType        string
	Text           string
	Blocks         []map[string]any
	Attachments    []map[string]any
	ReplyBroadcast bool
	// Files are the IDs of files shared with this message.
	Files []string
	// Edits counts chat.update calls applied to the message.
	Edits int
	// EphemeralUser is set for chat.postEphemeral messages (and ephemeral
	// response_url replies), which only that user sees.
	EphemeralUser string
}

func (m *Message) clone() Message {
	c := *m
	c.Files = slices.Clone(m.Files)
	// Blocks and attachments are decoded JSON that the server never mutates
	// after storing (updates replace the slices), so sharing them is safe.
	return c
}

// File is an upload started with files.getUploadURLExternal.
type File struct {
	ID          string
	Name        string
	Title       string
	AltText     string
	SnippetType string
	// Length is the length declared to files.getUploadURLExternal; Data is
	// what was actually uploaded.
	Length int
	Data   []byte
	// Set by files.completeUploadExternal.
	Channel        string
	ThreadTS       string
	InitialComment string
	Uploaded       bool
	Completed      bool
}

type handler func(*Server, *request) result

func apiMethod(method string) handler {
	switch method {
	case "auth.test":
		return (*Server).authTest
	case "chat.postMessage":
		return (*Server).postMessage
	case "chat.update":
		return (*Server).update
	case "chat.postEphemeral":
		return (*Server).postEphemeral
	case "chat.getPermalink":
		return (*Server).getPermalink
	case "conversations.history":
		return (*Server).history
	case "conversations.replies":
		return (*Server).replies
	case "files.getUploadURLExternal":
		return (*Server).getUploadURL
	case "files.completeUploadExternal":
		return (*Server).completeUpload
	case "apps.connections.open":
		return (*Server).connectionsOpen
	}
	return nil
}

func (s *Server) workspaceURL() string { return "https://" + s.TeamDomain + ".slack.com/" }

func (s *Server) authTest(*request) result {
	return ok(map[string]any{
		"url": s.workspaceURL(), "team": s.TeamDomain, "user": "oombot",
		"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID, "is_enterprise_install": false,
	})
}

// content is the text/blocks/attachments of a post or update.
type content struct {
	text           string
	blocks         []map[string]any
	attachments    []map[string]any
	hasBlocks      bool
	hasAttachments bool
}

// parseContent decodes and checks message content, answering Slack's
// error codes (no_text, invalid_blocks, msg_too_long, ...).
func parseContent(req *request, needSome bool) (content, *result) {
	c := content{text: req.get("text")}
	if raw, set := req.params["blocks"]; set && len(raw) > 0 {
		c.hasBlocks = true
		if err := json.Unmarshal([]byte(raw[0]), &c.blocks); err != nil {
			r := fail("invalid_blocks_format")
			return c, &r
		}
		if errs := validateBlocks(c.blocks); len(errs) > 0 {
			r := fail("invalid_blocks")
			msgs := make([]string, len(errs))
			for i, e := range errs {
				msgs[i] = "[ERROR] " + e
			}
			r.body["errors"] = errs
			r.body["response_metadata"] = map[string]any{"messages": msgs}
			return c, &r
		}
	}
	if raw, set := req.params["attachments"]; set && len(raw) > 0 {
		c.hasAttachments = true
		if err := json.Unmarshal([]byte(raw[0]), &c.attachments); err != nil {
			r := fail("invalid_attachments")
			return c, &r
		}
	}
	if len([]rune(c.text)) > maxTextRunes {
		r := fail("msg_too_long")
		return c, &r
	}
	if needSome && c.text == "" && len(c.blocks) == 0 && len(c.attachments) == 0 {
		r := fail("no_text")
		return c, &r
	}
	return c, nil
}

// maxTextRunes is where Slack rejects a message's text (it truncates
// above 4000 in display; chat.postMessage refuses above 40000).
const maxTextRunes = 40000

// findLocked returns the stored message channel/ts. Callers hold s.mu.
func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// threadParentLocked resolves a thread_ts: the parent's ts, also when ts
// names a reply. Callers hold s.mu.
func (s *Server) threadParentLocked(channel, ts string) (string, bool) {
	m := s.findLocked(channel, ts)
	if m == nil {
		return "", false
	}
	if m.ThreadTS != "" {
		return m.ThreadTS, true
	}
	return m.TS, true
}

func (s *Server) postMessage(req *request) result {
	ch := req.get("channel")
	if !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	if wait, allowed := s.allowPost(ch, time.Now()); !allowed {
		return (&fault{status: http.StatusTooManyRequests, retryAfter: wait}).result()
	}
	c, bad := parseContent(req, true)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{Channel: ch, User: s.BotUserID, BotID: s.BotID, AppID: s.AppID, Username: req.get("username"),
		Text: c.text, Blocks: c.blocks, Attachments: c.attachments, ReplyBroadcast: req.get("reply_broadcast") == "true"}
	if t := req.get("thread_ts"); t != "" {
		parent, found := s.threadParentLocked(ch, t)
		if !found {
			// Stricter than Slack, which accepts an orphan reply nobody can
			// see: a bot replying to a ts that does not exist has a bug.
			return fail("thread_not_found")
		}
		m.ThreadTS = parent
	}
	m.TS = s.nextTSLocked()
	s.messages = append(s.messages, m)
	s.bumpLocked()
	return ok(map[string]any{"channel": ch, "ts": m.TS, "message": s.wireLocked(m)})
}

func (s *Server) update(req *request) result {
	ch, ts := req.get("channel"), req.get("ts")
	if !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	c, bad := parseContent(req, false)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findLocked(ch, ts)
	if m == nil {
		return fail("message_not_found")
	}
	if m.User != s.BotUserID {
		return fail("cant_update_message")
	}
	if _, set := req.params["text"]; set {
		m.Text = c.text
	}
	if c.hasBlocks {
		m.Blocks = c.blocks
	}
	if c.hasAttachments {
		m.Attachments = c.attachments
	}
	m.Edits++
	s.bumpLocked()
	return ok(map[string]any{"channel": ch, "ts": ts, "text": m.Text, "message": s.wireLocked(m)})
}

func (s *Server) postEphemeral(req *request) result {
	ch, user := req.get("channel"), req.get("user")
	if !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	if user == "" {
		return fail("user_not_in_channel")
	}
	c, bad := parseContent(req, true)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{Channel: ch, User: s.BotUserID, BotID: s.BotID, AppID: s.AppID, Text: c.text,
		Blocks: c.blocks, Attachments: c.attachments, ThreadTS: req.get("thread_ts"), EphemeralUser: user}
	m.TS = s.nextTSLocked()
	s.ephem = append(s.ephem, m)
	s.bumpLocked()
	return ok(map[string]any{"message_ts": m.TS})
}

// Permalink is the link Slack gives a message (chat.getPermalink).
func (s *Server) Permalink(channel, ts, threadTS string) string {
	link := s.workspaceURL() + "archives/" + channel + "/p" + strings.Replace(ts, ".", "", 1)
	if threadTS != "" && threadTS != ts {
		link += "?thread_ts=" + threadTS + "&cid=" + channel
	}
	return link
}

func (s *Server) getPermalink(req *request) result {
	ch, ts := req.get("channel"), req.get("message_ts")
	if !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	s.mu.Lock()
	m := s.findLocked(ch, ts)
	s.mu.Unlock()
	if m == nil {
		return fail("message_not_found")
	}
	return ok(map[string]any{"channel": ch, "permalink": s.Permalink(ch, m.TS, m.ThreadTS)})
}

// page applies Slack's limit/cursor paging to n items; the cursor is an
// opaque offset, as Slack's base64 "next_ts:" cursors are to clients.
func page(req *request, n int) (start, end int, next string, bad *result) {
	limit := 100
	if l := req.get("limit"); l != "" {
		v, err := strconv.Atoi(l)
		if err != nil || v < 0 {
			r := fail("invalid_limit")
			return 0, 0, "", &r
		}
		if v > 0 {
			limit = min(v, 999)
		}
	}
	if c := req.get("cursor"); c != "" {
		v, err := strconv.Atoi(strings.TrimPrefix(c, "offset:"))
		if err != nil || v < 0 || !strings.HasPrefix(c, "offset:") {
			r := fail("invalid_cursor")
			return 0, 0, "", &r
		}
		start = min(v, n)
	}
	end = min(start+limit, n)
	if end < n {
		next = "offset:" + strconv.Itoa(end)
	}
	return start, end, next, nil
}

// inRange applies oldest/latest/inclusive (Slack: exclusive unless
// inclusive=1).
func inRange(req *request, ts string) bool {
	incl := req.get("inclusive") == "1" || req.get("inclusive") == "true"
	t, _ := strconv.ParseFloat(ts, 64)
	if o := req.get("oldest"); o != "" {
		ov, _ := strconv.ParseFloat(o, 64)
		if t < ov || (!incl && t == ov) {
			return false
		}
	}
	if l := req.get("latest"); l != "" {
		lv, _ := strconv.ParseFloat(l, 64)
		if t > lv || (!incl && t == lv) {
			return false
		}
	}
	return true
}

func (s *Server) history(req *request) result {
	ch := req.get("channel")
	if !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var top []*Message
	for i := len(s.messages) - 1; i >= 0; i-- { // newest first, as Slack
		m := s.messages[i]
		if m.Channel == ch && (m.ThreadTS == "" || m.ReplyBroadcast) && inRange(req, m.TS) {
			top = append(top, m)
		}
	}
	start, end, next, bad := page(req, len(top))
	if bad != nil {
		return *bad
	}
	out := make([]map[string]any, 0, end-start)
	for _, m := range top[start:end] {
		out = append(out, s.wireLocked(m))
	}
	return ok(map[string]any{"messages": out, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}})
}

func (s *Server) replies(req *request) result {
	ch, ts := req.get("channel"), req.get("ts")
	if !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, found := s.threadParentLocked(ch, ts)
	if !found {
		return fail("thread_not_found")
	}
	var thread []*Message
	for _, m := range s.messages {
		if m.Channel == ch && (m.TS == parent || m.ThreadTS == parent) && (m.TS == parent || inRange(req, m.TS)) {
			thread = append(thread, m)
		}
	}
	start, end, next, bad := page(req, len(thread))
	if bad != nil {
		return *bad
	}
	out := make([]map[string]any, 0, end-start)
	for _, m := range thread[start:end] {
		out = append(out, s.wireLocked(m))
	}
	return ok(map[string]any{"messages": out, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}})
}

// wireLocked renders a message as Slack's message object (the shape of
// conversations.history). Callers hold s.mu.
func (s *Server) wireLocked(m *Message) map[string]any {
	w := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "team": s.TeamID}
	set := func(k, v string) {
		if v != "" {
			w[k] = v
		}
	}
	set("user", m.User)
	set("bot_id", m.BotID)
	set("app_id", m.AppID)
	set("username", m.Username)
	set("subtype", m.SubType)
	set("thread_ts", m.ThreadTS)
	if m.Blocks != nil {
		w["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		w["attachments"] = m.Attachments
	}
	if m.Edits > 0 {
		w["edited"] = map[string]any{"user": m.User, "ts": m.TS}
	}
	if len(m.Files) > 0 {
		var files []map[string]any
		for _, id := range m.Files {
			if f := s.files[id]; f != nil {
				files = append(files, map[string]any{"id": f.ID, "name": f.Name, "title": f.Title, "size": len(f.Data)})
			}
		}
		w["files"] = files
	}
	if m.ThreadTS == "" {
		var n int
		var latest string
		var users []string // in order of first reply, as Slack lists them
		for _, r := range s.messages {
			if r.Channel == m.Channel && r.ThreadTS == m.TS {
				n++
				latest = r.TS
				if r.User != "" && !slices.Contains(users, r.User) {
					users = append(users, r.User)
				}
			}
		}
		if n > 0 {
			w["thread_ts"] = m.TS
			w["reply_count"] = n
			w["reply_users"] = users
			w["reply_users_count"] = len(users)
			w["latest_reply"] = latest
		}
	}
	return w
}

func (s *Server) getUploadURL(req *request) result {
	name := req.get("filename")
	length, err := strconv.Atoi(req.get("length"))
	if name == "" || err != nil || length <= 0 {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &File{ID: fmt.Sprintf("F%09d", s.nextIDLocked()), Name: name, Length: length,
		AltText: req.get("alt_txt"), SnippetType: req.get("snippet_type")}
	s.files[f.ID] = f
	s.fileIDs = append(s.fileIDs, f.ID)
	s.bumpLocked()
	// On the server's own host: slack-go refuses to send the token to an
	// upload URL whose scheme and host differ from the API URL.
	return ok(map[string]any{"upload_url": s.http.URL + "/upload/v1/" + f.ID, "file_id": f.ID})
}

func (s *Server) completeUpload(req *request) result {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(req.get("files")), &list); err != nil || len(list) == 0 {
		return fail("invalid_arguments")
	}
	ch := req.get("channel_id")
	if ch == "" && req.get("channels") != "" {
		ch = strings.Split(req.get("channels"), ",")[0]
	}
	if ch != "" && !s.channelExists(ch) {
		return fail("channel_not_found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	thread := ""
	if t := req.get("thread_ts"); t != "" && ch != "" {
		parent, found := s.threadParentLocked(ch, t)
		if !found {
			return fail("thread_not_found")
		}
		thread = parent
	}
	for _, it := range list {
		if f := s.files[it.ID]; f == nil || !f.Uploaded || f.Completed {
			return fail("file_not_found")
		}
	}
	out := make([]map[string]any, 0, len(list))
	ids := make([]string, 0, len(list))
	for _, it := range list {
		f := s.files[it.ID]
		f.Title = or(it.Title, f.Name)
		f.Channel, f.ThreadTS, f.InitialComment, f.Completed = ch, thread, req.get("initial_comment"), true
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
		ids = append(ids, f.ID)
	}
	if ch != "" {
		// Sharing posts a message carrying the files into the channel or
		// thread, so it shows up in Thread() and conversations.replies.
		m := &Message{Channel: ch, ThreadTS: thread, User: s.BotUserID, BotID: s.BotID, AppID: s.AppID,
			Text: req.get("initial_comment"), Files: ids}
		m.TS = s.nextTSLocked()
		s.messages = append(s.messages, m)
	}
	s.bumpLocked()
	return ok(map[string]any{"files": out})
}

// serveUpload receives file bytes at an upload URL, raw or as the "file"
// part of a multipart form (slack-go sends multipart). A body whose length
// differs from the declared length gets 400: the server's own check, so a
// wrong FileSize fails loudly in tests.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: MethodUpload, At: time.Now()}
	res := s.handleUpload(r, &call)
	call.Status = res.status
	if res.body != nil && res.body["ok"] == false {
		call.Error, _ = res.body["error"].(string)
	}
	s.record(call)
	writeResult(w, res)
}

func (s *Server) handleUpload(r *http.Request, call *Call) result {
	id := r.PathValue("file")
	call.Params = map[string][]string{"file_id": {id}}
	s.delay(r.Context(), MethodUpload)
	if f := s.takeFault(MethodUpload); f != nil {
		return f.result()
	}
	if r.Method != http.MethodPost {
		return result{status: http.StatusMethodNotAllowed, raw: []byte("POST only")}
	}
	data, err := readUpload(r)
	if err != nil {
		return result{status: http.StatusBadRequest, raw: []byte(err.Error())}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	switch {
	case f == nil:
		return result{status: http.StatusNotFound, raw: []byte("unknown upload URL")}
	case f.Uploaded:
		return result{status: http.StatusConflict, raw: []byte("upload URL already used")}
	case len(data) != f.Length:
		return result{status: http.StatusBadRequest,
			raw: fmt.Appendf(nil, "length mismatch: declared %d bytes, received %d", f.Length, len(data))}
	}
	f.Data, f.Uploaded = data, true
	s.bumpLocked()
	return result{status: http.StatusOK, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		raw: fmt.Appendf(nil, "OK - %d", len(data))}
}

// Messages returns copies of the messages in channel (all channels when
// channel is ""), replies included, in posting order. Ephemeral messages
// are in Ephemerals.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if channel == "" || m.Channel == channel {
			out = append(out, m.clone())
		}
	}
	return out
}

// Thread returns the parent ts and its replies in posting order (nil when
// ts is unknown).
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel && (m.TS == ts || m.ThreadTS == ts) {
			out = append(out, m.clone())
		}
	}
	return out
}

// Ephemerals returns the ephemeral messages posted in channel ("" for all).
func (s *Server) Ephemerals(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ephem {
		if channel == "" || m.Channel == channel {
			out = append(out, m.clone())
		}
	}
	return out
}

// Files returns the files completed with files.completeUploadExternal, in
// the order their uploads started.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileIDs {
		if f := s.files[id]; f.Completed {
			c := *f
			c.Data = slices.Clone(f.Data)
			out = append(out, c)
		}
	}
	return out
}

// AddMessage stores a message as if someone else posted it (an Alertmanager
// or Datadog alert), gives it a ts and returns the stored copy. Set User or
// BotID/SubType ("bot_message") to say who posted it.
func (s *Server) AddMessage(channel string, m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := m.clone()
	stored.Channel = channel
	stored.TS = s.nextTSLocked()
	s.messages = append(s.messages, &stored)
	s.bumpLocked()
	return stored.clone()
}

// readUpload returns the uploaded bytes: the "file" part of a multipart
// form, or the raw body.
func readUpload(r *http.Request) ([]byte, error) {
	const maxUpload = 64 << 20
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxUpload))
		if err != nil {
			return nil, fmt.Errorf("read upload body: %w", err)
		}
		return data, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("read multipart upload: %w", err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errors.New("multipart upload has no \"file\" part")
		}
		if err != nil {
			return nil, fmt.Errorf("read multipart upload: %w", err)
		}
		if p.FormName() == "file" {
			data, err := io.ReadAll(io.LimitReader(p, maxUpload))
			if err != nil {
				return nil, fmt.Errorf("read multipart file part: %w", err)
			}
			return data, nil
		}
	}
}
