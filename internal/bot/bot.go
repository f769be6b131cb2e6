// Package bot is oombot's chat front-end, independent of the chat platform.
// It turns inbound traffic (alert messages in watched channels, /oom
// commands, button clicks) into triages and posts their reports in the
// right thread:
//
//	platform receiver → Handle* → dedup/permissions → fleet triage →
//	report (+ chart, + narrative) → chat.Platform (queued per channel)
//
// Noise control lives here: a redelivered event is answered once, a
// workload is triaged at most once per window (later alerts get a short
// reply that links the first thread), and a RESOLVED message is posted in
// its alert's thread instead of starting a triage. Dedup keys come from the
// alert and the target, never from generated text.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/narrative"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/store"
)

// Triager runs one triage (fleet.Fleet in production).
type Triager interface {
	Triage(ctx context.Context, req fleet.Request) (*report.Report, error)
}

// Parser recognises alert messages (alert.Parser in production).
type Parser interface {
	Parse(m alert.Message) (alert.Alert, bool)
}

// Narrator adds the optional LLM narrative (narrative.Narrator).
type Narrator interface {
	Narrate(ctx context.Context, rep *report.Report) (*narrative.Narrative, error)
}

// Options configure a Bot. Platform, Triager, Parser and Channels are
// required.
type Options struct {
	Platform chat.Platform
	Triager  Triager
	Parser   Parser
	Channels []config.Channel
	// Store defaults to an in-memory store.
	Store store.Store
	// DedupWindow is one triage per workload per window (default 15m).
	DedupWindow time.Duration
	// Workers bounds concurrent triages (default 4).
	Workers int
	// TriageTimeout bounds one triage including posting (default 60s).
	TriageTimeout time.Duration
	// Chart renders the memory chart PNG; nil posts no chart.
	Chart func(*report.Chart) ([]byte, error)
	// Narrator is optional.
	Narrator Narrator
	Logger   *slog.Logger
	// Registerer receives the bot's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Bot handles chat traffic. Create it with New; Shutdown waits for the
// triages in flight.
type Bot struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	channels map[string]config.Channel
	sem      chan struct{}
	m        *metrics

	// base outlives the calls that start triages: a slash command's
	// request context ends at its ack, the triage must not.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// deliveryTTL bounds how long a delivery id is remembered; Slack retries
// within minutes.
const deliveryTTL = time.Hour

// New checks o and returns a Bot.
func New(o Options) (*Bot, error) {
	if o.Platform == nil || o.Triager == nil || o.Parser == nil {
		return nil, errors.New("bot: platform, triager and parser are required")
	}
	if o.Store == nil {
		o.Store = store.NewMemory()
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 15 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.TriageTimeout <= 0 {
		o.TriageTimeout = 60 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bot{o: o, log: log, now: o.Now, channels: map[string]config.Channel{},
		sem: make(chan struct{}, o.Workers), m: newMetrics(o.Registerer)}
	for _, c := range o.Channels {
		b.channels[c.ID] = c
	}
	b.base, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Shutdown stops starting triages and waits for those in flight to post
// their reports, or until ctx ends (then they are cancelled).
func (b *Bot) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-done
		return fmt.Errorf("bot: shutdown cut in-flight triages short: %w", ctx.Err())
	}
}

// spawn runs fn in the background unless the bot is shutting down.
func (b *Bot) spawn(fn func(ctx context.Context)) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(b.base, b.o.TriageTimeout)
		defer cancel()
		fn(ctx)
	}()
	return true
}

// firstDelivery reports whether any of keys is new; a delivery seen under
// any key (event id, channel+ts) is a redelivery.
func (b *Bot) firstDelivery(ctx context.Context, keys ...string) bool {
	first := true
	for _, k := range keys {
		if k == "" {
			continue
		}
		ok, err := b.o.Store.FirstDelivery(ctx, k, b.now(), deliveryTTL)
		if err != nil {
			// Failing open could double-reply; failing closed could miss an
			// alert. A reply too many is the lesser harm.
			b.log.Warn("dedup store failed", "key", k, "err", err)
			continue
		}
		if !ok {
			first = false
		}
	}
	return first
}

// deliveryKey is prefix+id, or "" (not a key) when id is empty: a message
// without an event id (read back from history) must not share one key
// with every other such message.
func deliveryKey(prefix, id string) string {
	if id == "" {
		return ""
	}
	return prefix + id
}

func newID() string {
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}
