package slack

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/oombot/oombot/internal/chat"
)

// HTTP endpoint paths; the app manifest points Slack at them.
const (
	PathEvents       = "/slack/events"
	PathCommands     = "/slack/commands"
	PathInteractions = "/slack/interactions"
)

// maxRequestBody bounds what a request may make the bot read; Slack's
// payloads are a few KB.
const maxRequestBody = 1 << 20

// HTTPOptions configure the HTTP receiver.
type HTTPOptions struct {
	// SigningSecret verifies every request (required).
	SigningSecret string
	Logger        *slog.Logger
}

// HTTPHandler serves the Events API, slash commands and interactivity on
// one mux. Every request must carry a valid X-Slack-Signature made within
// the last five minutes; anything else gets 401 and a log line. Handlers
// answer at once (the work runs in the background), well inside Slack's
// 3-second deadline, so Slack has no reason to retry.
func (c *Client) HTTPHandler(h chat.Handler, o HTTPOptions) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &dispatcher{h: h, self: c.id, render: c.render, log: log}
	verified := func(next func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
			if err != nil {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			if err := verify(r.Header, body, o.SigningSecret); err != nil {
				log.Warn("rejected unsigned or stale slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
				http.Error(w, "invalid signature", http.StatusUnauthorized)
				return
			}
			next(w, r, body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle(PathEvents, verified(func(w http.ResponseWriter, r *http.Request, body []byte) {
		outer, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
		if err != nil {
			log.Warn("malformed slack event", "err", err)
			http.Error(w, "malformed event", http.StatusBadRequest)
			return
		}
		if outer.Type == slackevents.URLVerification {
			var ch slackevents.ChallengeResponse
			if err := json.Unmarshal(body, &ch); err != nil {
				http.Error(w, "malformed challenge", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(ch.Challenge))
			return
		}
		retry, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
		d.event(r.Context(), outer, retry)
		w.WriteHeader(http.StatusOK)
	}))
	mux.Handle(PathCommands, verified(func(w http.ResponseWriter, r *http.Request, body []byte) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		sc, err := slackapi.SlashCommandParse(r)
		if err != nil {
			http.Error(w, "malformed command", http.StatusBadRequest)
			return
		}
		writeJSON(w, d.command(r.Context(), sc))
	}))
	mux.Handle(PathInteractions, verified(func(w http.ResponseWriter, r *http.Request, body []byte) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed interaction", http.StatusBadRequest)
			return
		}
		var cb slackapi.InteractionCallback
		if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &cb); err != nil {
			log.Warn("malformed slack interaction", "err", err)
			http.Error(w, "malformed interaction payload", http.StatusBadRequest)
			return
		}
		d.interaction(r.Context(), cb)
		w.WriteHeader(http.StatusOK)
	}))
	return mux
}

// verify checks Slack's request signature and its 5-minute replay window.
func verify(h http.Header, body []byte, secret string) error {
	v, err := slackapi.NewSecretsVerifier(h, secret)
	if err != nil {
		return err
	}
	if _, err := v.Write(body); err != nil {
		return err
	}
	return v.Ensure()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
