package ddserver

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Event is one Datadog event (Events Explorer).
type Event struct {
	// ID is assigned when empty.
	ID      string
	Time    time.Time
	Title   string
	Message string
	Tags    []string
	// Source is the source type ("kubernetes", "github", "alert"); a
	// source:<Source> tag is added when the tags lack one, as Datadog does.
	Source  string
	Status  string
	Service string
	// MonitorID is set on monitor transitions.
	MonitorID int64
	// EvtType is attributes.evt.type, e.g. "kubernetes_apiserver".
	EvtType string
}

// AddEvents stores events.
func (s *Server) AddEvents(events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if e.ID == "" {
			e.ID = encodeB64([]byte(s.newID("evt")))
		}
		e.Tags = append([]string(nil), e.Tags...)
		if _, ok := tagValue(e.Tags, "source"); !ok && e.Source != "" {
			e.Tags = append(e.Tags, "source:"+e.Source)
		}
		s.events = append(s.events, e)
	}
}

// handleEvents serves GET /api/v2/events.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	now := time.Now().UTC()
	from, err := parseTime(q.Get("filter[from]"), now.Add(-15*time.Minute))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	to, err := parseTime(q.Get("filter[to]"), now)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := 10
	if l := q.Get("page[limit]"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 1000 {
			writeErrors(w, http.StatusBadRequest, "page[limit] must be between 1 and 1000")
			return
		}
	}
	sortOrder := q.Get("sort")
	if sortOrder == "" {
		sortOrder = "-timestamp"
	}
	if sortOrder != "timestamp" && sortOrder != "-timestamp" {
		writeErrors(w, http.StatusBadRequest, "invalid sort "+sortOrder)
		return
	}
	query := q.Get("filter[query]")
	match, err := parseSearch(query)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid query: "+err.Error())
		return
	}
	fingerprint := fmt.Sprintf("%s|%s|%s|%s", query, from, to, sortOrder)
	offset, err := decodeCursor(q.Get("page[cursor]"), fingerprint)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	var hits []Event
	for _, e := range s.events {
		if e.Time.Before(from) || e.Time.After(to) {
			continue
		}
		d := doc{text: e.Title + "\n" + e.Message, tags: e.Tags,
			fields: map[string]string{"status": e.Status, "service": e.Service, "source": e.Source}}
		if match(d) {
			hits = append(hits, e)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Time.Before(hits[j].Time) })
	if sortOrder == "-timestamp" {
		for i, j := 0, len(hits)-1; i < j; i, j = i+1, j-1 {
			hits[i], hits[j] = hits[j], hits[i]
		}
	}
	end := min(offset+limit, len(hits))
	data := []map[string]any{}
	for _, e := range hits[min(offset, len(hits)):end] {
		inner := map[string]any{
			"evt":       map[string]any{"id": e.ID, "type": e.EvtType},
			"status":    e.Status,
			"timestamp": e.Time.UnixMilli(),
			"title":     e.Title,
		}
		if e.Service != "" {
			inner["service"] = e.Service
		}
		if e.MonitorID != 0 {
			inner["monitor_id"] = e.MonitorID
		}
		data = append(data, map[string]any{
			"id":   e.ID,
			"type": "event",
			"attributes": map[string]any{
				"attributes": inner,
				"message":    e.Message,
				"tags":       nonNil(e.Tags),
				"timestamp":  e.Time.UTC().Format(tsLayout),
			},
		})
	}
	next := ""
	if end < len(hits) {
		next = "&page%5Blimit%5D=" + strconv.Itoa(limit)
	}
	writeJSON(w, http.StatusOK, page(data, start, end < len(hits), cursor{Offset: end, Query: fingerprint}, PathEvents, next))
}
