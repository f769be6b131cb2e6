package ddserver

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/sources"
)

type point struct {
	ms int64
	v  float64 // NaN is served as null
}

type storedSeries struct {
	metric string
	tags   []string
	points []point
}

// AddSeries stores a series of metric under tags ("key:value"). A NaN
// sample is served as null, as Datadog does for an empty rollup bucket.
func (s *Server) AddSeries(metric string, tags []string, samples []sources.Sample) {
	ps := make([]point, len(samples))
	for i, p := range samples {
		ps[i] = point{ms: p.T.UnixMilli(), v: p.V}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ms < ps[j].ms })
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series = append(s.series, storedSeries{metric: metric, tags: append([]string(nil), tags...), points: ps})
}

// TagsFromLabels maps Prometheus labels to the tags the Datadog Agent puts
// on Kubernetes metrics: namespace → kube_namespace, pod → pod_name,
// container → kube_container_name; any other label becomes key:value.
func TagsFromLabels(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		switch k {
		case "namespace":
			k = "kube_namespace"
		case "pod":
			k = "pod_name"
		case "container":
			k = "kube_container_name"
		}
		out = append(out, k+":"+v)
	}
	sort.Strings(out)
	return out
}

// ParsePromMatrix reads a Prometheus /api/v1/query_range response body (a
// bundle's metrics/<signal>.json) into series.
func ParsePromMatrix(data []byte) ([]sources.Series, error) {
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, fmt.Errorf("prometheus matrix: %w", err)
	}
	out := make([]sources.Series, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		ser := sources.Series{Labels: r.Metric}
		for _, v := range r.Values {
			ts, ok1 := v[0].(float64)
			str, ok2 := v[1].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("prometheus matrix: malformed value %v", v)
			}
			f, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return nil, fmt.Errorf("prometheus matrix: %w", err)
			}
			ser.Samples = append(ser.Samples, sources.Sample{T: time.UnixMilli(int64(math.Round(ts * 1000))).UTC(), V: f})
		}
		out = append(out, ser)
	}
	return out, nil
}

// metricQuery is a parsed v1 query: agg:metric{scope} [by {tags}] [op n].
type metricQuery struct {
	aggr, metric string
	scope        []string
	by           []string
	op           byte
	operand      float64
}

var queryRE = regexp.MustCompile(`^\s*(avg|sum|min|max):([A-Za-z0-9_.]+)\{([^}]*)\}(?:\s+by\s+\{([^}]*)\})?(?:\s*([*/])\s*([0-9.eE+-]+))?\s*$`)

func parseMetricQuery(q string) (metricQuery, error) {
	m := queryRE.FindStringSubmatch(q)
	if m == nil {
		return metricQuery{}, fmt.Errorf("error parsing query: unsupported query %q", q)
	}
	mq := metricQuery{aggr: m[1], metric: m[2]}
	for _, t := range strings.Split(m[3], ",") {
		if t = strings.TrimSpace(t); t != "" && t != "*" {
			mq.scope = append(mq.scope, t)
		}
	}
	for _, t := range strings.Split(m[4], ",") {
		if t = strings.TrimSpace(t); t != "" {
			mq.by = append(mq.by, t)
		}
	}
	if m[5] != "" {
		f, err := strconv.ParseFloat(m[6], 64)
		if err != nil || (m[5] == "/" && f == 0) {
			return metricQuery{}, fmt.Errorf("error parsing query: bad operand %q", m[6])
		}
		mq.op, mq.operand = m[5][0], f
	}
	return mq, nil
}

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}

func tagValue(tags []string, key string) (string, bool) {
	for _, x := range tags {
		if k, v, ok := strings.Cut(x, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// handleQuery serves GET /api/v1/query?from=&to=&query= (seconds).
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseInt(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid from/to: integers (seconds since the epoch) are required")
		return
	}
	query := q.Get("query")
	mq, err := parseMetricQuery(query)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	type group struct {
		tags []string
		vals map[int64][]float64
	}
	groups := map[string]*group{}
	s.mu.Lock()
	for _, ss := range s.series {
		if ss.metric != mq.metric {
			continue
		}
		ok := true
		for _, t := range mq.scope {
			if !hasTag(ss.tags, t) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		var gt []string
		for _, k := range mq.by {
			v, ok := tagValue(ss.tags, k)
			if !ok {
				v = "n/a" // Datadog's group for series without the tag
			}
			gt = append(gt, k+":"+v)
		}
		key := strings.Join(gt, ",")
		g := groups[key]
		if g == nil {
			g = &group{tags: gt, vals: map[int64][]float64{}}
			groups[key] = g
		}
		for _, p := range ss.points {
			if p.ms >= from*1000 && p.ms <= to*1000 {
				g.vals[p.ms] = append(g.vals[p.ms], p.v)
			}
		}
	}
	s.mu.Unlock()

	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	series := []map[string]any{}
	for _, k := range keys {
		g := groups[k]
		if len(g.vals) == 0 {
			continue
		}
		ts := make([]int64, 0, len(g.vals))
		for t := range g.vals {
			ts = append(ts, t)
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		pl := make([][2]any, 0, len(ts))
		for _, t := range ts {
			v, ok := aggregate(mq.aggr, g.vals[t])
			if ok && mq.op == '/' {
				v /= mq.operand
			} else if ok && mq.op == '*' {
				v *= mq.operand
			}
			if ok {
				pl = append(pl, [2]any{float64(t), v})
			} else {
				pl = append(pl, [2]any{float64(t), nil})
			}
		}
		scope := append(append([]string(nil), mq.scope...), g.tags...)
		expr := mq.metric + "{" + strings.Join(scope, ",") + "}"
		if mq.op != 0 {
			expr += " " + string(mq.op) + " " + strconv.FormatFloat(mq.operand, 'f', -1, 64)
		}
		series = append(series, map[string]any{
			"aggr":         mq.aggr,
			"display_name": mq.metric,
			"end":          ts[len(ts)-1] + 999,
			"expression":   expr,
			"interval":     1,
			"length":       len(pl),
			"metric":       mq.metric,
			"pointlist":    pl,
			"query_index":  0,
			"scope":        strings.Join(scope, ","),
			"start":        ts[0],
			"tag_set":      append([]string{}, g.tags...),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":    "ok",
		"res_type":  "time_series",
		"query":     query,
		"from_date": from * 1000,
		"to_date":   to * 1000,
		"group_by":  append([]string{}, mq.by...),
		"series":    series,
	})
}

// aggregate combines the values of several series at one timestamp; nulls
// (NaN) are skipped, and all-null is null.
func aggregate(aggr string, vs []float64) (float64, bool) {
	n := 0
	var acc float64
	for _, v := range vs {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case n == 0:
			acc = v
		case aggr == "sum" || aggr == "avg":
			acc += v
		case aggr == "min":
			acc = math.Min(acc, v)
		case aggr == "max":
			acc = math.Max(acc, v)
		}
		n++
	}
	if n == 0 {
		return 0, false
	}
	if aggr == "avg" {
		acc /= float64(n)
	}
	return acc, true
}
