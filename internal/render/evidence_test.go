package render

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/report"
)

// TestEvidenceJSON: the snippet is the report's evidence as indented
// JSON, decodable back to the same evidence; it never fails.
func TestEvidenceJSON(t *testing.T) {
	defer goleak.VerifyNone(t)
	rep := bundletest.Triage(t, filepath.Join("..", "..", "examples", "incidents", "image-decode-bomb"))
	got := EvidenceJSON(rep)
	if !bytes.HasPrefix(got, []byte("{\n  \"target\": {")) {
		t.Errorf("not indented evidence JSON: %.80s", got)
	}
	var back evidence.Evidence
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(rep.Evidence)
	again, _ := json.Marshal(&back)
	if !bytes.Equal(want, again) {
		t.Error("the snippet does not decode to the report's evidence")
	}
	if !bytes.Contains(got, []byte("DataBufferByte.<init>")) {
		t.Error("the snippet HTML-escapes raw lines")
	}
	if s := string(EvidenceJSON(nil)); s != "null\n" {
		t.Errorf("nil report: %q", s)
	}
	bad := &report.Report{Evidence: &evidence.Evidence{Trends: []evidence.Trend{{Max: math.NaN()}}}}
	var doc map[string]string
	if err := json.Unmarshal(EvidenceJSON(bad), &doc); err != nil || !strings.Contains(doc["error"], "evidence could not be encoded") {
		t.Errorf("NaN evidence: %v %v", doc, err)
	}
}
