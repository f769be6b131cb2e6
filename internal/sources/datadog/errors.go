package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"
)

// APIError is a failed Datadog request, classified so a report can say
// what to fix (a key's scope, a rate limit, an outage).
type APIError struct {
	// Op is what was attempted, e.g. "query jvm_heap_used".
	Op string
	// StatusCode is the HTTP status; 0 when no response arrived.
	StatusCode int
	// RateLimitReset is the X-RateLimit-Reset header of a 429 (seconds
	// until the limit resets), when Datadog sent it.
	RateLimitReset string
	msg            string
	err            error
}

func (e *APIError) Error() string { return e.msg }
func (e *APIError) Unwrap() error { return e.err }

// scopes names the application-key scope each kind of request needs.
var scopes = map[string]string{"metrics": "timeseries_query", "logs": "logs_read_data", "events": "events_read"}

// classify turns a client error into an *APIError with a message that
// names the cause. kind is "metrics", "logs" or "events".
func (s *Source) classify(ctx context.Context, kind, op string, resp *http.Response, err error) error {
	if err == nil {
		return nil
	}
	e := &APIError{Op: op, err: err}
	if resp != nil {
		e.StatusCode = resp.StatusCode
	}
	var detail string
	var oe datadog.GenericOpenAPIError
	if errors.As(err, &oe) {
		detail = serverErrors(oe)
	}
	var why string
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		why = "no answer before the deadline"
		if errors.Is(ctx.Err(), context.Canceled) {
			why = "canceled"
		}
		e.err = errors.Join(err, ctx.Err())
	case resp == nil:
		why = "request failed: " + err.Error()
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		why = fmt.Sprintf("Datadog refused the application key (needs the %s scope) or the API key (%d)", scopes[kind], resp.StatusCode)
	case resp.StatusCode == http.StatusTooManyRequests:
		e.RateLimitReset = resp.Header.Get("X-RateLimit-Reset")
		why = "rate limited by Datadog (429"
		if n := resp.Header.Get("X-RateLimit-Name"); n != "" {
			why += ", limit " + n
		}
		if e.RateLimitReset != "" {
			why += ", resets in " + e.RateLimitReset + "s"
		}
		why += ")"
	case resp.StatusCode >= 500:
		why = fmt.Sprintf("Datadog server error (%s)", resp.Status)
	case resp.StatusCode == http.StatusBadRequest:
		why = "Datadog rejected the request (400)"
	case resp.StatusCode < 300:
		why = "malformed response: " + err.Error()
		detail = ""
	default:
		why = fmt.Sprintf("unexpected answer %s", resp.Status)
	}
	if detail != "" {
		why += ": " + detail
	}
	e.msg = s.scrub(fmt.Sprintf("%s: %s: %s", s.name, op, why))
	return e
}

// serverErrors extracts Datadog's {"errors": [...]} text from an error
// response, clipped.
func serverErrors(oe datadog.GenericOpenAPIError) string {
	var msgs []string
	switch m := oe.Model().(type) {
	case datadogV1.APIErrorResponse:
		msgs = m.Errors
	case datadogV2.APIErrorResponse:
		msgs = m.Errors
	}
	if len(msgs) == 0 {
		// Only 400, 403 and 429 bodies are decoded by the client.
		var body struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(oe.Body(), &body) == nil {
			msgs = body.Errors
		}
	}
	text := strings.Join(msgs, "; ")
	if text == "" {
		text = strings.TrimSpace(string(oe.Body()))
	}
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return text
}
