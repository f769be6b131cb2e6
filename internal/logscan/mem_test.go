package logscan

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// allocsDuring runs f and returns the bytes it allocated and the peak heap
// growth seen by sampling runtime.MemStats every millisecond.
func allocsDuring(t *testing.T, f func()) (total, peak uint64) {
	t.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var maxHeap uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				maxHeap = max(maxHeap, m.HeapAlloc)
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	maxHeap = max(maxHeap, after.HeapAlloc)
	if maxHeap > before.HeapAlloc {
		peak = maxHeap - before.HeapAlloc
	}
	return after.TotalAlloc - before.TotalAlloc, peak
}
