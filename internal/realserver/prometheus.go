package realserver

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/oombot/oombot/internal/sources"
)

// PromOptions say what a test Prometheus holds. Its TSDB is backfilled with
// promtool before the server starts, so queries see exactly these samples.
type PromOptions struct {
	// Series are written as OpenMetrics samples. The metric name is
	// Labels["__name__"] when set, else Signal; every other label is kept.
	Series []sources.Series
	// OpenMetrics is raw OpenMetrics text added after Series, without the
	// closing "# EOF" (it is added once, at the end).
	OpenMetrics string
	// Retention is --storage.tsdb.retention.time. The default, 10y, keeps
	// recorded incidents: Prometheus would otherwise delete blocks older
	// than its 15-day default retention at startup.
	Retention string
}

// Prom is a running Prometheus.
type Prom struct {
	// URL is the base URL (http://127.0.0.1:PORT) for API clients.
	URL string
	// Dir is the TSDB directory.
	Dir string
	p   *Process
}

// Stop kills the server and waits for it to exit, so a test can see how a
// client reports an unreachable Prometheus. It is safe to call more than
// once; t.Cleanup calls it too.
func (p *Prom) Stop() { p.p.Kill() }

// Output is what the server has printed so far.
func (p *Prom) Output() string { return p.p.Output() }

// promConfig has no scrape jobs: the only data is what was backfilled, and
// a scrape of Prometheus itself would add series tests do not expect.
const promConfig = "global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\n"

// Prometheus backfills a TSDB from o and starts Prometheus on it. It skips
// or fails the test (see Require) when prometheus or promtool is missing.
func Prometheus(t testing.TB, o PromOptions) *Prom {
	t.Helper()
	promBin := Require(t, "prometheus")
	promtool := Require(t, "promtool")
	if o.Retention == "" {
		o.Retention = "10y"
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	text, err := OpenMetrics(o.Series)
	if err != nil {
		t.Fatalf("realserver: %v", err)
	}
	text = append(text, o.OpenMetrics...)
	if len(text) > 0 && text[len(text)-1] != '\n' {
		text = append(text, '\n')
	}
	text = append(text, "# EOF\n"...)
	input := filepath.Join(dir, "input.om")
	writeFile(t, input, text)
	// The blocks are written straight into the TSDB directory: Prometheus
	// opens them at startup, before its head accepts anything, so their
	// age is no out-of-order problem.
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", input, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool backfill of %s: %v\n%s", input, err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, []byte(promConfig))
	p, base := start(t, "prometheus", promBin, func(addr string) []string {
		return []string{
			"--config.file=" + cfg,
			"--storage.tsdb.path=" + data,
			"--storage.tsdb.retention.time=" + o.Retention,
			"--web.listen-address=" + addr,
			"--log.level=warn",
		}
	})
	return &Prom{URL: base, Dir: data, p: p}
}

// OpenMetrics renders series as OpenMetrics text without the closing
// "# EOF": one family per metric name (OpenMetrics forbids interleaving
// families), samples in time order, timestamps in seconds. Families carry
// no TYPE line, so any name is accepted (a counter's samples would
// otherwise have to end in _total, a summary's in _sum/_count). NaN and
// infinite values are written as OpenMetrics spells them.
func OpenMetrics(series []sources.Series) ([]byte, error) {
	type entry struct {
		labels string
		s      sources.Series
	}
	families := map[string][]entry{}
	for i, s := range series {
		name := s.Labels["__name__"]
		if name == "" {
			name = s.Signal
		}
		if !validName(name) {
			return nil, fmt.Errorf("series %d: %q is not a valid metric name", i, name)
		}
		ls, err := labelSet(s.Labels)
		if err != nil {
			return nil, fmt.Errorf("series %d (%s): %w", i, name, err)
		}
		families[name] = append(families[name], entry{ls, s})
	}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		es := families[n]
		sort.SliceStable(es, func(i, j int) bool { return es[i].labels < es[j].labels })
		for _, e := range es {
			samples := append([]sources.Sample(nil), e.s.Samples...)
			sort.SliceStable(samples, func(i, j int) bool { return samples[i].T.Before(samples[j].T) })
			for k, p := range samples {
				if k > 0 && p.T.Equal(samples[k-1].T) {
					return nil, fmt.Errorf("%s%s: two samples at %s", n, e.labels, p.T)
				}
				fmt.Fprintf(&b, "%s%s %s %s\n", n, e.labels, formatValue(p.V),
					strconv.FormatFloat(float64(p.T.UnixMilli())/1000, 'f', -1, 64))
			}
		}
	}
	return b.Bytes(), nil
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// labelSet renders {a="x",b="y"} sorted by name, without __name__.
func labelSet(l map[string]string) (string, error) {
	keys := make([]string, 0, len(l))
	for k := range l {
		if k == "__name__" {
			continue
		}
		if !validName(k) || strings.Contains(k, ":") {
			return "", fmt.Errorf("%q is not a valid label name", k)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return "", nil
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + `="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(l[k]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// validName reports whether s is a metric or label name in the classic
// character set, which every Prometheus version accepts unquoted.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
