package slackserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultBotToken   = "xoxb-0000000000-0000000000000-testbottoken"
	DefaultAppToken   = "xapp-1-A0000APP-0000000000-testapptoken"
	DefaultBotUserID  = "U0000BOT"
	DefaultBotID      = "B0000BOT"
	DefaultTeamID     = "T0000TEAM"
	DefaultTeamDomain = "oombot-test"
	DefaultAppID      = "A0000APP"
)

// Pseudo method names for endpoints that are not Web API methods; use them
// with FailNext, Latency and Calls.
const (
	// MethodUpload is the upload URL handed out by files.getUploadURLExternal.
	MethodUpload = "(upload)"
	// MethodResponseURL is a slash command's or interaction's response_url.
	MethodResponseURL = "(response_url)"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	BotToken   string
	AppToken   string
	BotUserID  string
	BotID      string
	TeamID     string
	TeamDomain string
	AppID      string
	// Channels, when set, are the only channels that exist; any other
	// channel gets channel_not_found. Empty means every channel exists.
	Channels []string
	// PingInterval is how often the server pings Socket Mode connections, as
	// Slack does (slack-go drops a connection that sees no ping for 30 s).
	// Zero means 10 s; negative disables pings.
	PingInterval time.Duration
	// RetryReason is put in redelivered events_api envelopes ("timeout"
	// when empty).
	RetryReason string
}

// Server is a fake Slack: Web API, upload URLs, Socket Mode and response
// URLs on one httptest server. All methods are safe for concurrent use.
// The identity fields are set by New and must not be modified.
type Server struct {
	BotToken   string
	AppToken   string
	BotUserID  string
	BotID      string
	TeamID     string
	TeamDomain string
	AppID      string

	http         *httptest.Server
	pingInterval time.Duration
	retryReason  string
	channels     map[string]bool

	closed chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	isClosed  bool
	changed   chan struct{}
	seq       int64 // ID counter for files, envelopes, events, tickets
	lastTS    int64 // last message ts in microseconds
	calls     []Call
	faults    map[string][]*fault
	latency   map[string]time.Duration
	limit     *ChannelRateLimit
	buckets   map[string]*bucket
	messages  []*Message // every non-ephemeral message, in posting order
	ephem     []*Message
	files     map[string]*File
	fileIDs   []string
	tickets   map[string]bool
	conns     []*wsConn
	connects  int
	pending   []*envelope // pushed envelopes not acked yet, in push order
	acks      []Ack
	resp      map[string]*responseURL
	respPosts []ResponsePost
}

// New starts a server. Close it when done (t.Cleanup(srv.Close)).
func New(o Options) *Server {
	s := &Server{
		BotToken:     or(o.BotToken, DefaultBotToken),
		AppToken:     or(o.AppToken, DefaultAppToken),
		BotUserID:    or(o.BotUserID, DefaultBotUserID),
		BotID:        or(o.BotID, DefaultBotID),
		TeamID:       or(o.TeamID, DefaultTeamID),
		TeamDomain:   or(o.TeamDomain, DefaultTeamDomain),
		AppID:        or(o.AppID, DefaultAppID),
		pingInterval: o.PingInterval,
		retryReason:  or(o.RetryReason, "timeout"),
		closed:       make(chan struct{}),
		changed:      make(chan struct{}),
		faults:       map[string][]*fault{},
		latency:      map[string]time.Duration{},
		buckets:      map[string]*bucket{},
		files:        map[string]*File{},
		tickets:      map[string]bool{},
		resp:         map[string]*responseURL{},
	}
	if s.pingInterval == 0 {
		s.pingInterval = 10 * time.Second
	}
	if len(o.Channels) > 0 {
		s.channels = map[string]bool{}
		for _, c := range o.Channels {
			s.channels[c] = true
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/upload/v1/{file}", s.serveUpload)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/response/{id}", s.serveResponseURL)
	s.http = httptest.NewServer(mux)
	return s
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// URL is the Web API base, ending in "/api/", for slack.OptionAPIURL.
func (s *Server) URL() string { return s.http.URL + "/api/" }

// Client returns an HTTP client for the server (plain http, no proxy).
func (s *Server) Client() *http.Client { return s.http.Client() }

// Close drops every Socket Mode connection, waits for the server's
// goroutines and shuts the HTTP server down. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return
	}
	s.isClosed = true
	close(s.closed)
	conns := append([]*wsConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	s.http.Close()
}

// bumpLocked wakes everyone waiting in WaitFor. Callers hold s.mu.
func (s *Server) bumpLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of recorded state
// (a call, a message, an ack, a connection). Take it before checking the
// state so no change is missed.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// ErrClosed is returned by waits when the server closes.
var ErrClosed = errors.New("slackserver: server closed")

// WaitFor blocks until cond returns true, re-checking after every change,
// or until ctx ends. cond may call the Server's accessors.
func (s *Server) WaitFor(ctx context.Context, cond func(*Server) bool) error {
	for {
		ch := s.Changed()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slackserver: condition not met: %w", ctx.Err())
		case <-s.closed:
			return ErrClosed
		}
	}
}

// Call is one request the server received.
type Call struct {
	Method string
	At     time.Time
	// Params holds form, query and JSON-body parameters as strings (JSON
	// values that are not strings are re-encoded as JSON); token removed.
	Params url.Values
	// JSON is the decoded body when it was a JSON object.
	JSON map[string]any
	// Token is the token the call authenticated with (header or form).
	Token string
	// Status is the HTTP status answered and Error the Slack error code
	// ("" when ok).
	Status int
	Error  string
}

// Calls returns the recorded calls of method in arrival order, or all
// calls when method is "".
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.bumpLocked()
}

// fault is one FailNext rule.
type fault struct {
	left       int
	status     int
	retryAfter time.Duration
	code       string
}

// FailNext makes the next n calls of method fail with HTTP status. A 429
// carries Retry-After (whole seconds, rounded up) and
// {"ok":false,"error":"ratelimited"}, as Slack sends it; other statuses get
// a small HTML body like Slack's 5xx pages. Rules queue in order.
func (s *Server) FailNext(method string, n int, status int, retryAfter time.Duration) {
	s.addFault(method, &fault{left: n, status: status, retryAfter: retryAfter})
}

// FailNextWith makes the next n calls of method answer HTTP 200 with
// {"ok":false,"error":code}, e.g. "channel_not_found" or "internal_error".
func (s *Server) FailNextWith(method string, n int, code string) {
	s.addFault(method, &fault{left: n, status: http.StatusOK, code: code})
}

func (s *Server) addFault(method string, f *fault) {
	if f.left <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], f)
}

// takeFault consumes one injected failure for method, if any.
func (s *Server) takeFault(method string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[method]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	f.left--
	if f.left <= 0 {
		s.faults[method] = q[1:]
	}
	return f
}

// Latency delays every later call of method by d (0 removes the delay).
// The delay ends early when the request is cancelled or the server closes.
func (s *Server) Latency(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.latency, method)
		return
	}
	s.latency[method] = d
}

func (s *Server) delay(ctx context.Context, method string) {
	s.mu.Lock()
	d := s.latency[method]
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.closed:
	}
}

// ChannelRateLimit is a token bucket per channel for chat.postMessage,
// Slack's "about one message per second per channel, short bursts allowed".
type ChannelRateLimit struct {
	// Burst posts are allowed at once; then one more per Interval.
	Burst    int
	Interval time.Duration
}

type bucket struct {
	tokens float64
	at     time.Time
}

// SetChannelRateLimit switches the per-channel limit on (nil switches it
// off). A post over the limit gets 429, Retry-After and "ratelimited".
func (s *Server) SetChannelRateLimit(l *ChannelRateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l != nil && (l.Burst <= 0 || l.Interval <= 0) {
		l = nil
	}
	s.limit = l
	s.buckets = map[string]*bucket{}
}

// allowPost takes a token for channel; when none is left it returns how
// long until the next one.
func (s *Server) allowPost(channel string, now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == nil {
		return 0, true
	}
	b := s.buckets[channel]
	if b == nil {
		b = &bucket{tokens: float64(s.limit.Burst), at: now}
		s.buckets[channel] = b
	}
	b.tokens = math.Min(float64(s.limit.Burst), b.tokens+float64(now.Sub(b.at))/float64(s.limit.Interval))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) * float64(s.limit.Interval)), false
}

// request is a parsed Web API call.
type request struct {
	method string
	params url.Values
	json   map[string]any
	token  string
}

func (r *request) get(k string) string { return r.params.Get(k) }

// result is what a handler answers.
type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte // non-JSON body (5xx pages, upload "OK")
}

func ok(fields map[string]any) result {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return result{status: http.StatusOK, body: fields}
}

func fail(code string) result {
	return result{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

func (f *fault) result() result {
	switch {
	case f.status == http.StatusTooManyRequests:
		secs := int64(math.Ceil(f.retryAfter.Seconds()))
		return result{status: f.status, header: http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}},
			body: map[string]any{"ok": false, "error": "ratelimited"}}
	case f.status == http.StatusOK:
		return fail(f.code)
	default:
		return result{status: f.status, raw: []byte("<html><body>slackserver: injected " + http.StatusText(f.status) + "</body></html>")}
	}
}

func writeResult(w http.ResponseWriter, res result) {
	for k, v := range res.header {
		w.Header()[k] = v
	}
	if res.body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(res.status)
		_ = json.NewEncoder(w).Encode(res.body)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(res.raw)
}

// parseRequest reads query, form and JSON parameters the way Slack accepts
// them (slack-go sends most methods form-encoded, some as JSON, getters as
// GET with a query string).
func parseRequest(r *http.Request, method string) (*request, error) {
	req := &request{method: method, params: url.Values{}}
	for k, v := range r.URL.Query() {
		req.params[k] = append(req.params[k], v...)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	switch {
	case ct == "application/json" && len(strings.TrimSpace(string(body))) > 0:
		if err := json.Unmarshal(body, &req.json); err != nil {
			return nil, fmt.Errorf("decode JSON body: %w", err)
		}
		for k, v := range req.json {
			switch v := v.(type) {
			case string:
				req.params.Set(k, v)
			case bool:
				req.params.Set(k, strconv.FormatBool(v))
			default:
				b, _ := json.Marshal(v)
				req.params.Set(k, string(b))
			}
		}
	case ct == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("decode form body: %w", err)
		}
		for k, v := range form {
			req.params[k] = append(req.params[k], v...)
		}
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		req.token = strings.TrimPrefix(h, "Bearer ")
	} else {
		req.token = req.params.Get("token")
	}
	req.params.Del("token")
	return req, nil
}

// checkToken answers Slack's auth errors: not_authed without a token,
// invalid_auth for an unknown one, not_allowed_token_type for the wrong
// kind (apps.connections.open needs the app token, the rest the bot token).
func (s *Server) checkToken(method, token string) string {
	want, other := s.BotToken, s.AppToken
	if method == "apps.connections.open" {
		want, other = s.AppToken, s.BotToken
	}
	switch token {
	case "":
		return "not_authed"
	case want:
		return ""
	case other:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	call := Call{Method: method, At: time.Now()}
	res := s.handleAPI(r, method, &call)
	call.Status = res.status
	if res.body != nil && res.body["ok"] == false {
		call.Error, _ = res.body["error"].(string)
	}
	s.record(call)
	writeResult(w, res)
}

func (s *Server) handleAPI(r *http.Request, method string, call *Call) result {
	req, err := parseRequest(r, method)
	if err != nil {
		return fail("invalid_form_data")
	}
	call.Params, call.JSON, call.Token = req.params, req.json, req.token
	s.delay(r.Context(), method)
	if f := s.takeFault(method); f != nil {
		return f.result()
	}
	h := apiMethod(method)
	if h == nil {
		return fail("unknown_method")
	}
	if code := s.checkToken(method, req.token); code != "" {
		return fail(code)
	}
	return h(s, req)
}

// channelExists applies Options.Channels.
func (s *Server) channelExists(ch string) bool {
	if ch == "" {
		return false
	}
	return s.channels == nil || s.channels[ch]
}

// nextIDLocked returns a fresh sequence number. Callers hold s.mu.
func (s *Server) nextIDLocked() int64 {
	s.seq++
	return s.seq
}

// nextTSLocked returns a message ts: wall-clock microseconds, strictly
// increasing, formatted like Slack's "1732365600.000100".
func (s *Server) nextTSLocked() string {
	us := time.Now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}
