package ddserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// LogEvent is one log event as Datadog stores it after its pipelines ran.
type LogEvent struct {
	// ID is assigned when empty.
	ID        string
	Timestamp time.Time
	Message   string
	// Status is the log level as remapped ("error", "info", ...).
	Status  string
	Service string
	Host    string
	// Tags are key:value, e.g. kube_namespace:edge, pod_name:api-0.
	Tags []string
	// Attributes are the event's attributes, e.g. {"error": {"stack": "..."}}.
	Attributes map[string]any
}

// AddLogs stores log events.
func (s *Server) AddLogs(events ...LogEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if e.ID == "" {
			e.ID = encodeB64([]byte(s.newID("log")))
		}
		if e.Attributes == nil {
			e.Attributes = map[string]any{}
		}
		s.logs = append(s.logs, e)
	}
}

// Datadog caps a logs search page at 1000 events; 10 is the default.
const (
	logsDefaultLimit = 10
	logsMaxLimit     = 1000
)

type logsListRequest struct {
	Filter struct {
		From  string `json:"from"`
		To    string `json:"to"`
		Query string `json:"query"`
	} `json:"filter"`
	Page struct {
		Cursor string `json:"cursor"`
		Limit  *int   `json:"limit"`
	} `json:"page"`
	Sort string `json:"sort"`
}

// handleLogs serves POST /api/v2/logs/events/search.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req logsListRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeErrors(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
			return
		}
	}
	now := time.Now().UTC()
	from, err := parseTime(req.Filter.From, now.Add(-15*time.Minute))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	to, err := parseTime(req.Filter.To, now)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := logsDefaultLimit
	if req.Page.Limit != nil {
		limit = *req.Page.Limit
	}
	if limit < 1 || limit > logsMaxLimit {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("page[limit] must be between 1 and %d", logsMaxLimit))
		return
	}
	if req.Sort == "" {
		req.Sort = "-timestamp"
	}
	if req.Sort != "timestamp" && req.Sort != "-timestamp" {
		writeErrors(w, http.StatusBadRequest, "invalid sort "+req.Sort)
		return
	}
	match, err := parseSearch(req.Filter.Query)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid query: "+err.Error())
		return
	}
	fingerprint := fmt.Sprintf("%s|%s|%s|%s", req.Filter.Query, from, to, req.Sort)
	offset, err := decodeCursor(req.Page.Cursor, fingerprint)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.Lock()
	var hits []LogEvent
	for _, e := range s.logs {
		if e.Timestamp.Before(from) || e.Timestamp.After(to) {
			continue
		}
		d := doc{text: e.Message, tags: e.Tags, attrs: e.Attributes,
			fields: map[string]string{"status": e.Status, "service": e.Service, "host": e.Host}}
		if match(d) {
			hits = append(hits, e)
		}
	}
	s.mu.Unlock()
	// Stable, so events with the same timestamp keep their ingestion order.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Timestamp.Before(hits[j].Timestamp) })
	if req.Sort == "-timestamp" {
		for i, j := 0, len(hits)-1; i < j; i, j = i+1, j-1 {
			hits[i], hits[j] = hits[j], hits[i]
		}
	}

	data := []map[string]any{}
	end := min(offset+limit, len(hits))
	for _, e := range hits[min(offset, len(hits)):end] {
		data = append(data, map[string]any{
			"id":   e.ID,
			"type": "log",
			"attributes": map[string]any{
				"attributes": e.Attributes,
				"host":       e.Host,
				"message":    e.Message,
				"service":    e.Service,
				"status":     e.Status,
				"tags":       nonNil(e.Tags),
				"timestamp":  e.Timestamp.UTC().Format(tsLayout),
			},
		})
	}
	writeJSON(w, http.StatusOK, page(data, start, end < len(hits), cursor{Offset: end, Query: fingerprint}, PathLogsSearch, ""))
}

// page is the v2 list response both search endpoints send: data, meta with
// the cursor of the next page when there is one, and links.next to it
// (with linkExtra appended to the query).
func page(data []map[string]any, start time.Time, more bool, next cursor, path, linkExtra string) map[string]any {
	meta := map[string]any{
		"elapsed":    time.Since(start).Milliseconds(),
		"request_id": encodeB64(fmt.Appendf(nil, "req-%d", time.Now().UnixNano())),
		"status":     "done",
	}
	resp := map[string]any{"data": data, "meta": meta}
	if more {
		after := encodeCursor(next)
		meta["page"] = map[string]any{"after": after}
		resp["links"] = map[string]any{"next": "https://api.datadoghq.com" + path + "?page%5Bcursor%5D=" + after + linkExtra}
	}
	return resp
}

// tsLayout is how Datadog writes timestamps in v2 responses.
const tsLayout = "2006-01-02T15:04:05.000Z"

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
