// Package storetest is the conformance suite every store.Store passes: the
// in-memory store, SQLite and PostgreSQL run the same tests, so the bot
// behaves the same whichever one production configures.
//
// Times are injected (the suite never sleeps), so window and ttl edges are
// checked to the nanosecond.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/report"
	"github.com/oombot/oombot/internal/store"
)

// t0 is the suite's clock origin.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the suite. open returns a new, empty store for each subtest;
// Run closes it (and checks Close's error), so open must not.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"FirstDelivery", testFirstDelivery},
		{"ClaimWorkload", testClaimWorkload},
		{"AlertThread", testAlertThread},
		{"TriageRoundTrip", testTriageRoundTrip},
		{"TriageReplace", testTriageReplace},
		{"HistoryFilter", testHistoryFilter},
		{"HistoryOrderAndLimit", testHistoryOrderAndLimit},
		{"FeedbackStats", testFeedbackStats},
		{"FeedbackStatsSince", testFeedbackStatsSince},
		{"Prune", testPrune},
		{"Ping", func(t *testing.T, s store.Store) {
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, fresh(t)) })
	}
	t.Run("Races", func(t *testing.T) {
		s := fresh(t)
		Races(t, s, s)
	})
	t.Run("Close", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

func testFirstDelivery(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, c := range []struct {
		id    string
		at    time.Duration
		first bool
	}{
		{"Ev1", 0, true},
		{"Ev1", time.Second, false},      // Slack retry
		{"Ev2", time.Second, true},       // another event
		{"Ev1", 59 * time.Minute, false}, // still remembered
		{"Ev1", time.Hour - 1, false},    // last nanosecond of the ttl
		{"Ev1", time.Hour, true},         // forgotten exactly at the ttl
		{"Ev1", time.Hour + 1, false},    // remembered again, for a new ttl
		{"Ev2", 2 * time.Hour, true},
	} {
		got, err := s.FirstDelivery(ctx, c.id, t0.Add(c.at), time.Hour)
		if err != nil || got != c.first {
			t.Errorf("case %d (%s at +%s): first=%v err=%v, want %v", i, c.id, c.at, got, err, c.first)
		}
	}
}

func testClaimWorkload(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := chat.Ref{Channel: "C1", TS: "1.1", Permalink: "https://x.slack.com/archives/C1/p11"}
	b := chat.Ref{Channel: "C1", TS: "2.2"}
	c := chat.Ref{Channel: "C2", TS: "3.3"}
	const w = 15 * time.Minute
	for i, st := range []struct {
		key    string
		thread chat.Ref
		at     time.Duration
		ok     bool
		want   chat.Ref
	}{
		{"shop/checkout", a, 0, true, a},
		{"shop/checkout", b, 14 * time.Minute, false, a}, // inside the window: points at the first thread
		{"shop/cart", c, 14 * time.Minute, true, c},      // another workload is independent
		{"shop/checkout", b, w - 1, false, a},
		{"shop/checkout", b, w, true, b}, // the window has ended
		{"shop/checkout", a, w + time.Minute, false, b},
	} {
		ok, got, err := s.ClaimWorkload(ctx, st.key, st.thread, t0.Add(st.at), w)
		if err != nil || ok != st.ok || got != st.want {
			t.Errorf("step %d (%s at +%s): ok=%v thread=%+v err=%v, want ok=%v thread=%+v", i, st.key, st.at, ok, got, err, st.ok, st.want)
		}
	}
}

func testAlertThread(t *testing.T, s store.Store) {
	ctx := context.Background()
	if r, ok, err := s.AlertThread(ctx, "fp"); ok || err != nil {
		t.Fatalf("unknown fingerprint: %+v %v %v", r, ok, err)
	}
	first := chat.Ref{Channel: "C1", TS: "1", Permalink: "https://x.slack.com/p1"}
	again := chat.Ref{Channel: "C1", TS: "2"}
	must(t, s.PutAlertThread(ctx, "fp", first, t0))
	must(t, s.PutAlertThread(ctx, "other", chat.Ref{Channel: "C9", TS: "9"}, t0))
	if r, ok, err := s.AlertThread(ctx, "fp"); !ok || err != nil || r != first {
		t.Fatalf("AlertThread = %+v %v %v, want %+v", r, ok, err, first)
	}
	must(t, s.PutAlertThread(ctx, "fp", again, t0.Add(time.Hour))) // fired again
	if r, ok, err := s.AlertThread(ctx, "fp"); !ok || err != nil || r != again {
		t.Fatalf("after firing again: %+v %v %v, want the latest thread %+v", r, ok, err, again)
	}
}

// sampleReport is a report with every part the bot reads back set.
func sampleReport(workload, playbook string, conf float64) *report.Report {
	r := &report.Report{
		Schema:   "oombot.report/v1",
		Target:   evidence.Target{Cluster: "prod", Namespace: "shop", Pod: workload + "-7d9f-x2x", WorkloadName: workload},
		FiredAt:  t0.Add(-time.Minute),
		Verdict:  "Killed by the kernel: heap grew past the limit",
		Facts:    report.Facts{Restarts: 3, MemoryLimitBytes: 1 << 30, IsJVM: true},
		Warnings: []string{"no GC log"},
		Evidence: &evidence.Evidence{Target: evidence.Target{Namespace: "shop", Pod: workload + "-7d9f-x2x"}},
	}
	if playbook != "" {
		r.Matches = []report.Match{{ID: playbook, Title: playbook + " title", Summary: "why", Confidence: conf}}
	}
	return r
}

func testTriageRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, ok, err := s.GetTriage(ctx, "nope"); ok || err != nil {
		t.Fatalf("unknown triage: %v %v", ok, err)
	}
	want := store.Triage{ID: "t1", Cluster: "prod", Namespace: "shop", Pod: "checkout-7d9f-x2x", Workload: "checkout",
		Container: "app", Alert: "KubePodOOMKilled shop/checkout",
		Thread: chat.Ref{Channel: "C1", TS: "1700000000.000100", Permalink: "https://x.slack.com/p1"},
		Report: sampleReport("checkout", "heap-leak", 0.8), At: t0.Add(123456789)}
	must(t, s.PutTriage(ctx, want))
	must(t, s.PutTriage(ctx, store.Triage{ID: "bare", At: t0}))
	got, ok, err := s.GetTriage(ctx, "t1")
	if !ok || err != nil {
		t.Fatalf("GetTriage: %v %v", ok, err)
	}
	sameTriage(t, got, want)
	got, ok, err = s.GetTriage(ctx, "bare")
	if !ok || err != nil || got.Report != nil || !got.At.Equal(t0) {
		t.Fatalf("triage without a report: %+v %v %v", got, ok, err)
	}
}

// PutTriage again under the same id replaces it (the bot does, once it
// knows the thread) without losing its feedback.
func testTriageReplace(t *testing.T, s store.Store) {
	ctx := context.Background()
	tr := store.Triage{ID: "t1", Namespace: "shop", Pod: "p", Report: sampleReport("checkout", "heap-leak", 0.8), At: t0}
	must(t, s.PutTriage(ctx, tr))
	must(t, s.PutFeedback(ctx, store.Feedback{TriageID: "t1", User: "U1", Judgement: store.Helpful, Playbook: "heap-leak", At: t0}))
	tr.Thread = chat.Ref{Channel: "C1", TS: "5.5"}
	must(t, s.PutTriage(ctx, tr))
	got, ok, err := s.GetTriage(ctx, "t1")
	if !ok || err != nil || got.Thread != tr.Thread {
		t.Fatalf("replaced triage: thread %+v %v %v, want %+v", got.Thread, ok, err, tr.Thread)
	}
	stats, err := s.FeedbackStats(ctx, time.Time{})
	must(t, err)
	if want := []store.PlaybookStats{{Playbook: "heap-leak", Triages: 1, Judged: 1, Helpful: 1}}; !reflect.DeepEqual(stats, want) {
		t.Fatalf("stats after replacing = %+v, want %+v", stats, want)
	}
}

func testHistoryFilter(t *testing.T, s store.Store) {
	ctx := context.Background()
	put := func(id, cluster, ns, pod, workload, resolved string, at time.Duration) {
		t.Helper()
		tr := store.Triage{ID: id, Cluster: cluster, Namespace: ns, Pod: pod, Workload: workload, At: t0.Add(at)}
		if resolved != "" {
			tr.Report = sampleReport(resolved, "heap-leak", 0.5)
		}
		must(t, s.PutTriage(ctx, tr))
	}
	// The workload key is the resolved owner, else the requested
	// workload, else the pod.
	put("owner", "prod", "shop", "checkout-1", "", "checkout", 0)
	put("requested", "prod", "shop", "checkout-2", "checkout", "", time.Minute)
	put("pod-only", "prod", "shop", "checkout", "", "", 2*time.Minute)
	put("other-cluster", "stage", "shop", "checkout-3", "", "checkout", 3*time.Minute)
	put("other-ns", "prod", "pay", "checkout-4", "", "checkout", 4*time.Minute)
	put("other-workload", "prod", "shop", "cart-1", "", "cart", 5*time.Minute)
	put("old", "prod", "shop", "checkout-5", "", "checkout", -48*time.Hour)
	for _, c := range []struct {
		name string
		q    store.HistoryQuery
		want []string
	}{
		{"any cluster and namespace", store.HistoryQuery{Workload: "checkout"},
			[]string{"other-ns", "other-cluster", "pod-only", "requested", "owner", "old"}},
		{"cluster", store.HistoryQuery{Workload: "checkout", Cluster: "prod"},
			[]string{"other-ns", "pod-only", "requested", "owner", "old"}},
		{"cluster and namespace", store.HistoryQuery{Workload: "checkout", Cluster: "prod", Namespace: "shop"},
			[]string{"pod-only", "requested", "owner", "old"}},
		{"since is inclusive", store.HistoryQuery{Workload: "checkout", Namespace: "shop", Since: t0},
			[]string{"other-cluster", "pod-only", "requested", "owner"}},
		{"since after all", store.HistoryQuery{Workload: "checkout", Since: t0.Add(time.Hour)}, nil},
		{"unknown workload", store.HistoryQuery{Workload: "nope"}, nil},
		{"workload is not a prefix", store.HistoryQuery{Workload: "check"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.History(ctx, c.q)
			must(t, err)
			if ids := idsOf(got); !reflect.DeepEqual(ids, c.want) {
				t.Errorf("History(%+v) = %v, want %v", c.q, ids, c.want)
			}
		})
	}
	got, err := s.History(ctx, store.HistoryQuery{Workload: "checkout", Cluster: "prod", Namespace: "shop"})
	must(t, err)
	if len(got) != 4 || got[0].Report != nil || got[0].Workload != "" || got[0].Pod != "checkout" || !got[0].At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("History returns whole triages: %+v", got)
	}
}

func testHistoryOrderAndLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	// 105 triages, one a minute, with two pairs at equal times: equal
	// times come newest-inserted first.
	var want []string
	for i := range 105 {
		at := time.Duration(i) * time.Minute
		if i == 50 || i == 104 {
			at -= time.Minute
		}
		id := fmt.Sprintf("t%03d", i)
		must(t, s.PutTriage(ctx, store.Triage{ID: id, Namespace: "shop", Workload: "checkout", At: t0.Add(at)}))
		want = append([]string{id}, want...)
	}
	for _, c := range []struct {
		limit int
		want  []string
	}{
		{0, want[:100]}, // the default
		{1, want[:1]},
		{3, want[:3]},
		{200, want},
	} {
		got, err := s.History(ctx, store.HistoryQuery{Workload: "checkout", Limit: c.limit})
		must(t, err)
		if ids := idsOf(got); !reflect.DeepEqual(ids, c.want) {
			t.Errorf("limit %d: got %d triages %v…, want %d %v…", c.limit, len(ids), head(ids), len(c.want), head(c.want))
		}
	}
}

func testFeedbackStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	stats, err := s.FeedbackStats(ctx, time.Time{})
	must(t, err)
	if len(stats) != 0 {
		t.Fatalf("empty store: %+v", stats)
	}
	put := func(id, playbook string) {
		t.Helper()
		must(t, s.PutTriage(ctx, store.Triage{ID: id, Namespace: "shop", Pod: id, Report: sampleReport("w", playbook, 0.7), At: t0}))
	}
	fb := func(id, user, judgement string, at time.Duration) {
		t.Helper()
		must(t, s.PutFeedback(ctx, store.Feedback{TriageID: id, User: user, Judgement: judgement, Playbook: "as-clicked", At: t0.Add(at)}))
	}
	put("a1", "heap-leak")
	put("a2", "heap-leak")
	put("a3", "heap-leak")
	put("b1", "heap-dump")
	put("n1", "") // nothing matched: "none"
	must(t, s.PutTriage(ctx, store.Triage{ID: "r1", Pod: "r1", At: t0}))
	fb("a1", "U1", store.Helpful, 1)
	fb("a1", "U2", store.Wrong, 2)
	fb("a1", "U2", store.Helpful, 3) // U2 changed their mind: counted once, as helpful
	fb("a2", "U1", store.Wrong, 4)
	fb("b1", "U1", store.Helpful, 5)
	fb("gone", "U1", store.Wrong, 6) // a triage the store does not know
	stats, err = s.FeedbackStats(ctx, time.Time{})
	must(t, err)
	want := []store.PlaybookStats{
		{Playbook: "heap-dump", Triages: 1, Judged: 1, Helpful: 1},
		{Playbook: "heap-leak", Triages: 3, Judged: 2, Helpful: 2, Wrong: 1},
		{Playbook: "none", Triages: 2},
	}
	if !reflect.DeepEqual(stats, want) {
		t.Fatalf("FeedbackStats =\n%+v\nwant\n%+v", stats, want)
	}
	for i, p := range []float64{1, 2.0 / 3, -1} {
		if got := stats[i].Precision(); got != p {
			t.Errorf("%s precision = %v, want %v", stats[i].Playbook, got, p)
		}
	}
}

// Stats count triages since the given time, with all their feedback
// whenever it was given; feedback on older triages does not count.
func testFeedbackStatsSince(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutTriage(ctx, store.Triage{ID: "old", Pod: "p", Report: sampleReport("w", "heap-leak", 0.7), At: t0.Add(-31 * 24 * time.Hour)}))
	must(t, s.PutTriage(ctx, store.Triage{ID: "edge", Pod: "p", Report: sampleReport("w", "heap-leak", 0.7), At: t0}))
	must(t, s.PutTriage(ctx, store.Triage{ID: "new", Pod: "p", Report: sampleReport("w", "heap-leak", 0.7), At: t0.Add(time.Hour)}))
	for _, id := range []string{"old", "edge", "new"} {
		must(t, s.PutFeedback(ctx, store.Feedback{TriageID: id, User: "U1", Judgement: store.Wrong, At: t0.Add(2 * time.Hour)}))
	}
	stats, err := s.FeedbackStats(ctx, t0)
	must(t, err)
	if want := []store.PlaybookStats{{Playbook: "heap-leak", Triages: 2, Judged: 2, Wrong: 2}}; !reflect.DeepEqual(stats, want) {
		t.Fatalf("FeedbackStats(since t0) = %+v, want %+v", stats, want)
	}
	stats, err = s.FeedbackStats(ctx, t0.Add(2*time.Hour))
	must(t, err)
	if len(stats) != 0 {
		t.Fatalf("FeedbackStats after every triage = %+v, want none", stats)
	}
}

func testPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	cut := t0.Add(24 * time.Hour)
	// Before the cut.
	must(t, s.PutTriage(ctx, store.Triage{ID: "old", Pod: "p", Report: sampleReport("w", "heap-leak", 0.7), At: t0}))
	_, err := s.FirstDelivery(ctx, "ev-old", t0, time.Hour)
	must(t, err)
	_, _, err = s.ClaimWorkload(ctx, "claim-old", chat.Ref{TS: "1"}, t0, time.Hour)
	must(t, err)
	must(t, s.PutAlertThread(ctx, "fp-old", chat.Ref{TS: "1"}, t0))
	// At or after the cut: kept.
	must(t, s.PutTriage(ctx, store.Triage{ID: "new", Pod: "p", Report: sampleReport("w", "heap-leak", 0.7), At: cut}))
	must(t, s.PutTriage(ctx, store.Triage{ID: "newer", Pod: "p", Report: sampleReport("w", "heap-dump", 0.7), At: cut.Add(time.Hour)}))
	_, err = s.FirstDelivery(ctx, "ev-new", cut.Add(-time.Minute), time.Hour) // expires after the cut
	must(t, err)
	_, _, err = s.ClaimWorkload(ctx, "claim-new", chat.Ref{TS: "2"}, cut.Add(-time.Minute), time.Hour)
	must(t, err)
	must(t, s.PutAlertThread(ctx, "fp-new", chat.Ref{TS: "2"}, cut))
	// Feedback: on a pruned triage, old feedback on a kept triage (also
	// forgotten), and fresh feedback.
	must(t, s.PutFeedback(ctx, store.Feedback{TriageID: "old", User: "U1", Judgement: store.Helpful, At: cut.Add(time.Hour)}))
	must(t, s.PutFeedback(ctx, store.Feedback{TriageID: "new", User: "U1", Judgement: store.Helpful, At: t0}))
	must(t, s.PutFeedback(ctx, store.Feedback{TriageID: "new", User: "U2", Judgement: store.Wrong, At: cut}))
	must(t, s.PutFeedback(ctx, store.Feedback{TriageID: "newer", User: "U1", Judgement: store.Wrong, At: cut}))

	must(t, s.Prune(ctx, cut))

	for id, want := range map[string]bool{"old": false, "new": true, "newer": true} {
		if _, ok, err := s.GetTriage(ctx, id); ok != want || err != nil {
			t.Errorf("triage %s kept=%v (%v), want %v", id, ok, err, want)
		}
	}
	stats, err := s.FeedbackStats(ctx, time.Time{})
	must(t, err)
	want := []store.PlaybookStats{
		{Playbook: "heap-dump", Triages: 1, Judged: 1, Wrong: 1},
		{Playbook: "heap-leak", Triages: 1, Judged: 1, Wrong: 1},
	}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("stats after prune = %+v, want %+v", stats, want)
	}
	// A forgotten delivery or claim is new again even inside its old ttl;
	// the kept ones are not.
	if first, err := s.FirstDelivery(ctx, "ev-old", t0.Add(time.Minute), time.Hour); !first || err != nil {
		t.Errorf("pruned delivery: first=%v %v, want true", first, err)
	}
	if first, err := s.FirstDelivery(ctx, "ev-new", cut, time.Hour); first || err != nil {
		t.Errorf("kept delivery: first=%v %v, want false", first, err)
	}
	if ok, _, err := s.ClaimWorkload(ctx, "claim-old", chat.Ref{TS: "3"}, t0.Add(time.Minute), time.Hour); !ok || err != nil {
		t.Errorf("pruned claim: ok=%v %v, want true", ok, err)
	}
	if ok, th, err := s.ClaimWorkload(ctx, "claim-new", chat.Ref{TS: "3"}, cut, time.Hour); ok || th.TS != "2" || err != nil {
		t.Errorf("kept claim: ok=%v thread=%+v %v, want held by TS 2", ok, th, err)
	}
	if _, ok, err := s.AlertThread(ctx, "fp-old"); ok || err != nil {
		t.Errorf("pruned alert thread still found: %v %v", ok, err)
	}
	if r, ok, err := s.AlertThread(ctx, "fp-new"); !ok || r.TS != "2" || err != nil {
		t.Errorf("kept alert thread: %+v %v %v", r, ok, err)
	}
}

// Races checks that claims and deliveries are atomic: 64 goroutines on
// each of a and b (two replicas sharing one database, or the same store
// twice) claim one key and record one delivery at the same instant;
// exactly one of them wins each, and every loser is pointed at the
// winner's thread.
func Races(t *testing.T, a, b store.Store) {
	t.Helper()
	ctx := context.Background()
	const per = 64
	type result struct {
		ok     bool
		thread chat.Ref
		err    error
	}
	now := t0
	for round := range 3 {
		// Each round starts after the previous window, so the key is
		// taken over from an expired claim, not inserted.
		now = now.Add(time.Duration(round) * time.Hour)
		key, id := "shop/checkout", fmt.Sprintf("Ev%d", round)
		var wg sync.WaitGroup
		claims := make([]result, 2*per)
		firsts := make([]result, 2*per)
		start := make(chan struct{})
		for i := range 2 * per {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				th := chat.Ref{Channel: "C1", TS: fmt.Sprintf("%d.%d", round, i)}
				ok, got, err := s.ClaimWorkload(ctx, key, th, now, time.Minute)
				claims[i] = result{ok: ok, thread: got, err: err}
				first, err := s.FirstDelivery(ctx, id, now, time.Minute)
				firsts[i] = result{ok: first, err: err}
			}()
		}
		close(start)
		wg.Wait()
		var winners []chat.Ref
		deliveries := 0
		for i := range claims {
			if claims[i].err != nil || firsts[i].err != nil {
				t.Fatalf("round %d goroutine %d: claim err %v, delivery err %v", round, i, claims[i].err, firsts[i].err)
			}
			if claims[i].ok {
				winners = append(winners, claims[i].thread)
			}
			if firsts[i].ok {
				deliveries++
			}
		}
		if len(winners) != 1 || deliveries != 1 {
			t.Fatalf("round %d: %d claim winners %v and %d first deliveries, want exactly 1 each", round, len(winners), winners, deliveries)
		}
		for i, c := range claims {
			if c.thread != winners[0] {
				t.Errorf("round %d goroutine %d was pointed at %+v, not the winner's thread %+v", round, i, c.thread, winners[0])
			}
		}
	}
}

// sameTriage compares triages: times by instant, reports by their JSON
// (what is stored; Chart is not part of it).
func sameTriage(t *testing.T, got, want store.Triage) {
	t.Helper()
	if !got.At.Equal(want.At) {
		t.Errorf("At = %s, want %s", got.At, want.At)
	}
	gr, wr := got.Report, want.Report
	got.At, want.At, got.Report, want.Report = time.Time{}, time.Time{}, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("triage =\n%+v\nwant\n%+v", got, want)
	}
	gj, err1 := json.Marshal(gr)
	wj, err2 := json.Marshal(wr)
	if err1 != nil || err2 != nil || string(gj) != string(wj) {
		t.Errorf("report =\n%s\nwant\n%s", gj, wj)
	}
}

func idsOf(ts []store.Triage) []string {
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func head(ids []string) []string {
	if len(ids) > 5 {
		return ids[:5]
	}
	return ids
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
