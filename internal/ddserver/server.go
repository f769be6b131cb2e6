// Package ddserver is a Datadog API server for tests. It speaks the wire
// format of exactly the endpoints oombot's Datadog source calls:
//
//	GET  /api/v1/query                 metrics query (pointlist [ms, value])
//	POST /api/v2/logs/events/search    log search, cursor paginated
//	GET  /api/v2/events                event search, cursor paginated
//
// It checks the DD-API-KEY and DD-APPLICATION-KEY headers and answers 403
// as Datadog does, serves the series, log events and events loaded into it,
// honours page cursors, can inject failures (FailNext) and latency
// (Latency), and records every request. Response shapes follow Datadog's
// documented examples, kept under testdata/ (see testdata/README.md), and
// the package's tests hold the server to them.
package ddserver

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Endpoint paths served.
const (
	PathQuery      = "/api/v1/query"
	PathLogsSearch = "/api/v2/logs/events/search"
	PathEvents     = "/api/v2/events"
)

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	// Body is the request body, decompressed.
	Body []byte
}

type fault struct {
	n      int
	status int
}

// Server is a running fake Datadog API. Close it when done.
type Server struct {
	*httptest.Server
	apiKey, appKey string

	mu       sync.Mutex
	series   []storedSeries
	logs     []LogEvent
	events   []Event
	faults   map[string]*fault
	latency  map[string]time.Duration
	requests []Request
	nextID   int
}

// New starts a server that accepts only the given keys.
func New(apiKey, appKey string) *Server {
	s := &Server{
		apiKey:  apiKey,
		appKey:  appKey,
		faults:  map[string]*fault{},
		latency: map[string]time.Duration{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathQuery, s.handleQuery)
	mux.HandleFunc("POST "+PathLogsSearch, s.handleLogs)
	mux.HandleFunc("GET "+PathEvents, s.handleEvents)
	s.Server = httptest.NewServer(s.wrap(mux))
	return s
}

// FailNext makes the next n requests to path fail with status: 429 carries
// Datadog's rate-limit headers, 403 its Forbidden body, and 200 sends a
// truncated (malformed) JSON body.
func (s *Server) FailNext(path string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = &fault{n: n, status: status}
}

// Latency delays every answer on path by d (or until the client gives up).
func (s *Server) Latency(path string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[path] = d
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// wrap records the request, applies latency and injected faults, and
// checks the keys before handing over to the endpoint.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "could not read body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		delay := s.latency[r.URL.Path]
		status := 0
		if f := s.faults[r.URL.Path]; f != nil && f.n > 0 {
			f.n--
			status = f.status
		}
		s.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if status != 0 {
			writeFault(w, status)
			return
		}
		// Datadog answers 403 for a missing or wrong key of either kind.
		if r.Header.Get("DD-API-KEY") != s.apiKey || r.Header.Get("DD-APPLICATION-KEY") != s.appKey {
			writeErrors(w, http.StatusForbidden, "Forbidden")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		rd = zr
	}
	return io.ReadAll(io.LimitReader(rd, 32<<20))
}

// writeFault answers an injected failure the way Datadog does.
func writeFault(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusOK:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"data": [{"id": "AAAA`)
	case http.StatusTooManyRequests:
		h := w.Header()
		h.Set("X-RateLimit-Limit", "300")
		h.Set("X-RateLimit-Period", "3600")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", "17")
		h.Set("X-RateLimit-Name", "logs_query")
		writeErrors(w, status, "Rate limit of 300 requests in 3600 seconds reached. Please try again later.")
	case http.StatusForbidden:
		writeErrors(w, status, "Forbidden")
	default:
		writeErrors(w, status, http.StatusText(status))
	}
}

// writeErrors writes Datadog's error body: {"errors": ["..."]}.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string][]string{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) newID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%010d", prefix, s.nextID)
}

// parseTime reads a time parameter as Datadog accepts it: RFC 3339, or
// epoch milliseconds (integer string). def is used when empty.
func parseTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q", v)
	}
	return t.UTC(), nil
}

// cursor is an opaque page token: the offset into the sorted matches and a
// fingerprint of the query, so a cursor from another query is refused.
type cursor struct {
	Offset int    `json:"o"`
	Query  string `json:"q"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return encodeB64(b)
}

func decodeCursor(s, query string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := decodeB64(s)
	if err != nil {
		return 0, fmt.Errorf("invalid cursor")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Offset < 0 || c.Query != query {
		return 0, fmt.Errorf("invalid cursor")
	}
	return c.Offset, nil
}

func encodeB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
