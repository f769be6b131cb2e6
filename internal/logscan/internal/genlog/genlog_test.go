package genlog

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteStats checks that Stats describe what was written and that the
// output is reproducible for a seed and different across seeds.
func TestWriteStats(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		var a, b bytes.Buffer
		st, err := Write(&a, Config{Size: 2 << 20, Seed: seed, OOMEvery: 500, LeakEvery: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Write(&b, Config{Size: 2 << 20, Seed: seed, OOMEvery: 500, LeakEvery: 1000}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("seed %d: output differs between runs", seed)
		}
		text := a.String()
		if st.Bytes != int64(len(text)) || st.Bytes < 2<<20 {
			t.Errorf("seed %d: Bytes = %d, wrote %d", seed, st.Bytes, len(text))
		}
		if n := int64(strings.Count(text, "\n")); st.Lines != n {
			t.Errorf("seed %d: Lines = %d, wrote %d", seed, st.Lines, n)
		}
		// Each planted OOM has exactly one line (or JSON line) naming the
		// OOM with its class qualified; the start-up banner names flags only.
		if n := strings.Count(text, "java.lang.OutOfMemoryError:"); n != st.OOMs || st.OOMs < 5 {
			t.Errorf("seed %d: %d OOM headers, Stats.OOMs = %d", seed, n, st.OOMs)
		}
		if n := strings.Count(text, "LEAK: ByteBuf"); n != st.Leaks || st.Leaks < 3 {
			t.Errorf("seed %d: %d LEAK records, Stats.Leaks = %d", seed, n, st.Leaks)
		}
		var gc int64
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "GC(") {
				gc++
			}
		}
		if gc != st.GCLines {
			t.Errorf("seed %d: %d GC lines, Stats.GCLines = %d", seed, gc, st.GCLines)
		}
	}
	var x, y bytes.Buffer
	_, err1 := Write(&x, Config{Size: 64 << 10, Seed: 1})
	_, err2 := Write(&y, Config{Size: 64 << 10, Seed: 2})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Error("seeds 1 and 2 wrote the same log")
	}
}
