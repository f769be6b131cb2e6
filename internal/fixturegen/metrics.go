package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
)

// JVMSample is one line the fixture programs' sampler thread writes.
type JVMSample struct {
	T               int64 `json:"t"`
	HeapUsed        int64 `json:"heapUsed"`
	HeapCommitted   int64 `json:"heapCommitted"`
	HeapMax         int64 `json:"heapMax"`
	OldGenUsed      int64 `json:"oldGenUsed"`
	NonHeapUsed     int64 `json:"nonHeapUsed"`
	MetaspaceUsed   int64 `json:"metaspaceUsed"`
	DirectUsed      int64 `json:"directUsed"`
	NettyDirectUsed int64 `json:"nettyDirectUsed"`
	ClassesLoaded   int64 `json:"classesLoaded"`
	Threads         int64 `json:"threads"`
	GCTimeMs        int64 `json:"gcTimeMs"`
	GCCount         int64 `json:"gcCount"`
}

// Point is one raw sample of one signal: Unix milliseconds and a value.
type Point struct {
	T int64
	V float64
}

// step is the query_range step: the samplers' period.
const stepMs = 250

// lookbackMs is how stale a sample may be and still answer a grid point.
const lookbackMs = 1000

// gcRateWindowMs is the window of the jvm_gc_pause_seconds rate, like rate(...[5s]).
const gcRateWindowMs = 5000

// readJSONL decodes one JSON value per line of path into fn. A truncated
// last line (the process was SIGKILLed mid-write) is skipped; any other bad
// line is an error naming its line number.
func readJSONL[T any](path string, fn func(T)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var pending error
	for n := 1; sc.Scan(); n++ {
		if pending != nil {
			return pending
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			pending = fmt.Errorf("%s:%d: %w", path, n, err)
			continue
		}
		fn(v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// JVMSignals turns sampler lines into the canonical JVM signals. Negative
// readings (a pool the collector does not have) are left out.
func JVMSignals(samples []JVMSample) map[string][]Point {
	out := map[string][]Point{}
	add := func(name string, t int64, v int64) {
		if v >= 0 {
			out[name] = append(out[name], Point{t, float64(v)})
		}
	}
	for _, s := range samples {
		add("jvm_heap_used", s.T, s.HeapUsed)
		add("jvm_heap_max", s.T, s.HeapMax)
		add("jvm_old_gen_used", s.T, s.OldGenUsed)
		add("jvm_nonheap_used", s.T, s.NonHeapUsed)
		add("jvm_metaspace_used", s.T, s.MetaspaceUsed)
		direct := s.DirectUsed
		if s.NettyDirectUsed >= 0 {
			// Netty's no-cleaner buffers bypass the JDK's BufferPoolMXBean.
			direct = s.NettyDirectUsed
		}
		add("jvm_direct_buffer_used", s.T, direct)
		add("jvm_classes_loaded", s.T, s.ClassesLoaded)
		add("jvm_threads_live", s.T, s.Threads)
	}
	// GC pause seconds per second over a trailing window.
	for i, s := range samples {
		j := i
		for j > 0 && s.T-samples[j-1].T <= gcRateWindowMs {
			j--
		}
		if j == i {
			continue
		}
		dt := float64(s.T-samples[j].T) / 1000
		out["jvm_gc_pause_seconds"] = append(out["jvm_gc_pause_seconds"],
			Point{s.T, float64(s.GCTimeMs-samples[j].GCTimeMs) / 1000 / dt})
	}
	return out
}

// CgroupSignals turns the runner's cgroup samples into working set and limit.
func CgroupSignals(samples []CgroupSample, limit int64) map[string][]Point {
	out := map[string][]Point{}
	for _, s := range samples {
		if s.Usage == 0 {
			continue // sampled before the shell joined the cgroup: cAdvisor would have no series yet
		}
		out["container_memory_working_set"] = append(out["container_memory_working_set"], Point{s.T, float64(s.WorkingSet)})
		out["container_memory_limit"] = append(out["container_memory_limit"], Point{s.T, float64(limit)})
	}
	return out
}

// Grid resamples raw points onto the query_range grid (multiples of stepMs)
// the way Prometheus evaluates an instant vector: each grid point takes the
// newest sample at or before it, if not older than lookbackMs. Points after
// until (when until > 0) are dropped.
func Grid(points []Point, until int64) []Point {
	if len(points) == 0 {
		return nil
	}
	sort.SliceStable(points, func(i, j int) bool { return points[i].T < points[j].T })
	end := points[len(points)-1].T
	if until > 0 && until < end {
		end = until
	}
	var out []Point
	first := (points[0].T + stepMs - 1) / stepMs * stepMs
	i := 0
	for g := first; g <= end; g += stepMs {
		for i+1 < len(points) && points[i+1].T <= g {
			i++
		}
		if points[i].T <= g && g-points[i].T <= lookbackMs {
			out = append(out, Point{g, points[i].V})
		}
	}
	return out
}

// Series labels.
type Series struct {
	Namespace, Pod, Container string
}

// QueryRangeJSON renders points as a Prometheus /api/v1/query_range body.
func QueryRangeJSON(labels Series, points []Point) ([]byte, error) {
	values := make([][2]any, 0, len(points))
	for _, p := range points {
		values = append(values, [2]any{
			json.Number(strconv.FormatFloat(float64(p.T)/1000, 'f', -1, 64)),
			formatValue(p.V),
		})
	}
	body := map[string]any{
		"status": "success",
		"data": map[string]any{
			"resultType": "matrix",
			"result": []any{map[string]any{
				"metric": map[string]string{"namespace": labels.Namespace, "pod": labels.Pod, "container": labels.Container},
				"values": values,
			}},
		},
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode query_range body: %w", err)
	}
	return append(b, '\n'), nil
}

// formatValue prints a sample value as Prometheus does: shortest float form,
// integers without exponent, rates rounded to microseconds.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}
