package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/realserver"
	"github.com/oombot/oombot/internal/store"
)

// benchStores runs bench on the in-memory store first, then SQLite and
// PostgreSQL, each in its own sub-benchmark, so the SQL stores can report
// their cost as a multiple of memory's from the same run (metric
// x-memory). A missing PostgreSQL skips only its sub-benchmark.
func benchStores(b *testing.B, bench func(b *testing.B, s store.Store, baseline map[string]float64)) {
	baseline := map[string]float64{}
	b.Run("memory", func(b *testing.B) { bench(b, store.NewMemory(), baseline) })
	b.Run("sqlite", func(b *testing.B) {
		s, err := OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		bench(b, s, baseline)
	})
	b.Run("postgres", func(b *testing.B) {
		pg := realserver.Postgres(b)
		s, err := OpenPostgres(context.Background(), pg.DSN, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		bench(b, s, baseline)
	})
}

// loop runs op b.N times (via b.Loop) and records or compares ns/op: the
// memory store's sets the baseline for key, the others report their ratio.
func loop(b *testing.B, s store.Store, baseline map[string]float64, key string, op func(i int)) {
	n := 0
	for b.Loop() {
		op(n)
		n++
	}
	per := float64(b.Elapsed().Nanoseconds()) / float64(n)
	if _, isMemory := s.(*store.Memory); isMemory {
		baseline[key] = per
		return
	}
	if base := baseline[key]; base > 0 {
		b.ReportMetric(per/base, "x-memory")
	}
}

// BenchmarkClaimWorkload: claiming a workload nobody holds (the first
// alert) and one that is held (a duplicate alert: the loser also reads the
// holder's thread).
func BenchmarkClaimWorkload(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store, baseline map[string]float64) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		th := chat.Ref{Channel: "C0ALERTS01", TS: "1772362800.000100"}
		run := 0
		b.Run("free", func(b *testing.B) {
			// Keys must be new in every round b.Loop's ramp-up makes, and
			// time moves on so that earlier claims expire as in
			// production (the memory store scans for expired claims once
			// it holds 10000; with none expired that scan dominates).
			run++
			loop(b, s, baseline, "free", func(i int) {
				at := now.Add(time.Duration(i) * 16 * time.Minute)
				if ok, _, err := s.ClaimWorkload(ctx, fmt.Sprintf("prod/shop/w%d-%d", run, i), th, at, 15*time.Minute); err != nil || !ok {
					b.Fatalf("claim: %v %v", ok, err)
				}
			})
		})
		if _, _, err := s.ClaimWorkload(ctx, "prod/shop/held", th, now, time.Hour); err != nil {
			b.Fatal(err)
		}
		b.Run("held", func(b *testing.B) {
			loop(b, s, baseline, "held", func(int) {
				if ok, got, err := s.ClaimWorkload(ctx, "prod/shop/held", chat.Ref{TS: "2"}, now, 15*time.Minute); err != nil || ok || got != th {
					b.Fatalf("claim of a held key: %v %v %v", ok, got, err)
				}
			})
		})
	})
}

// BenchmarkPutTriage stores a real report (image-decode-bomb: 30 KB of
// JSON, gzipped by the SQL stores).
func BenchmarkPutTriage(b *testing.B) {
	rep := bundletest.Triage(b, incident)
	benchStores(b, func(b *testing.B, s store.Store, baseline map[string]float64) {
		ctx := context.Background()
		run := 0
		b.Run("report", func(b *testing.B) {
			run++
			loop(b, s, baseline, "report", func(i int) {
				t := store.Triage{ID: fmt.Sprintf("t%d-%d", run, i), Cluster: "prod", Namespace: "shop", Pod: rep.Target.Pod,
					Thread: chat.Ref{Channel: "C0ALERTS01", TS: "1772362800.000100"}, Report: rep, At: rep.FiredAt}
				if err := s.PutTriage(ctx, t); err != nil {
					b.Fatal(err)
				}
			})
		})
	})
}
