package slackserver

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestFailNext(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*Server)
		check func(t *testing.T, err error)
	}{
		{"429 with Retry-After", func(s *Server) { s.FailNext("chat.postMessage", 1, http.StatusTooManyRequests, 1500*time.Millisecond) },
			func(t *testing.T, err error) {
				var rl *slack.RateLimitedError
				if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
					t.Errorf("err = %#v, want RateLimitedError{2s} (1.5 s rounds up)", err)
				}
			}},
		{"503", func(s *Server) { s.FailNext("chat.postMessage", 1, http.StatusServiceUnavailable, 0) },
			func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				if !errors.As(err, &sc) || sc.Code != 503 || !sc.Retryable() {
					t.Errorf("err = %#v, want retryable StatusCodeError 503", err)
				}
			}},
		{"ok:false code", func(s *Server) { s.FailNextWith("chat.postMessage", 1, "not_in_channel") },
			func(t *testing.T, err error) {
				if slackErr(err) != "not_in_channel" {
					t.Errorf("err = %v, want not_in_channel", err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, Options{})
			api := client(srv, srv.BotToken)
			tc.setup(srv)
			_, _, err := api.PostMessageContext(ctxT(t), "C1", slack.MsgOptionText("hi", false))
			tc.check(t, err)
			// The fault is used up: the next call goes through.
			if _, _, err := api.PostMessageContext(ctxT(t), "C1", slack.MsgOptionText("hi", false)); err != nil {
				t.Errorf("second post: %v", err)
			}
			if n := len(srv.Messages("C1")); n != 1 {
				t.Errorf("%d messages stored, want 1 (the failed post must not be stored)", n)
			}
		})
	}
}

func TestFailNextCountsAndOtherMethods(t *testing.T) {
	srv := newServer(t, Options{})
	api := client(srv, srv.BotToken)
	srv.FailNext("chat.update", 2, http.StatusTooManyRequests, time.Second)
	_, ts, err := api.PostMessageContext(ctxT(t), "C1", slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatalf("post must be unaffected by a chat.update fault: %v", err)
	}
	var errs []error
	for range 3 {
		_, _, _, err := api.UpdateMessageContext(ctxT(t), "C1", ts, slack.MsgOptionText("x", false))
		errs = append(errs, err)
	}
	var rl *slack.RateLimitedError
	if !errors.As(errs[0], &rl) || !errors.As(errs[1], &rl) || errs[2] != nil {
		t.Errorf("errs = %v, want two 429s then success", errs)
	}
	if c := srv.Calls("chat.update"); len(c) != 3 || c[0].Status != 429 || c[0].Error != "ratelimited" || c[2].Status != 200 {
		t.Errorf("calls = %+v", c)
	}
}

func TestLatency(t *testing.T) {
	srv := newServer(t, Options{})
	api := client(srv, srv.BotToken)
	srv.Latency("chat.postMessage", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %v, want the client's deadline", err, time.Since(start))
	}
	srv.Latency("chat.postMessage", 0)
	if _, _, err := api.PostMessageContext(ctxT(t), "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("after removing latency: %v", err)
	}
}

func TestChannelRateLimit(t *testing.T) {
	srv := newServer(t, Options{})
	api := client(srv, srv.BotToken)
	srv.SetChannelRateLimit(&ChannelRateLimit{Burst: 2, Interval: time.Second})
	post := func(ch string) error {
		_, _, err := api.PostMessageContext(ctxT(t), ch, slack.MsgOptionText("hi", false))
		return err
	}
	for i := range 2 {
		if err := post("C1"); err != nil {
			t.Fatalf("burst post %d: %v", i, err)
		}
	}
	var rl *slack.RateLimitedError
	if err := post("C1"); !errors.As(err, &rl) || rl.RetryAfter < time.Second {
		t.Fatalf("third post: err = %v, want 429 with Retry-After ≥ 1s", err)
	}
	if err := post("C2"); err != nil {
		t.Errorf("another channel has its own bucket: %v", err)
	}
	srv.SetChannelRateLimit(nil)
	if err := post("C1"); err != nil {
		t.Errorf("limit off: %v", err)
	}
}
