package datadog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/oombot/oombot/internal/sources"
)

// DefaultLogQuery selects the target's log events. The pod name when known
// (a container restart keeps it, so the previous run's OutOfMemoryError is
// included), else the workload, so a replaced pod's predecessors are
// searched too.
//
// It has no content filter (status:error, "OutOfMemoryError", "LEAK:").
// A JVM that prints an uncaught OutOfMemoryError writes it to stderr line by
// line; unless the Agent has a multi-line rule for the container, every
// frame is a separate event that contains neither the word nor an error
// status, and a filtered search would return the header without its
// frames. Reading every event of the window and capping the bytes (newest
// first, see SearchLogs) keeps whole traces.
const DefaultLogQuery = `kube_namespace:{{.Namespace}}` +
	`{{if .Pod}} pod_name:{{.Pod}}{{else if .Workload}} (kube_deployment:{{.Workload}} OR kube_stateful_set:{{.Workload}}){{end}}` +
	`{{if .Container}} kube_container_name:{{.Container}}{{end}}`

// SearchLogs reads the target's log events in [q.Start, q.End] and returns
// them as text in time order, one event per line, with multi-line events
// and error.stack attributes expanded so stack traces read as the JVM
// printed them.
//
// Events are read newest first and reversed: when the byte or page cap
// stops the read, what is dropped is the start of the window, not the
// minutes before the kill where the OutOfMemoryError is.
func (s *Source) SearchLogs(ctx context.Context, q sources.LogQuery) (sources.LogResult, error) {
	if q.Target.Pod == "" && q.Target.Workload == "" {
		return sources.LogResult{}, fmt.Errorf("%s: log search needs a pod or a workload", s.name)
	}
	query, err := render(s.logQuery, q.Target)
	if err != nil {
		return sources.LogResult{}, fmt.Errorf("%s: render log query: %w", s.name, err)
	}
	res := sources.LogResult{Query: query}
	maxBytes := s.maxLogBytes
	if q.MaxBytes > 0 && q.MaxBytes < maxBytes {
		maxBytes = q.MaxBytes
	}
	body := datadogV2.LogsListRequest{
		Filter: &datadogV2.LogsQueryFilter{
			Query: datadog.PtrString(query),
			From:  datadog.PtrString(q.Start.UTC().Format(time.RFC3339Nano)),
			To:    datadog.PtrString(q.End.UTC().Format(time.RFC3339Nano)),
		},
		Sort: datadogV2.LOGSSORT_TIMESTAMP_DESCENDING.Ptr(),
		Page: &datadogV2.LogsListRequestPage{Limit: datadog.PtrInt32(int32(s.pageSize))},
	}
	var blocks []string // newest first
	var size int64
	cursor := ""
	pages := 0
read:
	for {
		if cursor != "" {
			body.Page.Cursor = datadog.PtrString(cursor)
		}
		resp, httpResp, err := s.logsAPI.ListLogs(s.ctx(ctx), *datadogV2.NewListLogsOptionalParameters().WithBody(body))
		if err != nil {
			return sources.LogResult{}, s.classify(ctx, "logs", "logs search", httpResp, err)
		}
		pages++
		for _, ev := range resp.Data {
			b := eventText(ev.Attributes)
			if size+int64(len(b)) > maxBytes {
				res.Truncated = true
				break read
			}
			blocks = append(blocks, b)
			size += int64(len(b))
		}
		cursor = ""
		if resp.Meta != nil && resp.Meta.Page != nil {
			cursor = resp.Meta.Page.GetAfter()
		}
		if cursor == "" {
			break
		}
		if pages >= s.maxLogPages {
			res.Truncated = true
			break
		}
	}
	var text strings.Builder
	text.Grow(int(size))
	for i := len(blocks) - 1; i >= 0; i-- {
		text.WriteString(blocks[i])
	}
	res.Text = []byte(text.String())
	res.Lines = len(blocks)
	s.log.Debug("datadog logs", "events", len(blocks), "pages", pages, "bytes", size, "truncated", res.Truncated)
	return res, nil
}

// tsLayout prefixes each event's first line the way kubectl logs
// --timestamps does, which the log scanner strips and reads.
const tsLayout = "2006-01-02T15:04:05.000000000Z"

// eventText renders one log event: its timestamp and message, then the
// error.stack attribute when the message does not already hold it (a Java
// log pipeline keeps the logger's message in message and moves the
// exception into error.stack; an Agent multi-line rule leaves the whole
// trace in message).
func eventText(a *datadogV2.LogAttributes) string {
	if a == nil {
		return ""
	}
	msg := strings.TrimRight(strings.ReplaceAll(a.GetMessage(), "\r\n", "\n"), "\n")
	var b strings.Builder
	if ts, ok := a.GetTimestampOk(); ok {
		b.WriteString(ts.UTC().Format(tsLayout))
		b.WriteByte(' ')
	}
	b.WriteString(msg)
	b.WriteByte('\n')
	if stack := strings.TrimRight(strings.ReplaceAll(errorStack(a.Attributes), "\r\n", "\n"), "\n"); stack != "" {
		if !hasLine(msg, stack) {
			b.WriteString(stack)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// errorStack reads the error.stack attribute, nested ({"error": {"stack":
// ...}}) as Datadog returns remapped attributes, or flat.
func errorStack(attrs map[string]any) string {
	if e, ok := attrs["error"].(map[string]any); ok {
		if s, ok := e["stack"].(string); ok {
			return s
		}
	}
	if s, ok := attrs["error.stack"].(string); ok {
		return s
	}
	return ""
}

// hasLine reports whether one of msg's lines is the first line of stack: the
// message already holds the trace. (A substring test is not enough: logger
// messages often quote the exception, "nested exception is X: ...".)
func hasLine(msg, stack string) bool {
	first, _, _ := strings.Cut(stack, "\n")
	first = strings.TrimRight(first, " \t")
	for line := range strings.SplitSeq(msg, "\n") {
		if strings.TrimRight(line, " \t") == first {
			return true
		}
	}
	return false
}
