package goldentest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}
func (r *recorder) Fatalf(format string, args ...any) { r.errs = append(r.errs, format) }
func (r *recorder) Fatal(args ...any)                 { r.errs = append(r.errs, "fatal") }

func TestBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.golden")
	for _, c := range []struct {
		name   string
		got    string
		update bool
		fails  string
	}{
		{"missing file", "a\n", false, "-update to create it"},
		{"update writes", "a\n", true, ""},
		{"equal", "a\n", false, ""},
		{"differs", "b\n", false, "differs from the golden file"},
	} {
		r := &recorder{TB: t}
		Bytes(r, path, []byte(c.got), c.update)
		switch {
		case c.fails == "" && len(r.errs) > 0:
			t.Errorf("%s: failed: %v", c.name, r.errs)
		case c.fails != "" && (len(r.errs) == 0 || !strings.Contains(r.errs[0], c.fails)):
			t.Errorf("%s: failures %v, want one containing %q", c.name, r.errs, c.fails)
		}
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Errorf("golden file: %q %v", b, err)
	}
}
