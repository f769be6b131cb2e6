package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/sources"
)

// LogStore replays logstore/<name>.log as a log search: what a log store
// (Datadog, Loki) returned when the bundle was recorded.
type LogStore struct {
	b    *Bundle
	name string
}

// LogStoreReplays returns one replay per recorded log store, by name.
func (b *Bundle) LogStoreReplays() []*LogStore {
	names := make([]string, 0, len(b.LogStores))
	for n := range b.LogStores {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*LogStore, 0, len(names))
	for _, n := range names {
		out = append(out, &LogStore{b: b, name: n})
	}
	return out
}

// Name is "bundle/<store>".
func (l *LogStore) Name() string { return "bundle/" + l.name }

// SearchLogs returns the recorded lines, capped at q.MaxBytes.
func (l *LogStore) SearchLogs(ctx context.Context, q sources.LogQuery) (sources.LogResult, error) {
	rc, err := l.b.Open(l.b.LogStores[l.name])
	if err != nil {
		return sources.LogResult{}, err
	}
	defer rc.Close()
	limit := q.MaxBytes
	if limit <= 0 {
		limit = 8 << 20
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return sources.LogResult{}, fmt.Errorf("%s: %w", l.b.LogStores[l.name], err)
	}
	res := sources.LogResult{Query: "replay of " + l.b.LogStores[l.name]}
	if int64(len(data)) > limit {
		data, res.Truncated = data[:limit], true
	}
	res.Text, res.Lines = data, strings.Count(string(data), "\n")
	return res, ctx.Err()
}

// EventReplay replays events/external.json as an event source.
type EventReplay struct{ b *Bundle }

// EventsReplay returns the replay, or nil when the bundle has no external
// events.
func (b *Bundle) EventsReplay() *EventReplay {
	if b.ExternalEvents == "" {
		return nil
	}
	return &EventReplay{b: b}
}

// Name is "bundle/events".
func (EventReplay) Name() string { return "bundle/events" }

// Events returns the recorded events inside [start, end].
func (r *EventReplay) Events(_ context.Context, _ sources.Target, start, end time.Time) ([]sources.Event, error) {
	data, err := r.b.ReadFile(r.b.ExternalEvents)
	if err != nil {
		return nil, err
	}
	var all []sources.Event
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("%s: %w", r.b.ExternalEvents, err)
	}
	var out []sources.Event
	for _, e := range all {
		if !e.Time.Before(start) && !e.Time.After(end) {
			out = append(out, e)
		}
	}
	return out, nil
}
