package jvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readHistogram(t testing.TB, name string) Histogram {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "histo", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := ParseHistogram(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return h
}

func TestParseHistogramFixtures(t *testing.T) {
	tests := []struct {
		file              string
		rows              int
		totalInst, totalB int64
		first, session    HistogramEntry
	}{
		{"jcmd-1.txt", 241, 759156, 25670232,
			HistogramEntry{Rank: 1, Instances: 122406, Bytes: 5876536, Class: "[J", Module: "java.base@17.0.15", LineNo: 4},
			HistogramEntry{Rank: 4, Instances: 122400, Bytes: 3916800, Class: "LeakyCache$Session", LineNo: 7}},
		{"jcmd-2.txt", 241, 1951956, 64888408,
			HistogramEntry{Rank: 1, Instances: 321206, Bytes: 15418936, Class: "[J", Module: "java.base@17.0.15", LineNo: 4},
			HistogramEntry{Rank: 4, Instances: 321200, Bytes: 10278400, Class: "LeakyCache$Session", LineNo: 7}},
		// jmap -histo prints no pid line.
		{"jmap.txt", 241, 2003402, 70906888,
			HistogramEntry{Rank: 1, Instances: 329606, Bytes: 15822136, Class: "[J", Module: "java.base@17.0.15", LineNo: 3},
			HistogramEntry{Rank: 4, Instances: 329600, Bytes: 10547200, Class: "LeakyCache$Session", LineNo: 6}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			h := readHistogram(t, tc.file)
			if len(h.Entries) != tc.rows || h.TotalInstances != tc.totalInst || h.TotalBytes != tc.totalB {
				t.Fatalf("%d rows, total %d/%d; want %d rows, %d/%d", len(h.Entries), h.TotalInstances, h.TotalBytes,
					tc.rows, tc.totalInst, tc.totalB)
			}
			if h.Entries[0] != tc.first {
				t.Errorf("first row %+v, want %+v", h.Entries[0], tc.first)
			}
			if h.Entries[3] != tc.session {
				t.Errorf("row 4 %+v, want %+v", h.Entries[3], tc.session)
			}
			// Every row was read: the rows add up to jcmd's own Total.
			var inst, bytes int64
			for i, e := range h.Entries {
				inst += e.Instances
				bytes += e.Bytes
				if e.Rank != i+1 {
					t.Errorf("row %d has rank %d", i, e.Rank)
				}
			}
			if inst != h.TotalInstances || bytes != h.TotalBytes {
				t.Errorf("rows sum to %d/%d, Total says %d/%d", inst, bytes, h.TotalInstances, h.TotalBytes)
			}
			if !h.Time.IsZero() {
				t.Errorf("Time %v, want zero (jcmd prints none)", h.Time)
			}
		})
	}
}

func TestParseHistogramVariants(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantErr   string
		rows      int
		totalB    int64
		time      time.Time
		lastClass string
	}{{
		// Hand-written in the JDK 8 `jmap -histo` layout (no module column).
		name: "JDK 8 jmap with a date line before it",
		in: "Sat Mar 14 02:11:05 UTC 2026\n\n num     #instances         #bytes  class name\n----------------------------------------------\n" +
			"   1:         12345         678901  [C\n   2:           100           2400  java.lang.String\nTotal         12445         681301\n",
		rows: 2, totalB: 681301, time: time.Date(2026, 3, 14, 2, 11, 5, 0, time.UTC), lastClass: "java.lang.String",
	}, {
		name: "cut before Total: totals are summed from the rows",
		in:   "2026-03-14T02:11:05Z\n num     #instances         #bytes  class name (module)\n   1:    10    160  a.B\n   2:    1    16  a.C\n",
		rows: 2, totalB: 176, time: time.Date(2026, 3, 14, 2, 11, 5, 0, time.UTC), lastClass: "a.C",
	}, {
		name: "text after Total is not read",
		in:   " num     #instances         #bytes  class name (module)\n   1:    10    160  a.B\nTotal 10 160\n$ exit\n",
		rows: 1, totalB: 160, lastClass: "a.B",
	}, {
		name:    "no header",
		in:      "4242:\nCommand executed successfully\n",
		wantErr: "no class histogram header",
	}, {
		name:    "malformed row names its line",
		in:      "1:\n num     #instances         #bytes  class name (module)\n-----\n   1:    10    160  a.B\n   2:    ten    160  a.C\n",
		wantErr: "line 5: histogram row instances \"ten\"",
		rows:    1, lastClass: "a.B",
	}, {
		name:    "text after the class that is not a module",
		in:      " num     #instances         #bytes  class name (module)\n   1:    10    160  a.B extra words\n",
		wantErr: "line 2: histogram row has text after the class name",
	}, {
		name:    "row missing its class",
		in:      " num     #instances         #bytes  class name (module)\n   1:    10    160\n",
		wantErr: "line 2: malformed histogram row",
	}, {
		name:    "bad Total",
		in:      " num     #instances         #bytes  class name (module)\nTotal 10\n",
		wantErr: "line 2: malformed Total line",
	}, {
		name:    "overlong line",
		in:      " num     #instances         #bytes  class name (module)\n   1:    10    160  " + strings.Repeat("a", maxHistogramLine) + "\n",
		wantErr: "line 2: reading class histogram",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHistogram(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(h.Entries) != tc.rows {
				t.Fatalf("%d rows, want %d", len(h.Entries), tc.rows)
			}
			if tc.wantErr == "" && h.TotalBytes != tc.totalB {
				t.Errorf("TotalBytes %d, want %d", h.TotalBytes, tc.totalB)
			}
			if !h.Time.Equal(tc.time) {
				t.Errorf("Time %v, want %v", h.Time, tc.time)
			}
			if tc.rows > 0 && h.Entries[len(h.Entries)-1].Class != tc.lastClass {
				t.Errorf("last class %q, want %q", h.Entries[len(h.Entries)-1].Class, tc.lastClass)
			}
		})
	}
}

// The expected growth was computed from the fixtures with join/awk (see the
// README), independently of DiffHistograms.
func TestDiffHistogramsFixtures(t *testing.T) {
	first, last := readHistogram(t, "jcmd-1.txt"), readHistogram(t, "jcmd-2.txt")
	got := DiffHistograms(first, last, 1000)
	want := []ClassDelta{
		{Class: "[J", InstancesStart: 122406, InstancesEnd: 321206, BytesStart: 5876536, BytesEnd: 15418936, StartLine: 4, EndLine: 4},
		// Three classes grew by exactly 6361600 bytes and 198800 instances:
		// the tie is broken by name.
		{Class: "LeakyCache$Session", InstancesStart: 122400, InstancesEnd: 321200, BytesStart: 3916800, BytesEnd: 10278400, StartLine: 7, EndLine: 7},
		{Class: "[B", InstancesStart: 129675, InstancesEnd: 328475, BytesStart: 4248232, BytesEnd: 10609832, StartLine: 5, EndLine: 5},
		{Class: "java.util.HashMap$Node", InstancesStart: 123395, InstancesEnd: 322195, BytesStart: 3948640, BytesEnd: 10310240, StartLine: 6, EndLine: 6},
		{Class: "java.lang.Long", InstancesStart: 122528, InstancesEnd: 321328, BytesStart: 2940672, BytesEnd: 7711872, StartLine: 9, EndLine: 9},
		{Class: "java.lang.String", InstancesStart: 129589, InstancesEnd: 328389, BytesStart: 3110136, BytesEnd: 7881336, StartLine: 8, EndLine: 8},
	}
	if len(got) != len(want) {
		t.Fatalf("%d deltas, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if g := got[i]; g != w {
			t.Errorf("delta %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// The HashMap table doubled in bytes with the same 258 instances: growth,
	// but only when no instance growth is required.
	if all := DiffHistograms(first, last, 0); len(all) != 7 || all[6].Class != "[Ljava.util.HashMap$Node;" {
		t.Errorf("minInstancesDelta=0: %d deltas, last %+v", len(all), all[len(all)-1])
	}
}

func TestDiffHistogramsSynthetic(t *testing.T) {
	h := func(rows ...HistogramEntry) Histogram { return Histogram{Entries: rows} }
	first := h(
		HistogramEntry{Class: "a.Shrinks", Instances: 100, Bytes: 1600, LineNo: 4},
		HistogramEntry{Class: "a.Dup", Instances: 10, Bytes: 160, LineNo: 5},
		HistogramEntry{Class: "a.Dup", Instances: 10, Bytes: 160, LineNo: 9},
		HistogramEntry{Class: "a.Same", Instances: 5, Bytes: 80, LineNo: 6},
	)
	last := h(
		HistogramEntry{Class: "a.Shrinks", Instances: 50, Bytes: 800, LineNo: 8},
		HistogramEntry{Class: "a.Dup", Instances: 30, Bytes: 480, LineNo: 4},
		HistogramEntry{Class: "a.Dup", Instances: 5, Bytes: 80, LineNo: 7},
		HistogramEntry{Class: "a.Same", Instances: 5, Bytes: 80, LineNo: 5},
		HistogramEntry{Class: "a.New", Instances: 20, Bytes: 320, LineNo: 6},
	)
	got := DiffHistograms(first, last, 1)
	want := []ClassDelta{
		{Class: "a.New", InstancesEnd: 20, BytesEnd: 320, EndLine: 6},
		{Class: "a.Dup", InstancesStart: 20, InstancesEnd: 35, BytesStart: 320, BytesEnd: 560, StartLine: 5, EndLine: 4},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := DiffHistograms(first, last, 16); len(got) != 1 || got[0].Class != "a.New" {
		t.Errorf("minInstancesDelta=16: %+v", got)
	}
	if got := DiffHistograms(Histogram{}, Histogram{}, 0); len(got) != 0 {
		t.Errorf("empty: %+v", got)
	}
}

func FuzzParseHistogram(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "histo", "jcmd-1.txt"))
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	f.Add(strings.Join(lines[:8], "\n") + "\n" + lines[len(lines)-2] + "\n")
	f.Add(" num #instances #bytes class name\n 1: 1 1 x (y\nTotal 1 1\n")
	f.Add("num #instances #bytes\n-1: -1 -1 [ ()\nTotal 99999999999999999999 1")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := ParseHistogram(strings.NewReader(in))
		for _, e := range h.Entries {
			if e.Instances < 0 || e.Bytes < 0 || e.Class == "" || e.LineNo <= 0 {
				t.Fatalf("bad row %+v (err %v)", e, err)
			}
		}
		DiffHistograms(h, h, 0)
	})
}
