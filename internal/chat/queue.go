package chat

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Queued wraps a Platform so that a retryable failure (a rate limit, a 5xx,
// a dropped connection) is retried after the wait the platform asked for,
// until the call's context ends. Nothing is dropped: a caller either gets
// its message posted or an error it can report.
//
// Calls are queued per thread: messages of one thread (report, chart,
// narrative) arrive in order. Rate limits are kept per channel: a 429's
// Retry-After closes the channel's gate, and every call for that channel
// waits for it to reopen, so the bot backs off as a whole instead of
// hammering the channel from several threads. Queueing per channel
// instead would make a fresh diagnosis wait behind hundreds of "already
// triaged" notes during an alert storm.
func Queued(p Platform, o QueueOptions) Platform {
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	return &queued{p: p, o: o, locks: map[string]*lane{}, gates: map[string]time.Time{}}
}

// QueueOptions tune Queued.
type QueueOptions struct {
	// MinBackoff is the wait after a retryable error that named none
	// (default 250ms); it doubles up to MaxBackoff (default 1m).
	MinBackoff, MaxBackoff time.Duration
	// OnRetry observes each retry (metrics, logs).
	OnRetry func(op string, attempt int, wait time.Duration, err error)
	// Sleep waits d or until ctx ends (tests may shorten it).
	Sleep func(ctx context.Context, d time.Duration) error
}

type queued struct {
	p     Platform
	o     QueueOptions
	mu    sync.Mutex
	locks map[string]*lane
	// gates hold, per channel, the time before which no call is made.
	gates map[string]time.Time
}

// lane is one thread's queue; users counts holders and waiters so idle
// lanes can be forgotten and the map stays small.
type lane struct {
	sync.Mutex
	users int
}

func (q *queued) lock(key string) func() {
	q.mu.Lock()
	l, ok := q.locks[key]
	if !ok {
		l = &lane{}
		q.locks[key] = l
	}
	l.users++
	q.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		q.mu.Lock()
		if l.users--; l.users == 0 {
			delete(q.locks, key)
		}
		q.mu.Unlock()
	}
}

// waitGate sleeps until the channel's rate-limit gate is open.
func (q *queued) waitGate(ctx context.Context, channel string) error {
	for {
		q.mu.Lock()
		d := time.Until(q.gates[channel])
		if d <= 0 {
			delete(q.gates, channel)
		}
		q.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := q.o.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

func (q *queued) closeGate(channel string, d time.Duration) {
	q.mu.Lock()
	if until := time.Now().Add(d); until.After(q.gates[channel]) {
		q.gates[channel] = until
	}
	q.mu.Unlock()
}

func (q *queued) do(ctx context.Context, op, channel, thread string, fn func() error) error {
	defer q.lock(channel + "/" + thread)()
	backoff := q.o.MinBackoff
	for attempt := 1; ; attempt++ {
		if err := q.waitGate(ctx, channel); err != nil {
			return fmt.Errorf("%s: waiting out a rate limit: %w", op, err)
		}
		err := fn()
		if err == nil {
			return nil
		}
		retry, wait := IsRetryable(err)
		if !retry {
			return err
		}
		if q.o.OnRetry != nil {
			q.o.OnRetry(op, attempt, max(wait, backoff), err)
		}
		if wait > 0 {
			// The platform said how long: the whole channel waits, at the
			// gate at the top of the loop.
			q.closeGate(channel, wait)
			continue
		}
		if serr := q.o.Sleep(ctx, backoff); serr != nil {
			return fmt.Errorf("%s: gave up after %d attempts (%w): %w", op, attempt, serr, err)
		}
		backoff = min(2*backoff, q.o.MaxBackoff)
	}
}

func (q *queued) Post(ctx context.Context, to Target, m Message) (Ref, error) {
	var ref Ref
	err := q.do(ctx, "post", to.Channel, to.ThreadTS, func() (err error) {
		ref, err = q.p.Post(ctx, to, m)
		return err
	})
	return ref, err
}

func (q *queued) Update(ctx context.Context, ref Ref, m Message) error {
	return q.do(ctx, "update", ref.Channel, ref.TS, func() error { return q.p.Update(ctx, ref, m) })
}

func (q *queued) Upload(ctx context.Context, to Target, f File) error {
	return q.do(ctx, "upload", to.Channel, to.ThreadTS, func() error { return q.p.Upload(ctx, to, f) })
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
