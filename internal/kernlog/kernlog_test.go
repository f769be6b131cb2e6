package kernlog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// boot is the VM's boot time when the fixtures were captured (see testdata/README.md).
var boot = time.Unix(1795424912, 0).UTC()

// The two kills in every fixture, as the kernel reported them.
func fixtureKills(t1, t2 time.Time) []Kill {
	return []Kill{{
		LineNo: 79, Time: t1, PID: 6700, Process: "python3",
		AnonRSSBytes: 65128 * 1024, FileRSSBytes: 2388 * 1024, ShmemRSSBytes: 0,
		MemcgLimitBytes: 64 << 20, Constraint: "CONSTRAINT_MEMCG", Cgroup: "/oombot-kernlog-b",
	}, {
		LineNo: 158, Time: t2, PID: 7322, Process: "java",
		AnonRSSBytes: 97792 * 1024, FileRSSBytes: 12376 * 1024, ShmemRSSBytes: 0,
		MemcgLimitBytes: 96 << 20, Constraint: "CONSTRAINT_MEMCG", Cgroup: "/oombot-kernlog-b2",
	}}
}

func TestParseFixtures(t *testing.T) {
	micro := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		file string
		boot time.Time
		want []Kill
	}{
		{"dmesg.txt", boot, fixtureKills(micro("2026-11-23T10:47:13.69663Z"), micro("2026-11-23T10:47:24.578903Z"))},
		// Without a boot time, seconds-since-boot cannot become wall-clock time.
		{"dmesg.txt", time.Time{}, fixtureKills(time.Time{}, time.Time{})},
		{"dmesg-T.txt", time.Time{}, fixtureKills(micro("2026-11-23T10:47:13Z"), micro("2026-11-23T10:47:24Z"))},
		{"dmesg-iso.txt", time.Time{}, fixtureKills(micro("2026-11-23T10:47:13.69663Z"), micro("2026-11-23T10:47:24.578903Z"))},
		{"journalctl-k.txt", boot, fixtureKills(micro("2026-11-23T10:47:13Z"), micro("2026-11-23T10:47:24Z"))},
		// journalctl's short format has no year: without a reference, no time.
		{"journalctl-k.txt", time.Time{}, fixtureKills(time.Time{}, time.Time{})},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/boot="+tc.boot.Format(time.DateOnly), func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, errs := Parse(context.Background(), f, tc.boot)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d kills, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if !strings.Contains(g.Line, "Killed process") {
					t.Errorf("kill %d: Line = %q, want the Killed process line", i, g.Line)
				}
				g.Line = ""
				if !g.Time.Equal(w.Time) {
					t.Errorf("kill %d: Time = %v, want %v", i, g.Time, w.Time)
				}
				g.Time, w.Time = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("kill %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

// Hand-written lines in the formats of older kernels and other OOM kinds
// (not captured here: this VM runs Linux 6.18 and no node-wide OOM was forced).
func TestParseVariants(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		want    []Kill
		wantErr []string
	}{{
		name: "pre-4.19 memcg kill with Task in and sacrifice child",
		log: `[ 100.000001] java invoked oom-killer: gfp_mask=0x24000c0, order=0, oom_score_adj=984
[ 100.000100] Task in /kubepods/burstable/pod1/abc killed as a result of limit of /kubepods/burstable/pod1/abc
[ 100.000200] memory: usage 1048576kB, limit 1048576kB, failcnt 123
[ 100.000300] Memory cgroup out of memory: Kill process 4242 (java) score 1987 or sacrifice child
[ 100.000400] Killed process 4242 (java) total-vm:5000000kB, anon-rss:1048000kB, file-rss:12345kB, shmem-rss:8kB
`,
		want: []Kill{{LineNo: 5, PID: 4242, Process: "java", AnonRSSBytes: 1048000 * 1024, FileRSSBytes: 12345 * 1024,
			ShmemRSSBytes: 8 * 1024, MemcgLimitBytes: 1 << 30, Constraint: "CONSTRAINT_MEMCG", Cgroup: "/kubepods/burstable/pod1/abc"}},
	}, {
		name: "node-wide OOM keeps its constraint and has no memcg limit",
		log: `java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/kubepods/pod2/def,task=java,pid=77,uid=1000
Out of memory: Killed process 77 (java) total-vm:9000000kB, anon-rss:7000000kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:15000kB oom_score_adj:0
`,
		want: []Kill{{LineNo: 3, PID: 77, Process: "java", AnonRSSBytes: 7000000 * 1024, Constraint: "CONSTRAINT_NONE", Cgroup: "/kubepods/pod2/def"}},
	}, {
		name: "burst details of another pid are not borrowed",
		log: `memory: usage 2048kB, limit 2048kB, failcnt 1
oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=sh,pid=1,uid=0
Memory cgroup out of memory: Killed process 2 (sh) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB
Memory cgroup out of memory: Killed process 3 (sh) total-vm:1kB, anon-rss:2kB, file-rss:0kB, shmem-rss:0kB
`,
		want: []Kill{
			{LineNo: 3, PID: 2, Process: "sh", AnonRSSBytes: 1024, Constraint: "CONSTRAINT_MEMCG"},
			{LineNo: 4, PID: 3, Process: "sh", AnonRSSBytes: 2048, Constraint: "CONSTRAINT_MEMCG"},
		},
	}, {
		name: "process names with spaces and parentheses",
		log:  "Memory cgroup out of memory: Killed process 9 (C2 Compiler) total-vm:10kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB\n",
		want: []Kill{{LineNo: 1, PID: 9, Process: "C2 Compiler", AnonRSSBytes: 4096, Constraint: "CONSTRAINT_MEMCG"}},
	}, {
		name:    "malformed kill record is reported with its line",
		log:     "noise\nMemory cgroup out of memory: Killed process x (java)\nKilled process 5 (ok) anon-rss:1kB\n",
		want:    []Kill{{LineNo: 3, PID: 5, Process: "ok", AnonRSSBytes: 1024}},
		wantErr: []string{"line 2: malformed kill record"},
	}, {
		name:    "rss that overflows in bytes is an error",
		log:     "Killed process 5 (ok) anon-rss:9223372036854775807kB\n",
		wantErr: []string{"line 1: kill record anon-rss"},
	}, {
		name:    "overflowing rss is an error, not a panic",
		log:     "Killed process 5 (ok) anon-rss:99999999999999999999kB\n",
		wantErr: []string{"line 1: kill record anon-rss"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := Parse(context.Background(), strings.NewReader(tc.log), time.Time{})
			if len(errs) != len(tc.wantErr) {
				t.Fatalf("errors = %v, want %d matching %q", errs, len(tc.wantErr), tc.wantErr)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.wantErr[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, e, tc.wantErr[i])
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d kills, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				got[i].Line = ""
				if got[i] != tc.want[i] {
					t.Errorf("kill %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSyslogYear(t *testing.T) {
	tests := []struct {
		name string
		line string
		boot time.Time
		want time.Time
	}{
		{"same year", "Mar  4 01:02:03 node kernel: Killed process 1 (a) anon-rss:1kB",
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 1, 2, 3, 0, time.UTC)},
		{"rolled over after a December boot", "Jan  2 00:00:00.250000 node kernel: Killed process 1 (a) anon-rss:1kB",
			time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 250e6, time.UTC)},
		{"short-iso with +0100 zone", "2026-03-04T01:02:03+0100 node kernel: Killed process 1 (a) anon-rss:1kB",
			time.Time{}, time.Date(2026, 3, 4, 0, 2, 3, 0, time.UTC)},
		{"syslog stamp wins over a printk stamp inside the message", "Mar  4 01:02:03 node kernel: [   10.5] Killed process 1 (a) anon-rss:1kB",
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 1, 2, 3, 0, time.UTC)},
		{"raw stamp with a short fraction", "[   10.5] Killed process 1 (a) anon-rss:1kB",
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 10, 500e6, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := Parse(context.Background(), strings.NewReader(tc.line), tc.boot)
			if len(errs) > 0 || len(got) != 1 {
				t.Fatalf("got %v, %v", got, errs)
			}
			if !got[0].Time.Equal(tc.want) {
				t.Errorf("Time = %v, want %v", got[0].Time, tc.want)
			}
		})
	}
}

func TestParseLongLinesAndCancel(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine) + "\nKilled process 8 (java) anon-rss:4kB\n"
	got, errs := Parse(context.Background(), strings.NewReader(long), time.Time{})
	if len(errs) > 0 || len(got) != 1 || got[0].LineNo != 2 || got[0].PID != 8 {
		t.Fatalf("after an overlong line: got %+v, %v", got, errs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, errs = Parse(ctx, strings.NewReader(long), time.Time{})
	if len(got) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "context canceled") {
		t.Fatalf("cancelled: got %+v, %v", got, errs)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"dmesg.txt", "dmesg-T.txt", "journalctl-k.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		f.Add(strings.Join(lines[70:80], "\n"))
	}
	f.Add("[ 99999999999999999999.1] Killed process 1 (x) anon-rss:1kB\n")
	f.Fuzz(func(t *testing.T, in string) {
		kills, errs := Parse(context.Background(), strings.NewReader(in), boot)
		for _, k := range kills {
			if k.PID < 0 || k.AnonRSSBytes < 0 || k.LineNo <= 0 {
				t.Fatalf("bad kill %+v (errors %v)", k, errs)
			}
		}
	})
}
