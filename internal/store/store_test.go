package store

import (
	"context"
	"fmt"
	"testing"
)

// The contract every Store keeps is tested once, for all of them, by
// storetest (conformance_test.go). What is Memory's own: its size bound,
// so a long-running bot's memory stays flat.
func TestMemoryEvictsOldestTriages(t *testing.T) {
	m, ctx := NewMemory(), context.Background()
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
