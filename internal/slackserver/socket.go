package slackserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode envelope types.
const (
	EventsAPI     = "events_api"
	SlashCommands = "slash_commands"
	Interactive   = "interactive"
)

// Envelope is a Socket Mode message to push.
type Envelope struct {
	// Type is EventsAPI, SlashCommands or Interactive.
	Type string
	// Payload is the envelope's payload: an event_callback object, a slash
	// command's fields, an interaction payload. []byte and json.RawMessage
	// are sent as is; anything else is JSON-encoded.
	Payload any
	// RetryAttempt and RetryReason are the first delivery's values (events_api
	// only); each redelivery adds one to the attempt.
	RetryAttempt int
	RetryReason  string
	// AcceptsResponsePayload defaults to true for slash commands and
	// interactions and false for events, as Slack sends them; set
	// OverrideAccepts to use the value given here instead.
	AcceptsResponsePayload bool
	OverrideAccepts        bool
}

// Ack is an acknowledgement a client sent over Socket Mode.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's payload (a slash command's immediate reply), nil
	// when the client sent none.
	Payload json.RawMessage
	At      time.Time
}

type envelope struct {
	id           string
	kind         string
	payload      json.RawMessage
	retryAttempt int
	retryReason  string
	accepts      bool
	deliveries   int
	conn         int // connection it was last delivered on; 0 = none
}

func (e *envelope) wire() []byte {
	m := map[string]any{"envelope_id": e.id, "type": e.kind, "payload": e.payload,
		"accepts_response_payload": e.accepts}
	if e.kind == EventsAPI {
		m["retry_attempt"] = e.retryAttempt
		m["retry_reason"] = e.retryReason
	}
	b, _ := json.Marshal(m) // only RawMessage, strings, ints and bools: cannot fail
	return b
}

// outMsg is one queued websocket write.
type outMsg struct {
	data       []byte
	closeAfter bool
}

// wsConn is one Socket Mode connection. A writer goroutine owns all data
// writes (gorilla allows one concurrent writer); the reader records acks.
type wsConn struct {
	id   int
	ws   *websocket.Conn
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	queue  []outMsg
	notify chan struct{}
}

func (c *wsConn) enqueue(m outMsg) {
	c.mu.Lock()
	c.queue = append(c.queue, m)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

func (c *wsConn) writeLoop(ping time.Duration) {
	defer c.close()
	var tick <-chan time.Time
	if ping > 0 {
		t := time.NewTicker(ping)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.done:
			return
		case <-tick:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
				return
			}
		case <-c.notify:
			c.mu.Lock()
			q := c.queue
			c.queue = nil
			c.mu.Unlock()
			for _, m := range q {
				_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if err := c.ws.WriteMessage(websocket.TextMessage, m.data); err != nil {
					return
				}
				if m.closeAfter {
					_ = c.ws.WriteControl(websocket.CloseMessage,
						websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
					return
				}
			}
		}
	}
}

func (s *Server) connectionsOpen(*request) result {
	s.mu.Lock()
	ticket := fmt.Sprintf("ticket-%d", s.nextIDLocked())
	s.tickets[ticket] = true
	s.mu.Unlock()
	// Slack answers wss://wss-primary.slack.com/link/?ticket=…&app_id=…;
	// the test server has no TLS, so ws://.
	u := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.AppID
	return ok(map[string]any{"url": u})
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a ticket opens one connection
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	// slack-go sends Origin: https://api.slack.com, which is not our host.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already answered the client
	}
	c := &wsConn{ws: ws, done: make(chan struct{}), notify: make(chan struct{}, 1)}
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.connects++
	c.id = s.connects
	s.conns = append(s.conns, c)
	hello, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": len(s.conns),
		"connection_info": map[string]any{"app_id": s.AppID},
		"debug_info": map[string]any{"host": "applink-slackserver", "build_number": 1,
			"approximate_connection_time": 18060},
	})
	c.enqueue(outMsg{data: hello})
	s.deliverPendingLocked(c, func(e *envelope) bool { return !s.openLocked(e.conn) })
	s.wg.Add(2)
	s.bumpLocked()
	s.mu.Unlock()
	go func() { defer s.wg.Done(); c.writeLoop(s.pingInterval) }()
	go func() { defer s.wg.Done(); s.readLoop(c) }()
}

// openLocked reports whether connection id is open. Callers hold s.mu.
func (s *Server) openLocked(id int) bool {
	for _, c := range s.conns {
		if c.id == id {
			return true
		}
	}
	return false
}

// deliverPendingLocked (re)delivers the unacked envelopes that match on c,
// in push order; a redelivery counts as a retry. Callers hold s.mu.
func (s *Server) deliverPendingLocked(c *wsConn, match func(*envelope) bool) {
	for _, e := range s.pending {
		if match(e) {
			s.deliverLocked(e, c)
		}
	}
}

func (s *Server) deliverLocked(e *envelope, c *wsConn) {
	if e.deliveries > 0 && e.kind == EventsAPI {
		e.retryAttempt++
		e.retryReason = s.retryReason
	}
	e.deliveries++
	e.conn = c.id
	c.enqueue(outMsg{data: e.wire()})
}

func (s *Server) readLoop(c *wsConn) {
	defer s.dropConn(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
			continue // not an ack; Slack ignores it too
		}
		s.mu.Lock()
		ack := Ack{EnvelopeID: a.EnvelopeID, At: time.Now()}
		if len(a.Payload) > 0 && string(a.Payload) != "null" {
			ack.Payload = a.Payload
		}
		s.acks = append(s.acks, ack)
		for i, e := range s.pending {
			if e.id == a.EnvelopeID {
				s.pending = append(s.pending[:i:i], s.pending[i+1:]...)
				break
			}
		}
		s.bumpLocked()
		s.mu.Unlock()
	}
}

// dropConn forgets a closed connection. Its unacked envelopes go to
// another open connection if there is one, else wait for the next.
func (s *Server) dropConn(c *wsConn) {
	c.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	known := false
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			known = true
			break
		}
	}
	// Disconnect forgets connections itself; their envelopes go to the
	// next connection when it opens, not here (that would send them twice).
	if n := len(s.conns); known && n > 0 && !s.isClosed {
		s.deliverPendingLocked(s.conns[n-1], func(e *envelope) bool { return e.conn == c.id })
	}
	s.bumpLocked()
}

// Push sends an envelope of kind (EventsAPI, SlashCommands, Interactive)
// to the newest open connection, or queues it for the next one, and
// returns its envelope ID.
func (s *Server) Push(kind string, payload any) (string, error) {
	return s.PushEnvelope(Envelope{Type: kind, Payload: payload})
}

// PushEnvelope is Push with retry fields and accepts_response_payload.
// The envelope stays pending until acked: when its connection closes
// first it is redelivered on the next connection with retry_attempt + 1.
func (s *Server) PushEnvelope(env Envelope) (string, error) {
	switch env.Type {
	case EventsAPI, SlashCommands, Interactive:
	default:
		return "", fmt.Errorf("slackserver: unknown envelope type %q", env.Type)
	}
	var raw json.RawMessage
	switch p := env.Payload.(type) {
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return "", fmt.Errorf("slackserver: encode %s payload: %w", env.Type, err)
		}
		raw = b
	}
	if !json.Valid(raw) {
		return "", fmt.Errorf("slackserver: %s payload is not valid JSON", env.Type)
	}
	accepts := env.Type != EventsAPI
	if env.OverrideAccepts {
		accepts = env.AcceptsResponsePayload
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nextIDLocked()
	e := &envelope{id: fmt.Sprintf("%08x-5e4d-4a11-8b07-%012x", n, n), kind: env.Type, payload: raw,
		retryAttempt: env.RetryAttempt, retryReason: env.RetryReason, accepts: accepts}
	s.pending = append(s.pending, e)
	if k := len(s.conns); k > 0 {
		s.deliverLocked(e, s.conns[k-1])
	}
	s.bumpLocked()
	return e.id, nil
}

// RedeliverUnacked sends every unacked envelope again on the newest open
// connection with retry_attempt + 1, as Slack does when an ack is late.
// It returns how many it resent.
func (s *Server) RedeliverUnacked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := len(s.conns)
	if k == 0 {
		return 0
	}
	for _, e := range s.pending {
		s.deliverLocked(e, s.conns[k-1])
	}
	s.bumpLocked()
	return len(s.pending)
}

// Disconnect sends {"type":"disconnect","reason":reason} on every open
// connection and closes it, as Slack does before rotating a connection
// ("refresh_requested", "warning", "link_disabled"). It waits up to five
// seconds for the connections to close; slack-go then reconnects through
// apps.connections.open.
func (s *Server) Disconnect(reason string) {
	msg, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "applink-slackserver"}})
	s.mu.Lock()
	// Forget the connections now, so that an envelope pushed after
	// Disconnect returns waits for the next connection instead of going
	// to a closing one (and counting as a retry).
	conns := s.conns
	s.conns = nil
	for _, c := range conns {
		c.enqueue(outMsg{data: msg, closeAfter: true})
	}
	s.bumpLocked()
	s.mu.Unlock()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for _, c := range conns {
		select {
		case <-c.done:
		case <-timeout.C:
			return
		}
	}
}

// Acks returns every ack received, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// WaitAck waits for the ack of envelopeID.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var found Ack
	err := s.WaitFor(ctx, func(s *Server) bool {
		for _, a := range s.Acks() {
			if a.EnvelopeID == envelopeID {
				found = a
				return true
			}
		}
		return false
	})
	if err != nil {
		return Ack{}, fmt.Errorf("waiting for ack of %s: %w", envelopeID, err)
	}
	return found, nil
}

// Pending returns the IDs of pushed envelopes not acked yet.
func (s *Server) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.pending {
		ids = append(ids, e.id)
	}
	return ids
}

// Connections is the number of open Socket Mode connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Connects is the number of Socket Mode connections ever opened.
func (s *Server) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}
