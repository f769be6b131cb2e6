package chat

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Queued wraps a Platform so that calls for one channel run one at a time,
// in order, and a retryable failure (a rate limit, a 5xx, a dropped
// connection) is retried after the wait the platform asked for, until the
// call's context ends. Nothing is dropped: a caller either gets its message
// posted or an error it can report.
//
// One lock per channel is the queue: while a 429's Retry-After is slept
// off, the channel's other posts wait behind it, which is exactly what a
// per-channel rate limit asks for, and no goroutine is needed.
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
	return &queued{p: p, o: o, locks: map[string]*sync.Mutex{}}
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
	locks map[string]*sync.Mutex
}

func (q *queued) lock(channel string) func() {
	q.mu.Lock()
	l, ok := q.locks[channel]
	if !ok {
		l = &sync.Mutex{}
		q.locks[channel] = l
	}
	q.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (q *queued) do(ctx context.Context, op, channel string, fn func() error) error {
	defer q.lock(channel)()
	backoff := q.o.MinBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		retry, wait := IsRetryable(err)
		if !retry {
			return err
		}
		if wait <= 0 {
			wait = backoff
			backoff = min(2*backoff, q.o.MaxBackoff)
		}
		if q.o.OnRetry != nil {
			q.o.OnRetry(op, attempt, wait, err)
		}
		if serr := q.o.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%s: gave up after %d attempts (%w): %w", op, attempt, serr, err)
		}
	}
}

func (q *queued) Post(ctx context.Context, to Target, m Message) (Ref, error) {
	var ref Ref
	err := q.do(ctx, "post", to.Channel, func() (err error) {
		ref, err = q.p.Post(ctx, to, m)
		return err
	})
	return ref, err
}

func (q *queued) Update(ctx context.Context, ref Ref, m Message) error {
	return q.do(ctx, "update", ref.Channel, func() error { return q.p.Update(ctx, ref, m) })
}

func (q *queued) Upload(ctx context.Context, to Target, f File) error {
	return q.do(ctx, "upload", to.Channel, func() error { return q.p.Upload(ctx, to, f) })
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
