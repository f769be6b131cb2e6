package logscan

import "bytes"

// finder locates a fixed needle in large buffers, which is where Scan
// spends its time. bytes.Index jumps between occurrences of the needle's
// first byte and falls back to comparing at every position when those
// keep failing; finder instead jumps, with bytes.IndexByte (vectorised),
// between occurrences of the needle byte that is rarest in the log being
// read, and checks the needle around each one.
type finder struct {
	needle []byte
	// off is the index of the anchor byte inside needle.
	off    int
	anchor byte
}

// newFinder returns a finder for a non-empty needle, anchored on the byte
// byteRarity guesses is rarest until retune has seen the log.
func newFinder(needle []byte) finder {
	f := finder{needle: needle}
	best := -1
	for i, c := range needle {
		if r := byteRarity(c); r > best {
			best, f.off = r, i
		}
	}
	f.anchor = needle[f.off]
	return f
}

// byteRarity ranks how unusual a byte is in typical application logs;
// higher is rarer. It only needs to be roughly right.
func byteRarity(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		// Letters of log levels and common abbreviations are less rare.
		if bytes.IndexByte([]byte("AEINORSTGDLW"), c) >= 0 {
			return 5
		}
		return 6
	case c == 'q' || c == 'z' || c == 'x' || c == 'j' || c == 'k' || c == 'v':
		return 4
	case c >= 'a' && c <= 'z':
		return 2
	case c >= '0' && c <= '9':
		return 1
	case c == ' ' || c == '.' || c == ':' || c == '-' || c == '/' || c == '"' || c == ',':
		return 0
	default:
		return 3
	}
}

// retune picks as anchor the needle byte that occurs least often in
// sample, a piece of the log being read. The static ranking is only a
// guess: a log full of G1 lines ("512M->96M(1024M)") makes 'M' common, a
// log of SQL makes 'y' common, and every occurrence costs a call.
func (f *finder) retune(sample []byte) {
	best := -1
	for i, c := range f.needle {
		if bytes.IndexByte(f.needle[:i], c) >= 0 {
			continue // counted already
		}
		if n := bytes.Count(sample, []byte{c}); best < 0 || n < best {
			best, f.off, f.anchor = n, i, c
		}
	}
}

// index returns the index of the first occurrence of the needle in s, or -1.
func (f *finder) index(s []byte) int {
	n := len(f.needle)
	for i := f.off; i < len(s); {
		j := bytes.IndexByte(s[i:], f.anchor)
		if j < 0 {
			return -1
		}
		i += j
		start := i - f.off
		if start+n <= len(s) && bytes.Equal(s[start:start+n], f.needle) {
			return start
		}
		i++
	}
	return -1
}
