package slack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/slackserver"
)

func newTestClient(t *testing.T, srv *slackserver.Server) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), srv.BotToken, ClientOptions{APIURL: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestQueuedRateLimitStorm: Slack's per-channel limit (burst 3, then one
// per 200 ms) answers most of 24 concurrent posts in 6 threads with 429.
// Every post arrives, each thread in order, and after a 429 no post is made
// to the channel before its Retry-After has passed.
func TestQueuedRateLimitStorm(t *testing.T) {
	srv := slackserver.New(slackserver.Options{})
	defer srv.Close()
	srv.SetChannelRateLimit(&slackserver.ChannelRateLimit{Burst: 3, Interval: 200 * time.Millisecond})
	p := chat.Queued(newTestClient(t, srv), chat.QueueOptions{})
	const ch = "C0STORM001"
	var parents []string
	for i := range 6 {
		parents = append(parents, srv.AddMessage(ch, slackserver.Message{Text: fmt.Sprint("alert ", i)}).TS)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(parents))
	for i, parent := range parents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 4 {
				if _, err := p.Post(ctx, chat.Target{Channel: ch, ThreadTS: parent}, chat.Message{Text: fmt.Sprintf("t%d-m%d", i, j)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, parent := range parents {
		var got []string
		for _, m := range srv.Thread(ch, parent) {
			if m.TS != parent {
				got = append(got, m.Text)
			}
		}
		want := fmt.Sprintf("t%d-m0 t%d-m1 t%d-m2 t%d-m3", i, i, i, i)
		if strings.Join(got, " ") != want {
			t.Errorf("thread %d: %v, want %s", i, got, want)
		}
	}
	calls := srv.Calls("chat.postMessage")
	limited := 0
	for i, c := range calls {
		if c.Status != 429 {
			continue
		}
		limited++
		// The server's Retry-After is whole seconds (≥ 1 s). Calls already
		// in flight when the 429 was sent start within a few ms of it; any
		// call made after the client read the 429 must wait.
		for _, later := range calls[i+1:] {
			if d := later.At.Sub(c.At); d > 50*time.Millisecond && d < 900*time.Millisecond {
				t.Errorf("call %s after a 429: Retry-After not honoured", d)
			}
		}
	}
	if limited == 0 {
		t.Fatal("the storm never hit the rate limit: the test proves nothing")
	}
	t.Logf("%d posts, %d answered 429", len(calls), limited)
}

// TestQueuedNotRetryable: a bad channel is not retried.
func TestQueuedNotRetryable(t *testing.T) {
	srv := slackserver.New(slackserver.Options{Channels: []string{"C0EXISTS01"}})
	defer srv.Close()
	p := chat.Queued(newTestClient(t, srv), chat.QueueOptions{})
	_, err := p.Post(context.Background(), chat.Target{Channel: "C0NOPE0001"}, chat.Message{Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("err %v", err)
	}
	if retry, _ := chat.IsRetryable(err); retry || len(srv.Calls("chat.postMessage")) != 1 {
		t.Errorf("retried a permanent error")
	}
}
