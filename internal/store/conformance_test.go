package store_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/store"
	"github.com/oombot/oombot/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The in-memory store passes the same suite as the SQL stores.
func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return store.NewMemory() })
}
