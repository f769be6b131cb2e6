package evidence

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBytes(t *testing.T) {
	cases := []struct {
		in   int64
		want string
	}{
		{0, "0B"}, {1023, "1023B"}, {1024, "1KiB"}, {1536, "1.5KiB"}, {768 << 20, "768MiB"},
		{3 << 30, "3GiB"}, {-512 << 20, "-512MiB"}, {1<<40 + 1<<39, "1.5TiB"},
	}
	for _, c := range cases {
		if got := Bytes(c.in); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestContainerSummaryMentionsBudgetOnlyWhenOver(t *testing.T) {
	c := Container{Name: "app", IsJVM: true, MemoryLimitBytes: 512 << 20,
		LastTermination: Termination{State: "terminated", Reason: "OOMKilled", ExitCode: 137},
		Budget:          JVMBudget{TotalBytes: 700 << 20, OverLimit: true}}
	if s := c.Summary(); !strings.Contains(s, "OOMKilled, exit 137") || !strings.Contains(s, "JVM budget 700MiB exceeds it") {
		t.Errorf("summary = %q", s)
	}
	c.Budget.OverLimit = false
	if s := c.Summary(); strings.Contains(s, "budget") {
		t.Errorf("summary = %q mentions a budget within the limit", s)
	}
}

func TestTrendSummaryForecast(t *testing.T) {
	cases := []struct {
		h    float64
		want string
	}{{0.001, "<1m"}, {0.25, "15m"}, {5, "5.0h"}, {72, "3.0d"}}
	for _, c := range cases {
		tr := Trend{Signal: "jvm_old_gen_used", Unit: "bytes", Shape: ShapeLeak, HoursToExhaustion: c.h}
		if s := tr.Summary(); !strings.Contains(s, "exhausted in ~"+c.want) {
			t.Errorf("%v h: %q, want %q", c.h, s, c.want)
		}
	}
}

func TestNormalizeGivesArrays(t *testing.T) {
	ev := &Evidence{Containers: []Container{{Name: "app"}}, OOMErrors: []OOMError{{ID: "oom/app/1"}}}
	ev.Normalize()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "null") {
		t.Errorf("JSON still has null: %s", data)
	}
}
