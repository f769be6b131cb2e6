package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/alert"
	"github.com/oombot/oombot/internal/bot"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/config"
	"github.com/oombot/oombot/internal/fleet"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/store"
)

const cuChannel = "C0CATCHUP1"

// cuPlatform records posts; like Slack, it refuses calls whose context has
// ended (a dead replica posts nothing).
type cuPlatform struct {
	mu    sync.Mutex
	posts []cuPost
	seq   int
}

type cuPost struct {
	to  chat.Target
	msg chat.Message
}

func (p *cuPlatform) Post(ctx context.Context, to chat.Target, m chat.Message) (chat.Ref, error) {
	if err := ctx.Err(); err != nil {
		return chat.Ref{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	p.posts = append(p.posts, cuPost{to, m})
	return chat.Ref{Channel: to.Channel, TS: fmt.Sprintf("1900000000.%06d", p.seq)}, nil
}
func (p *cuPlatform) Update(context.Context, chat.Ref, chat.Message) error { return nil }
func (p *cuPlatform) Upload(context.Context, chat.Target, chat.File) error { return nil }

// in returns what was posted in thread ts.
func (p *cuPlatform) in(ts string) []chat.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []chat.Message
	for _, x := range p.posts {
		if x.to.ThreadTS == ts {
			out = append(out, x.msg)
		}
	}
	return out
}

func (p *cuPlatform) reports() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, x := range p.posts {
		if x.msg.Report != nil {
			n++
		}
	}
	return n
}

// cuTriager answers at once, or blocks until its context ends (a replica
// that dies mid-triage).
type cuTriager struct {
	block bool
	mu    sync.Mutex
	calls []fleet.Request
}

func (f *cuTriager) Triage(ctx context.Context, req fleet.Request) (*report.Report, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &report.Report{Verdict: "OOMKilled: heap too small"}, nil
}

func (f *cuTriager) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func cuBot(t *testing.T, st store.Store, p chat.Platform, tr bot.Triager) *bot.Bot {
	t.Helper()
	parser, err := alert.NewParser(alert.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(bot.Options{Platform: p, Triager: tr, Parser: parser, Store: st,
		Channels: []config.Channel{{ID: cuChannel, Watch: true, Namespaces: []string{"shop"}, Cluster: "prod"},
			{ID: "C0QUIET001", Namespaces: []string{"*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
	})
	return b
}

// cuAlert is an Alertmanager-style OOMKilled alert for workload w.
func cuAlert(ts, w string) bot.Posted {
	return bot.Posted{Inbound: chat.Inbound{Channel: cuChannel, TS: ts, Message: alert.Message{
		BotID: "B0ALERTMGR", Username: "Alertmanager",
		Text: "[FIRING:1] KubePodOOMKilled\nnamespace: shop\npod: " + w + "-7d9f8b6c5-x2x4q\ncontainer: app\nreason: OOMKilled"}}}
}

// cuHistory serves fixed posts per channel; like Slack, a post counts as
// replied to once a platform in seen has posted in its thread.
type cuHistory struct {
	posts map[string][]bot.Posted
	fail  map[string]error
	seen  []*cuPlatform
}

func (h *cuHistory) History(_ context.Context, ch string, _ time.Time) ([]bot.Posted, error) {
	if err := h.fail[ch]; err != nil {
		return nil, err
	}
	var out []bot.Posted
	for _, p := range h.posts[ch] {
		for _, pl := range h.seen {
			if len(pl.in(p.TS)) > 0 {
				p.Replied = true
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// waitFor polls cond (the triages run in the background).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func ts(i int) string {
	return fmt.Sprintf("%d.%06d", time.Now().Add(-time.Minute).Unix(), i)
}

// TestCatchUpAnswersWhatNobodySaw: an alert no replica received is
// answered; one already received live, one already replied to, a human
// message and a reply in a thread are not; a second catch-up and a late
// live delivery of the caught-up alert change nothing.
func TestCatchUpAnswersWhatNobodySaw(t *testing.T) {
	st := store.NewMemory()
	p := &cuPlatform{}
	tr := &cuTriager{}
	b := cuBot(t, st, p, tr)
	ctx := context.Background()

	missed, live, replied := cuAlert(ts(1), "checkout"), cuAlert(ts(2), "cart"), cuAlert(ts(3), "search")
	replied.Replied = true
	human := bot.Posted{Inbound: chat.Inbound{Channel: cuChannel, TS: ts(4), User: "U1", Message: alert.Message{Text: "anyone looking at checkout?"}}}
	reply := cuAlert(ts(5), "payments")
	reply.ThreadTS = ts(1)

	// The live path saw "live" before the catch-up (event id + channel/ts).
	in := live.Inbound
	in.EventID = "Ev0LIVE"
	b.HandleMessage(ctx, in)
	waitFor(t, "live triage", func() bool { return len(p.in(live.TS)) == 1 })

	h := &cuHistory{posts: map[string][]bot.Posted{cuChannel: {missed, live, replied, human, reply}}, seen: []*cuPlatform{p}}
	res, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: time.Now().Add(-2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered != 1 || res.Skipped != 2 || res.Resumed != 0 || res.Read != 5 {
		t.Errorf("result %+v, want 1 answered, 2 skipped of 5 read", res)
	}
	waitFor(t, "caught-up triage", func() bool { return len(p.in(missed.TS)) == 1 })

	again, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: time.Now().Add(-2 * time.Minute), Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Answered != 0 || again.Resumed != 0 {
		t.Errorf("second catch-up did something: %+v", again)
	}
	// Slack delivers the caught-up message late (a redelivery).
	in = missed.Inbound
	in.EventID, in.Retry = "Ev0LATE", 1
	b.HandleMessage(ctx, in)
	time.Sleep(100 * time.Millisecond)
	for _, m := range []bot.Posted{missed, live, replied, human} {
		want := 1
		if m.TS == replied.TS || m.TS == human.TS {
			want = 0
		}
		if n := len(p.in(m.TS)); n != want {
			t.Errorf("message %s: %d posts in its thread, want %d", m.TS, n, want)
		}
	}
	if n := tr.n(); n != 2 {
		t.Errorf("%d triages, want 2 (live and missed)", n)
	}
}

// TestCatchUpResumesAnAlertItsReplicaDiedOn: replica A receives an alert
// (dedup key and workload claim written to the shared store) and dies
// mid-triage. Replica B's first catch-up leaves it (A may still be
// answering); the resuming one answers it, in its thread, once.
func TestCatchUpResumesAnAlertItsReplicaDiedOn(t *testing.T) {
	st := store.NewMemory()
	pa, pb := &cuPlatform{}, &cuPlatform{}
	a := cuBot(t, st, pa, &cuTriager{block: true})
	b := cuBot(t, st, pb, &cuTriager{})
	ctx := context.Background()

	died := cuAlert(ts(1), "checkout")
	resolved := cuAlert(ts(2), "cart")
	resolved.Message.Text = strings.Replace(resolved.Message.Text, "FIRING", "RESOLVED", 1)
	other := cuAlert(ts(3), "checkout") // same workload, another thread: a duplicate
	for i, m := range []bot.Posted{died, resolved} {
		in := m.Inbound
		in.EventID = fmt.Sprintf("Ev%d", i)
		a.HandleMessage(ctx, in)
	}
	// A dies: its triage is cut off before posting anything.
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_ = a.Shutdown(sctx)
	cancel()
	if n := len(pa.in(died.TS)); n != 0 {
		t.Fatalf("the dead replica posted %d messages", n)
	}

	h := &cuHistory{posts: map[string][]bot.Posted{cuChannel: {died, resolved}}, seen: []*cuPlatform{pa, pb}}
	first, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: time.Now().Add(-2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if first.Answered != 0 || first.Resumed != 0 || first.Skipped != 2 {
		t.Errorf("catch-up without resume: %+v", first)
	}

	// Messages posted after the takeover are this replica's own business.
	notBefore, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: time.Now().Add(-2 * time.Minute), Resume: true, Before: time.Now().Add(-time.Hour)})
	if err != nil || notBefore.Resumed != 0 {
		t.Errorf("resumed a message posted after Before: %+v %v", notBefore, err)
	}

	res, err := b.CatchUp(ctx, h, bot.CatchUpOptions{Since: time.Now().Add(-2 * time.Minute), Resume: true, Before: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 1 || res.Skipped != 1 {
		t.Errorf("resuming catch-up: %+v, want the firing alert resumed and the resolved one skipped", res)
	}
	waitFor(t, "resumed report", func() bool { return pb.reports() == 1 })
	if got := pb.in(died.TS); len(got) != 1 || got[0].Report == nil {
		t.Errorf("resumed alert's thread: %+v, want its report", got)
	}
	// The workload claim still points at the resumed thread: a later alert
	// for the same workload links it.
	in := other.Inbound
	in.EventID = "Ev9"
	b.HandleMessage(ctx, in)
	waitFor(t, "duplicate note", func() bool { return len(pb.in(other.TS)) == 1 })
	if n := pb.in(other.TS)[0]; n.See == nil || n.See.TS != died.TS {
		t.Errorf("duplicate note should link the resumed thread: %+v", n)
	}

	// Resumed once only, even if the report is not visible yet (or the
	// next leader asks).
	c := cuBot(t, st, &cuPlatform{}, &cuTriager{})
	h.seen = nil
	res2, _ := c.CatchUp(ctx, h, bot.CatchUpOptions{Since: time.Now().Add(-2 * time.Minute), Resume: true, Before: time.Now()})
	if res2.Resumed != 0 {
		t.Errorf("resumed twice: %+v", res2)
	}
}

// TestCatchUpReadsEveryChannel: a channel that cannot be read is reported;
// the others are still caught up. Unwatched channels are not read.
func TestCatchUpReadsEveryChannel(t *testing.T) {
	p := &cuPlatform{}
	b := cuBot(t, store.NewMemory(), p, &cuTriager{})
	h := &cuHistory{posts: map[string][]bot.Posted{cuChannel: {cuAlert(ts(1), "checkout")}},
		fail: map[string]error{"C0QUIET001": errors.New("must not be read")}}
	res, err := b.CatchUp(context.Background(), h, bot.CatchUpOptions{})
	if err != nil || res.Answered != 1 {
		t.Errorf("%+v %v", res, err)
	}
	h.fail[cuChannel] = errors.New("channel_not_found")
	if _, err := b.CatchUp(context.Background(), h, bot.CatchUpOptions{}); err == nil || !strings.Contains(err.Error(), cuChannel) {
		t.Errorf("a failed channel must be reported by id: %v", err)
	}
}

func TestTSTime(t *testing.T) {
	for _, c := range []struct {
		ts   string
		want time.Time
		ok   bool
	}{
		{"1732365600.000100", time.Unix(1732365600, 100_000), true},
		{"1732365600.5", time.Unix(1732365600, 500_000_000), true},
		{"1732365600", time.Unix(1732365600, 0), true},
		{"", time.Time{}, false},
		{"x.1", time.Time{}, false},
		{"1.x", time.Time{}, false},
	} {
		got, ok := bot.TSTime(c.ts)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("TSTime(%q) = %v, %v; want %v, %v", c.ts, got, ok, c.want, c.ok)
		}
	}
}
