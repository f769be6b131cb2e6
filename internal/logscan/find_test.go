package logscan

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestFinderMatchesBytesIndex(t *testing.T) {
	needles := []string{"MemoryError", "LEAK: ", "GC(", "[Full GC", "a", "zz"}
	hay := []string{
		"", "M", "MemoryErro", "MemoryError", "xxMemoryErrorxx", "OutOfMemoryError: Java heap space",
		"MMMMemoryError", "LEAK LEAK: x", "GC GC(1) GC(", "[Full GC (Ergonomics)", "zzz", "no hit here",
		strings.Repeat("yE MemoryErro ", 20) + "LEAK: " + strings.Repeat("x", 100) + "MemoryError",
	}
	for _, n := range needles {
		f := newFinder([]byte(n))
		for _, h := range hay {
			if got, want := f.index([]byte(h)), bytes.Index([]byte(h), []byte(n)); got != want {
				t.Errorf("index(%q, %q) = %d, want %d", h, n, got, want)
			}
		}
	}
}

func TestFinderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("MemoryErLAK: ")
	for i := 0; i < 3000; i++ {
		h := make([]byte, rng.IntN(100))
		for j := range h {
			h[j] = alphabet[rng.IntN(len(alphabet))]
		}
		for _, n := range []string{"MemoryError", "LEAK: ", "ory"} {
			f := newFinder([]byte(n))
			if i%2 == 1 {
				f.retune(h)
			}
			if got, want := f.index(h), bytes.Index(h, []byte(n)); got != want {
				t.Fatalf("index(%q, %q) anchored on %q = %d, want %d", h, n, f.anchor, got, want)
			}
		}
	}
}

func TestFinderRetune(t *testing.T) {
	f := newFinder([]byte("MemoryError"))
	if f.anchor != 'M' {
		t.Fatalf("static anchor %q, want 'M'", f.anchor)
	}
	// A G1 log is full of 'M'.
	sample := []byte(strings.Repeat("GC(1) Pause Full 512M->96M(1024M) Memory\n", 50))
	f.retune(sample)
	if c := bytes.Count(sample, []byte{f.anchor}); c != 0 {
		t.Errorf("after retune the anchor %q occurs %d times in the sample", f.anchor, c)
	}
	hay := []byte("xx 512M MemoryErr MemoryError")
	if got, want := f.index(hay), bytes.Index(hay, []byte("MemoryError")); got != want {
		t.Errorf("retuned finder index = %d, want %d", got, want)
	}
}
