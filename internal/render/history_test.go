package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oombot/oombot/internal/report"
)

func TestHistoryLine(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    report.History
		want string
	}{
		{report.History{Count: 1, Since: at.Add(-time.Hour), LastAt: at, LastPlaybook: "none", LastVerdict: "No playbook matched\nsecond line"},
			"triaged once before since 2026-11-20T08:00:00Z; last 2026-11-20T09:00:00Z: No playbook matched …"},
		{report.History{Count: 4, Since: at, LastAt: at, LastPlaybook: "lock-growth"},
			"triaged 4 times before since 2026-11-20T09:00:00Z; last 2026-11-20T09:00:00Z (lock-growth)"},
	} {
		if got := HistoryLine(&c.h); got != c.want {
			t.Errorf("HistoryLine(%+v)\n got %q\nwant %q", c.h, got, c.want)
		}
	}
}

// The terminal report shows the history line only when there is history.
func TestTextHistory(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    *report.History
		want bool
	}{{nil, false}, {&report.History{}, false}, {&report.History{Count: 2, LastAt: at, LastPlaybook: "x"}, true}} {
		var buf bytes.Buffer
		if err := Text(&buf, &report.Report{Verdict: "v", History: c.h}, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), "History:  triaged 2 times"); got != c.want {
			t.Errorf("history %+v: shown=%v, want %v\n%s", c.h, got, c.want, buf.String())
		}
	}
}
