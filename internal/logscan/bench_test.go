package logscan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/logscan/internal/genlog"
)

// benchLog is the input of BenchmarkScan: the file named by
// $OOMBOT_BENCH_LOG (see scripts/bench-logscan.sh), else a 16 MiB log
// generated in memory. want holds what genlog planted, when known (the
// script stores it beside the log as <log>.json).
type benchLog struct {
	path string
	data []byte
	size int64
	want *genlog.Stats
}

var (
	benchOnce  sync.Once
	benchInput benchLog
	benchErr   error
)

func loadBenchLog(b *testing.B) benchLog {
	benchOnce.Do(func() {
		if p := os.Getenv("OOMBOT_BENCH_LOG"); p != "" {
			fi, err := os.Stat(p)
			if err != nil {
				benchErr = fmt.Errorf("OOMBOT_BENCH_LOG: %w", err)
				return
			}
			benchInput = benchLog{path: p, size: fi.Size()}
			if js, err := os.ReadFile(p + ".json"); err == nil {
				var st genlog.Stats
				if err := json.Unmarshal(js, &st); err != nil {
					benchErr = fmt.Errorf("%s.json: %w", p, err)
					return
				}
				benchInput.want = &st
			}
			return
		}
		var buf bytes.Buffer
		st, err := genlog.Write(&buf, genlog.Config{Size: 16 << 20, Seed: 1})
		if err != nil {
			benchErr = err
			return
		}
		benchInput = benchLog{data: buf.Bytes(), size: int64(buf.Len()), want: &st}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	if benchInput.path == "" {
		b.Logf("OOMBOT_BENCH_LOG is not set: using a %d MiB log generated in memory (run scripts/bench-logscan.sh for the 128 MiB file and the grep comparison)", benchInput.size>>20)
	}
	return benchInput
}

func (l benchLog) open(b *testing.B) (io.Reader, func()) {
	if l.path == "" {
		return bytes.NewReader(l.data), func() {}
	}
	f, err := os.Open(l.path)
	if err != nil {
		b.Fatal(err)
	}
	return f, func() { f.Close() }
}

func runScanBench(b *testing.B, opt Options) {
	in := loadBenchLog(b)
	b.SetBytes(in.size)
	b.ReportAllocs()
	var res Result
	start := time.Now()
	best := time.Duration(1<<63 - 1)
	for b.Loop() {
		t0 := time.Now()
		r, done := in.open(b)
		var err error
		res, err = Scan(context.Background(), r, opt)
		done()
		if err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(t0))
	}
	elapsed := time.Since(start)
	// Wall-clock throughput including opening the file: the mean, and the
	// fastest run, which scripts/bench-logscan.sh compares with the best
	// of three grep runs (on a shared machine the best is the least noisy).
	b.ReportMetric(float64(in.size)*float64(b.N)/elapsed.Seconds()/1e6, "wallMB/s")
	b.ReportMetric(float64(in.size)/best.Seconds()/1e6, "bestMB/s")
	if in.want != nil {
		oom, leak := 0, 0
		for _, t := range res.Traces {
			if t.Kind == KindLeak {
				leak++
			} else {
				oom++
			}
		}
		if oom != in.want.OOMs || leak != in.want.Leaks || res.Lines != in.want.Lines || res.Dropped != 0 {
			b.Fatalf("found %d OOMs, %d leaks in %d lines (dropped %d); genlog planted %d, %d in %d lines",
				oom, leak, res.Lines, res.Dropped, in.want.OOMs, in.want.Leaks, in.want.Lines)
		}
	}
}

// BenchmarkScan measures throughput on a large generated log.
func BenchmarkScan(b *testing.B) {
	runScanBench(b, Options{})
}

// BenchmarkScanGCNeedles also hands every GC log line to OnLine, as a
// caller parsing GC lines from the same container log would.
func BenchmarkScanGCNeedles(b *testing.B) {
	var n int64
	runScanBench(b, Options{
		ExtraNeedles: [][]byte{[]byte("GC(")},
		OnLine:       func(int64, []byte) { n++ },
	})
	if in := loadBenchLog(b); in.want != nil && n != in.want.GCLines*int64(b.N) {
		b.Fatalf("OnLine saw %d GC lines over %d runs, genlog wrote %d per run", n, b.N, in.want.GCLines)
	}
}
