package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/chat"
)

func TestDeliveries(t *testing.T) {
	m, ctx, t0 := NewMemory(), context.Background(), time.Unix(1_700_000_000, 0)
	for i, c := range []struct {
		id    string
		at    time.Duration
		first bool
	}{
		{"Ev1", 0, true},
		{"Ev1", time.Second, false},        // Slack retry
		{"Ev2", time.Second, true},         // another event
		{"Ev1", 59 * time.Minute, false},   // still remembered
		{"Ev1", 61 * time.Minute, true},    // forgotten after ttl
		{"Ev1", 61*time.Minute + 1, false}, // remembered again
	} {
		got, err := m.FirstDelivery(ctx, c.id, t0.Add(c.at), time.Hour)
		if err != nil || got != c.first {
			t.Errorf("case %d (%s at %s): first=%v err=%v, want %v", i, c.id, c.at, got, err, c.first)
		}
	}
}

func TestClaimWorkload(t *testing.T) {
	m, ctx, t0 := NewMemory(), context.Background(), time.Unix(1_700_000_000, 0)
	a, b := chat.Ref{Channel: "C1", TS: "1.1"}, chat.Ref{Channel: "C1", TS: "2.2"}
	ok, got, _ := m.ClaimWorkload(ctx, "w", a, t0, 15*time.Minute)
	if !ok || got != a {
		t.Fatalf("first claim: %v %v", ok, got)
	}
	ok, got, _ = m.ClaimWorkload(ctx, "w", b, t0.Add(14*time.Minute), 15*time.Minute)
	if ok || got != a {
		t.Fatalf("claim inside window must point at the first thread: %v %v", ok, got)
	}
	ok, got, _ = m.ClaimWorkload(ctx, "w", b, t0.Add(16*time.Minute), 15*time.Minute)
	if !ok || got != b {
		t.Fatalf("claim after window: %v %v", ok, got)
	}
}

// TestClaimRace: many goroutines claim one key at once; exactly one wins.
func TestClaimRace(t *testing.T) {
	m, ctx, now := NewMemory(), context.Background(), time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, _ := m.ClaimWorkload(ctx, "w", chat.Ref{TS: fmt.Sprint(i)}, now, time.Minute)
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d winners", wins)
	}
}

func TestAlertThreadAndTriages(t *testing.T) {
	m, ctx, now := NewMemory(), context.Background(), time.Now()
	if _, ok, _ := m.AlertThread(ctx, "fp"); ok {
		t.Fatal("unknown fingerprint found")
	}
	_ = m.PutAlertThread(ctx, "fp", chat.Ref{TS: "1"}, now)
	_ = m.PutAlertThread(ctx, "fp", chat.Ref{TS: "2"}, now) // fired again
	if r, ok, _ := m.AlertThread(ctx, "fp"); !ok || r.TS != "2" {
		t.Fatalf("latest firing thread: %v %v", r, ok)
	}
	m.MaxTriages = 3
	for i := range 5 {
		_ = m.PutTriage(ctx, Triage{ID: fmt.Sprint(i)})
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok, _ := m.GetTriage(ctx, fmt.Sprint(i)); ok != want {
			t.Errorf("triage %d kept=%v want %v", i, ok, want)
		}
	}
}
