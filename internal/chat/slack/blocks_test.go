package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
	"go.uber.org/goleak"

	"github.com/oombot/oombot/internal/bundletest"
	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/narrative"
	"github.com/oombot/oombot/internal/render"
	"github.com/oombot/oombot/internal/report"
)

// The -update flag rewrites testdata/golden. It is looked up rather than
// only defined so another test file of this package may define it too.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func blkUpdating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	v, _ := g.Get().(bool)
	return v
}

// blkRepoRoot is the module root, three levels up from this package.
func blkRepoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// blkBundleDirs lists every recorded bundle: the shipped examples and the
// test bundles (directories holding a bundle.yaml).
func blkBundleDirs(t testing.TB) []string {
	t.Helper()
	root := blkRepoRoot(t)
	var dirs []string
	for _, pattern := range []string{"examples/incidents/*/bundle.yaml", "testdata/bundles/*/bundle.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	if len(dirs) < 4 {
		t.Fatalf("found only %d bundles under %s", len(dirs), root)
	}
	return dirs
}

// blkTriage runs the real engine over a recorded bundle, as `bot triage
// --bundle` does, with source durations zeroed for stable output.
func blkTriage(t testing.TB, dir string) *report.Report {
	t.Helper()
	return bundletest.Triage(t, dir)
}

var blkGoldenOpts = BlockOptions{
	TriageID:     "tr-20260117-0001",
	Notice:       "Re-run by <@U0123ABCD>",
	EvidenceLink: "https://acme.slack.com/files/U0BOT/F0123/evidence.json",
	Buttons:      true,
}

// TestReportBlocksGolden pins the chat.postMessage payload (text and
// blocks) for the shipped examples and a healthy pod. Paste a golden file
// into Block Kit Builder to see it as Slack would.
func TestReportBlocksGolden(t *testing.T) {
	defer goleak.VerifyNone(t)
	root := blkRepoRoot(t)
	dirs, err := filepath.Glob(filepath.Join(root, "examples/incidents/*/bundle.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no example bundles: %v", err)
	}
	cases := []string{filepath.Join(root, "testdata/bundles/healthy")}
	for _, d := range dirs {
		cases = append(cases, filepath.Dir(d))
	}
	for _, dir := range cases {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			rep := blkTriage(t, dir)
			blocks := ReportBlocks(rep, blkGoldenOpts)
			blkValidate(t, blocks)
			payload := struct {
				Text   string           `json:"text"`
				Blocks []slackapi.Block `json:"blocks"`
			}{ReportText(rep), blocks}
			got, err := json.MarshalIndent(payload, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			blkGolden(t, filepath.Join("testdata/golden", name+".json"), append(got, '\n'))
		})
	}
}

func blkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if blkUpdating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/chat/slack -run Golden -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (run go test ./internal/chat/slack -run Golden -update after an intended change)\n--- got ---\n%s", path, got)
	}
}

// TestReportBlocksContent checks what an SRE must see in the reply, for
// a matched incident and a healthy pod.
func TestReportBlocksContent(t *testing.T) {
	defer goleak.VerifyNone(t)
	root := blkRepoRoot(t)
	cases := []struct {
		dir     string
		want    []string
		notWant []string
	}{
		{
			dir: "examples/incidents/image-decode-bomb",
			want: []string{
				"*OOMKilled by the container limit (exit 137) after a JVM OutOfMemoryError (Java heap space) — likely cause: image-decode-bomb",
				"*Likely cause: Image decode bomb* (`image-decode-bomb`), confidence 0.80",
				"✓ *heap-oom-in-image-decoder* (weight 0.60)",
				"`Caused by: java.lang.OutOfMemoryError: Java heap space` — logs/gateway.previous.log line 257",
				"*Next steps*",
				"1. *Check the dimensions before decoding.*",
				":warning: *JVM budget OVER the limit:*",
				"_last deploy before the first OOM_",
				"DataBufferByte.&lt;init&gt;",
				"Sources: bundle/gc ok",
				"bundle/histograms skipped: no class histograms recorded",
				"Re-run by <@U0123ABCD>",
			},
			notWant: []string{"No playbook matched", "**", "```java"},
		},
		{
			dir: "testdata/bundles/healthy",
			want: []string{
				"— no playbook matched; facts below",
				"*No playbook matched.* The facts above are all that can be said with citations.",
				"Closest playbooks considered:",
				"*OutOfMemoryError*\\nnone in the logs read",
			},
			notWant: []string{"Likely cause:", "*Next steps*"},
		},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			rep := blkTriage(t, filepath.Join(root, c.dir))
			raw, err := json.Marshal(ReportBlocks(rep, blkGoldenOpts))
			if err != nil {
				t.Fatal(err)
			}
			js := strings.ReplaceAll(string(raw), `\u0026`, "&")
			js = strings.ReplaceAll(strings.ReplaceAll(js, `\u003c`, "<"), `\u003e`, ">")
			for _, w := range c.want {
				if !strings.Contains(js, w) {
					t.Errorf("blocks lack %q", w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(js, w) {
					t.Errorf("blocks contain %q", w)
				}
			}
		})
	}
}

// TestNoMatchListsClosestConsidered: without a match the reply names the
// closest playbooks, best first, at most three.
func TestNoMatchListsClosestConsidered(t *testing.T) {
	rep := &report.Report{
		Verdict: "No OOM kill found — no playbook matched; facts below",
		Considered: []report.Considered{
			{ID: "low", Confidence: 0.1, Why: "no signal fired"},
			{ID: "best", Confidence: 0.45, Why: "confidence 0.45 below threshold 0.55"},
			{ID: "mid", Confidence: 0.3, Why: "required signal x did not fire", Errors: []string{"boom"}},
			{ID: "lowest", Confidence: 0},
		},
	}
	text := blkAllText(ReportBlocks(rep, BlockOptions{}))
	iBest, iMid, iLow := strings.Index(text, "`best` (0.45)"), strings.Index(text, "`mid` (0.30)"), strings.Index(text, "`low` (0.10)")
	if iBest < 0 || iMid < 0 || iLow < 0 || !(iBest < iMid && iMid < iLow) {
		t.Errorf("closest playbooks not listed best first:\n%s", text)
	}
	if strings.Contains(text, "`lowest`") || !strings.Contains(text, "… and 1 more") {
		t.Errorf("more than three considered playbooks listed:\n%s", text)
	}
	if !strings.Contains(text, "1 evaluation error(s)") {
		t.Errorf("evaluation errors not mentioned:\n%s", text)
	}
}

// TestButtons: four buttons with the chat action ids, each carrying the
// triage id; none without a triage id or when not asked for.
func TestButtons(t *testing.T) {
	rep := &report.Report{Verdict: "v"}
	for _, c := range []struct {
		name string
		o    BlockOptions
		want bool
	}{
		{"on", BlockOptions{TriageID: "tr-1", Buttons: true}, true},
		{"off", BlockOptions{TriageID: "tr-1"}, false},
		{"no triage id", BlockOptions{Buttons: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			blocks := ReportBlocks(rep, c.o)
			var act *slackapi.ActionBlock
			for _, b := range blocks {
				if a, ok := b.(*slackapi.ActionBlock); ok {
					act = a
				}
			}
			if (act != nil) != c.want {
				t.Fatalf("actions block present = %v, want %v", act != nil, c.want)
			}
			if act == nil {
				return
			}
			if blocks[len(blocks)-1] != slackapi.Block(act) {
				t.Error("the buttons are not the last block")
			}
			want := []string{chat.ActionRerun, chat.ActionHelpful, chat.ActionWrong, chat.ActionEvidence}
			if len(act.Elements.ElementSet) != len(want) {
				t.Fatalf("%d buttons, want %d", len(act.Elements.ElementSet), len(want))
			}
			for i, e := range act.Elements.ElementSet {
				b, ok := e.(*slackapi.ButtonBlockElement)
				if !ok || b.ActionID != want[i] || b.Value != c.o.TriageID {
					t.Errorf("button %d = %+v, want action %s value %s", i, e, want[i], c.o.TriageID)
				}
			}
		})
	}
}

// TestSourcesHighlighted: failed and partial sources stand out, with their
// error; the warning count is shown.
func TestSourcesHighlighted(t *testing.T) {
	rep := &report.Report{
		Verdict: "v",
		Sources: []report.SourceStatus{
			{Name: "prometheus", Status: "failed", Error: "timed out after 5s"},
			{Name: "kubernetes/pod", Status: "ok", Duration: time.Second},
			{Name: "kubernetes/logs", Status: "partial", Error: "log capped at 10MiB"},
		},
		Warnings: []string{"a", "b"},
	}
	text := blkAllText(ReportBlocks(rep, BlockOptions{}))
	for _, w := range []string{
		"Sources: :warning: kubernetes/logs *partial*: log capped at 10MiB · kubernetes/pod ok · :x: prometheus *failed*: timed out after 5s",
		":warning: 2 warnings",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("footer lacks %q:\n%s", w, text)
		}
	}
}

// TestHistoryLine: a workload triaged before says so under the target,
// escaped, with a link to the previous thread only when it is a plain URL.
func TestHistoryLine(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rep := &report.Report{Verdict: "v", Target: evidence.Target{Namespace: "edge", Pod: "p"},
		History: &report.History{Count: 3, Since: at.Add(-7 * 24 * time.Hour), LastAt: at, LastPlaybook: "lock-growth", LastVerdict: blkHostile}}
	for _, c := range []struct {
		link, want string
		linked     bool
	}{
		{"https://acme.slack.com/archives/C1/p1", "triaged 3 times before since 2026-11-13T09:00:00Z; last 2026-11-20T09:00:00Z (lock-growth): &lt;!channel&gt;", true},
		{"javascript:alert(1)", ":repeat: triaged 3 times before", false},
		{"", "(lock-growth)", false},
	} {
		text := blkAllText(ReportBlocks(rep, BlockOptions{HistoryLink: c.link}))
		if !strings.Contains(text, c.want) {
			t.Errorf("link %q: history line lacks %q:\n%s", c.link, c.want, text)
		}
		if got := strings.Contains(text, "|previous thread>"); got != c.linked {
			t.Errorf("link %q: linked=%v, want %v", c.link, got, c.linked)
		}
		if strings.Contains(text, "<!channel>") {
			t.Errorf("unescaped broadcast in %q", text)
		}
	}
	rep.History = &report.History{Count: 0}
	if text := blkAllText(ReportBlocks(rep, BlockOptions{})); strings.Contains(text, "triaged") {
		t.Errorf("empty history rendered: %s", text)
	}
}

// blkHostile is what a log line, an alert or a model could put in front of
// the bot, hoping for a ping or a disguised link.
const blkHostile = "<!channel> <!here> <@U999EVIL> <#C999> <https://evil.example|click me> @here & <script> ```"

// blkAllowedToken is everything a rendered mrkdwn text may contain after a
// raw '<': the notice's user mention and http(s) links we built ourselves.
var blkAllowedToken = regexp.MustCompile(`^<(@U0123ABCD|https://docs\.example/[^|<>]+\|[^<>]*)>`)

// TestEscaping: untrusted text reaches Slack escaped, so nothing pings,
// links or breaks out of a code span.
func TestEscaping(t *testing.T) {
	rep := blkHostileReport(1, 200)
	// The notice may keep a user mention (the bot writes "Re-run by
	// <@U…>"), nothing else: no broadcast, channel reference or link.
	o := BlockOptions{TriageID: "tr-1", Buttons: true,
		Notice:       "Re-run by <@U0123ABCD> <!channel> <!here> <#C999> <https://evil.example|click me> & <script>",
		EvidenceLink: "javascript:alert(1)"}
	check := func(t *testing.T, blocks []slackapi.Block) {
		t.Helper()
		blkValidate(t, blocks)
		for _, txt := range blkTexts(blocks) {
			if txt.Type != slackapi.MarkdownType {
				continue
			}
			if !txt.Verbatim {
				t.Errorf("mrkdwn text not verbatim (Slack would auto-link @here): %q", txt.Text)
			}
			s := txt.Text
			for i := strings.IndexByte(s, '<'); i >= 0; i = strings.IndexByte(s, '<') {
				if loc := blkAllowedToken.FindString(s[i:]); loc == "" {
					t.Errorf("unescaped < in %q", s[i:min(len(s), i+40)])
					break
				} else {
					s = s[i+len(loc):]
				}
			}
			for _, bad := range []string{"<https://evil", "javascript:", "<!", "<@U999", "<#C999"} {
				if strings.Contains(txt.Text, bad) {
					t.Errorf("%q survived in %q", bad, txt.Text)
				}
			}
		}
	}
	t.Run("report", func(t *testing.T) {
		blocks := ReportBlocks(rep, o)
		check(t, blocks)
		all := blkAllText(blocks)
		for _, w := range []string{"&lt;!channel&gt;", "&amp;", "Re-run by <@U0123ABCD> &lt;!channel&gt;"} {
			if !strings.Contains(all, w) {
				t.Errorf("rendered text lacks %q", w)
			}
		}
		// A backtick in cited text must not close the code span early.
		for _, line := range strings.Split(all, "\n") {
			if strings.Contains(line, " — logs/app.log") && strings.Count(line, "`")%2 != 0 {
				t.Errorf("unbalanced code span: %q", line)
			}
		}
	})
	t.Run("no match", func(t *testing.T) {
		r := *rep
		r.Matches = nil
		r.Considered = []report.Considered{{ID: blkHostile, Why: blkHostile}}
		check(t, ReportBlocks(&r, o))
	})
	t.Run("narrative", func(t *testing.T) {
		check(t, NarrativeBlocks(&narrative.Narrative{
			Statements: []narrative.Statement{{Text: blkHostile, Evidence: []string{blkHostile}}},
			Hypotheses: []narrative.Hypothesis{{Rank: 1, Text: blkHostile, Evidence: []string{"oom-1"}}},
			Model:      blkHostile,
		}))
	})
	t.Run("fallback text", func(t *testing.T) {
		txt := ReportText(rep)
		if strings.Contains(txt, "<") || !strings.Contains(txt, "&lt;!channel&gt;") {
			t.Errorf("fallback text not escaped: %q", txt)
		}
	})
}

// TestLimits is the property test: for every recorded bundle's report, and
// for hostile and oversized synthetic ones, every Block Kit limit holds and
// the blocks are structurally what Slack accepts.
func TestLimits(t *testing.T) {
	defer goleak.VerifyNone(t)
	type tc struct {
		name string
		rep  *report.Report
		o    BlockOptions
	}
	var cases []tc
	for _, dir := range blkBundleDirs(t) {
		cases = append(cases, tc{"bundle/" + filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir), blkTriage(t, dir), blkGoldenOpts})
	}
	huge := strings.Repeat("é<!channel>`x&", 10*1024/14)
	cases = append(cases,
		tc{"nil report", nil, blkGoldenOpts},
		tc{"empty report", &report.Report{}, BlockOptions{}},
		tc{"huge", blkHostileReport(200, 10*1024), BlockOptions{TriageID: huge, Notice: huge, EvidenceLink: "https://x/" + strings.Repeat("a", 5000), Buttons: true}},
		tc{"huge no match", func() *report.Report { r := blkHostileReport(0, 10*1024); return r }(), BlockOptions{Notice: huge}},
		tc{"huge history", func() *report.Report {
			r := blkHostileReport(3, 10*1024)
			r.History = &report.History{Count: 1 << 20, LastVerdict: huge, LastPlaybook: huge}
			return r
		}(), BlockOptions{HistoryLink: "https://x/" + strings.Repeat("a", 900), Notice: huge}},
	)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		r := blkHostileReport(rng.IntN(8), 1+rng.IntN(6000))
		cases = append(cases, tc{fmt.Sprintf("random/%d", i), r, BlockOptions{TriageID: "t", Buttons: rng.IntN(2) == 0, Notice: strings.Repeat("n", rng.IntN(4000))}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blocks := ReportBlocks(c.rep, c.o)
			if len(blocks) == 0 {
				t.Fatal("no blocks")
			}
			blkValidate(t, blocks)
			if n := utf8.RuneCountInString(ReportText(c.rep)); n > slackMaxFallbackText || n == 0 {
				t.Errorf("fallback text is %d characters", n)
			}
		})
	}
	t.Run("huge narrative", func(t *testing.T) {
		n := &narrative.Narrative{Model: huge}
		for i := range 500 {
			n.Statements = append(n.Statements, narrative.Statement{Text: huge, Evidence: []string{fmt.Sprint("e", i), huge}})
			n.Hypotheses = append(n.Hypotheses, narrative.Hypothesis{Text: huge})
		}
		blkValidate(t, NarrativeBlocks(n))
	})
}

// TestTruncationIsVisible: what is cut says so and points at the raw
// evidence, instead of silently dropping it.
func TestTruncationIsVisible(t *testing.T) {
	blocks := ReportBlocks(blkHostileReport(200, 10*1024), BlockOptions{TriageID: "t", Buttons: true})
	all := blkAllText(blocks)
	if !strings.Contains(all, blkTruncatedMark) {
		t.Error("a truncated report does not say so")
	}
	if !strings.Contains(all, "Also matched, not shown: m-3 (") {
		t.Error("matches beyond the third are not named")
	}
	if _, ok := blocks[len(blocks)-1].(*slackapi.ActionBlock); !ok {
		t.Error("the buttons were cut from a huge report")
	}
}

// TestRoundTrip: slack-go decodes our JSON back into the same blocks, as
// a Socket Mode client decoding the message would; a malformed block would
// make it fail or change type.
func TestRoundTrip(t *testing.T) {
	defer goleak.VerifyNone(t)
	reps := map[string]*report.Report{
		"image-decode-bomb": blkTriage(t, filepath.Join(blkRepoRoot(t), "examples/incidents/image-decode-bomb")),
		"huge":              blkHostileReport(200, 10*1024),
	}
	for name, rep := range reps {
		t.Run(name, func(t *testing.T) {
			sets := [][]slackapi.Block{
				ReportBlocks(rep, blkGoldenOpts),
				NarrativeBlocks(&narrative.Narrative{Statements: []narrative.Statement{{Text: "s", Evidence: []string{"oom-1"}}}, Model: "m"}),
			}
			for _, blocks := range sets {
				raw, err := json.Marshal(slackapi.Blocks{BlockSet: blocks})
				if err != nil {
					t.Fatal(err)
				}
				var back slackapi.Blocks
				if err := json.Unmarshal(raw, &back); err != nil {
					t.Fatalf("slack-go rejects our blocks: %v", err)
				}
				if len(back.BlockSet) != len(blocks) {
					t.Fatalf("%d blocks back, sent %d", len(back.BlockSet), len(blocks))
				}
				for i := range blocks {
					if got, want := back.BlockSet[i].BlockType(), blocks[i].BlockType(); got != want {
						t.Errorf("block %d: type %s back, sent %s", i, got, want)
					}
					if got, want := back.BlockSet[i].ID(), blocks[i].ID(); got != want {
						t.Errorf("block %d: id %s back, sent %s", i, got, want)
					}
				}
				for _, txt := range blkTexts(back.BlockSet) {
					if err := txt.Validate(); err != nil {
						t.Errorf("slack-go's validation: %v: %q", err, txt.Text)
					}
				}
				again, err := json.Marshal(back)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, again) {
					t.Errorf("re-encoding changed the blocks:\n%s\n%s", raw, again)
				}
			}
		})
	}
}

// TestNarrativeBlocksGolden pins the narrative's wording: statements with their
// evidence ids, hypotheses labelled unverified, the model in the context.
func TestNarrativeBlocksGolden(t *testing.T) {
	if NarrativeBlocks(nil) != nil {
		t.Error("a nil narrative renders blocks")
	}
	cases := []struct {
		name    string
		n       *narrative.Narrative
		want    []string
		notWant []string
	}{
		{
			name: "statements",
			n: &narrative.Narrative{
				Statements: []narrative.Statement{{Text: "The heap ran out while decoding an image.", Evidence: []string{"oom-1", "gc-1"}}},
				Model:      "llama-3.1-8b", PromptTokens: 1200, CompletionTokens: 80, Dropped: 1,
			},
			want:    []string{"*" + render.NarrativeHeading + "*", "• The heap ran out while decoding an image. `oom-1` `gc-1`", "model `llama-3.1-8b` · 1200+80 tokens · 1 statement(s) dropped by validation"},
			notWant: []string{"hypotheses"},
		},
		{
			name: "hypotheses",
			n: &narrative.Narrative{
				Hypotheses: []narrative.Hypothesis{{Rank: 1, Text: "A cache grows without bound.", Evidence: []string{"trend-3"}}, {Text: "Traffic doubled."}},
				Model:      "m", Cached: true,
			},
			want: []string{"*Unverified hypotheses (no playbook matched)*", "1. A cache grows without bound. `trend-3`", "2. Traffic doubled.", "model `m` · cached"},
		},
		{
			name: "empty",
			n:    &narrative.Narrative{},
			want: []string{"_(nothing the model wrote passed validation)_"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blocks := NarrativeBlocks(c.n)
			blkValidate(t, blocks)
			all := blkAllText(blocks)
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("narrative lacks %q:\n%s", w, all)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(strings.ToLower(all), w) {
					t.Errorf("narrative contains %q:\n%s", w, all)
				}
			}
		})
	}
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetIndent("", "  ")
	if err := enc.Encode(NarrativeBlocks(cases[0].n)); err != nil {
		t.Fatal(err)
	}
	blkGolden(t, "testdata/golden/narrative.json", got.Bytes())
}

func TestBlkPack(t *testing.T) {
	long := strings.Repeat("x", 90)
	cases := []struct {
		name      string
		lines     []string
		limit     int
		maxChunks int
		want      []string
	}{
		{"fits", []string{"a", "b"}, 100, 2, []string{"a\nb"}},
		{"empty", nil, 100, 2, nil},
		{"splits", []string{long, long}, 200, 2, []string{long, long}},
		{"truncates", []string{long, long, long}, 200, 2, []string{long, long + "\n" + blkTruncatedMark}},
		{"reopens fence", []string{"```", long, long, "```"}, 200, 3, []string{"```\n" + long + "\n```", "```\n" + long + "\n```"}},
		{"closes fence when truncating", []string{"```", long, long, "```"}, 200, 1, []string{"```\n" + long + "\n```\n" + blkTruncatedMark}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := blkPack(c.lines, c.limit, c.maxChunks)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
			for _, s := range got {
				if utf8.RuneCountInString(s) > c.limit {
					t.Errorf("chunk of %d > %d", utf8.RuneCountInString(s), c.limit)
				}
			}
		})
	}
}

func TestBlkCut(t *testing.T) {
	mark := "\n" + blkTruncatedMark
	cases := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "abc", 10, "abc"},
		{"plain", strings.Repeat("a", 100), 50, strings.Repeat("a", 50-len([]rune(mark))) + mark},
		{"no half entity", strings.Repeat("a", 9) + "&amp;" + strings.Repeat("b", 100), 50, strings.Repeat("a", 9) + mark},
		{"no half token", strings.Repeat("a", 9) + "<@U0123>" + strings.Repeat("b", 100), 49, strings.Repeat("a", 9) + mark},
		{"runes not bytes", strings.Repeat("é", 100), 50, strings.Repeat("é", 50-len([]rune(mark))) + mark},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := blkCut(c.in, c.n); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestBlkMarkdown(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1. **Find who keeps the locks.** Compare", "1. *Find who keeps the locks.* Compare"},
		{"- `jcmd <pid> GC.class_histogram` **now**", "• `jcmd &lt;pid&gt; GC.class_histogram` *now*"},
		{"keep `a**b` as code", "keep `a**b` as code"},
		{"   ```java\n   Map<K, V> m;\n   ```", "   ```\n   Map&lt;K, V&gt; m;\n   ```"},
		{"## Heading", "*Heading*"},
		{"R&D <!channel>", "R&amp;D &lt;!channel&gt;"},
		{"1. **Check** the header, which\n   costs little:\n   ```\n   x\n   ```\n   Budget it\n   well.\n2. Next\n\nNew paragraph\nwrapped", "1. *Check* the header, which costs little:\n   ```\n   x\n   ```\n   Budget it well.\n2. Next\n\nNew paragraph wrapped"},
		{"- a\n- b\n  continued", "• a\n• b continued"},
	}
	for _, c := range cases {
		if got := strings.Join(blkMarkdown(c.in), "\n"); got != c.want {
			t.Errorf("blkMarkdown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBlkSanitizeNotice(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Re-run by <@U1ABC>", "Re-run by <@U1ABC>"},
		{"see <#C0123|oncall> and <https://x.example/a?b=1|runbook>", "see &lt;#C0123|oncall&gt; and &lt;https://x.example/a?b=1|runbook&gt;"},
		{"by <@U1ABC> and <@W2>", "by <@U1ABC> and <@W2>"},
		{"Also firing: <!channel> & <!here>", "Also firing: &lt;!channel&gt; &amp; &lt;!here&gt;"},
		{"<javascript:alert(1)|x>", "&lt;javascript:alert(1)|x&gt;"},
	}
	for _, c := range cases {
		if got := blkSanitizeNotice(c.in); got != c.want {
			t.Errorf("blkSanitizeNotice(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// blkHostileReport builds a synthetic report with matches matches whose
// every text is hostile and lineLen characters long (multi-byte included).
func blkHostileReport(matches, lineLen int) *report.Report {
	// Lines are memoised: 30,000 citations of 10 KB each share a few strings.
	memo := map[string]string{}
	line := func(prefix string) string {
		if s, ok := memo[prefix]; ok {
			return s
		}
		s := prefix + " " + blkHostile + " é日本 `tick` "
		for utf8.RuneCountInString(s) < lineLen {
			s += s
		}
		s = string([]rune(s)[:max(lineLen, len([]rune(prefix)))])
		memo[prefix] = s
		return s
	}
	r := &report.Report{
		Target:  evidence.Target{Cluster: line("cluster"), Namespace: "ns", Pod: line("pod"), Container: line("c"), WorkloadKind: "Deployment", WorkloadName: line("wl")},
		FiredAt: time.Date(2026, 1, 17, 3, 13, 13, 0, time.UTC),
		Verdict: line("verdict"),
		Termination: report.Termination{State: "terminated", Reason: line("OOMKilled"), ExitCode: 137, ExitMeaning: line("SIGKILL"),
			Killer: evidence.KillBoth, Explanation: line("explanation")},
		Facts: report.Facts{Restarts: 15, RestartsLast24h: 3, RestartsPerHour: 0.2, CrashLoopBackOff: true, MemoryLimitBytes: 1 << 30,
			IsJVM: true, JVMBudgetBytes: 2 << 30, BudgetOverLimit: true, BudgetSummary: line("JVM budget"), OOMErrors: 3,
			FirstOOM: time.Date(2026, 1, 17, 3, 12, 0, 0, time.UTC), LastDeploy: line("deploy"), LastDeployBeforeOOM: true},
		Warnings: []string{line("w")},
		Evidence: &evidence.Evidence{},
	}
	for i := range matches {
		m := report.Match{ID: fmt.Sprintf("m-%d", i), Title: line("title"), Summary: line("summary"), Confidence: 0.9 - float64(i)/1000,
			NextSteps:  "1. **Do** `it` " + line("step") + "\n```java\n" + strings.Repeat(line("code")+"\n", 20) + "```\n" + strings.Repeat("- "+line("more")+"\n", 20),
			References: []report.Reference{{Title: line("ref"), URL: "https://docs.example/x?a=1&b=2"}, {Title: "bad", URL: "javascript:alert(1)"}}}
		for range 6 {
			sig := report.Signal{Name: line("sig"), Description: line("desc"), Weight: 0.5}
			for k := range 5 {
				it := report.Cited{ID: fmt.Sprint("it-", k), Summary: line("item")}
				for c := range 5 {
					it.Cites = append(it.Cites, evidence.Citation{Source: "logs/app.log", Ref: fmt.Sprint("line ", c), Text: line("cite")})
				}
				sig.Evidence = append(sig.Evidence, it)
			}
			m.Signals = append(m.Signals, sig)
		}
		r.Matches = append(r.Matches, m)
	}
	for i := range 200 {
		r.Considered = append(r.Considered, report.Considered{ID: fmt.Sprint("c-", i), Confidence: float64(i%10) / 10, Why: line("why"), Errors: []string{line("err")}})
	}
	for i := range 100 {
		r.Sources = append(r.Sources, report.SourceStatus{Name: fmt.Sprint("src-", i), Status: []string{"ok", "failed", "partial", "skipped"}[i%4], Error: line("error")})
	}
	return r
}

// blkTexts returns every text object in the blocks.
func blkTexts(blocks []slackapi.Block) []*slackapi.TextBlockObject {
	var out []*slackapi.TextBlockObject
	for _, b := range blocks {
		switch b := b.(type) {
		case *slackapi.SectionBlock:
			if b.Text != nil {
				out = append(out, b.Text)
			}
			out = append(out, b.Fields...)
		case *slackapi.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slackapi.TextBlockObject); ok {
					out = append(out, t)
				}
			}
		case *slackapi.HeaderBlock:
			out = append(out, b.Text)
		case *slackapi.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
					out = append(out, btn.Text)
				}
			}
		}
	}
	return out
}

func blkAllText(blocks []slackapi.Block) string {
	var parts []string
	for _, t := range blkTexts(blocks) {
		parts = append(parts, t.Text)
	}
	return strings.Join(parts, "\n")
}

// blkEntity matches the only entities we write; any other '&' is raw.
var blkEntity = regexp.MustCompile(`^&(amp|lt|gt);`)

// Slack's documented limits, restated here rather than taken from
// blocks.go so a wrong constant there cannot make the check pass.
const (
	slackMaxBlocks       = 50
	slackMaxText         = 3000
	slackMaxFields       = 10
	slackMaxFieldText    = 2000
	slackMaxContextElems = 10
	slackMaxHeaderText   = 150
	slackMaxButtonText   = 75
	slackMaxButtonValue  = 2000
	slackMaxFallbackText = 4000
)

// blkValidate checks the marshalled blocks against what Slack requires of
// a message: block count, per-type required fields, text lengths, unique
// block and action ids, and well-formed mrkdwn (no raw '&').
func blkValidate(t *testing.T, blocks []slackapi.Block) {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 || len(bs) > slackMaxBlocks {
		t.Errorf("%d blocks; Slack allows 1..%d", len(bs), slackMaxBlocks)
	}
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	text := func(where string, v any, maxLen int, wantType string) {
		obj, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: not a text object: %v", where, v)
			return
		}
		typ, _ := obj["type"].(string)
		s, _ := obj["text"].(string)
		if typ != "mrkdwn" && typ != "plain_text" || wantType != "" && typ != wantType {
			t.Errorf("%s: text type %q", where, typ)
		}
		if strings.TrimSpace(s) == "" {
			t.Errorf("%s: empty text", where)
		}
		if n := utf8.RuneCountInString(s); n > maxLen {
			t.Errorf("%s: %d characters > %d", where, n, maxLen)
		}
		if typ == "mrkdwn" {
			if _, ok := obj["emoji"]; ok {
				t.Errorf("%s: emoji set on mrkdwn", where)
			}
			for i := strings.IndexByte(s, '&'); i >= 0; {
				if !blkEntity.MatchString(s[i:]) {
					t.Errorf("%s: raw & in %q", where, s[i:min(len(s), i+20)])
					break
				}
				j := strings.IndexByte(s[i+1:], '&')
				if j < 0 {
					break
				}
				i += 1 + j
			}
		}
	}
	for i, b := range bs {
		where := fmt.Sprintf("block %d", i)
		typ, _ := b["type"].(string)
		if id, ok := b["block_id"].(string); ok {
			if id == "" || len(id) > 255 || blockIDs[id] {
				t.Errorf("%s: block_id %q empty, too long or repeated", where, id)
			}
			blockIDs[id] = true
		}
		switch typ {
		case "section":
			fields, _ := b["fields"].([]any)
			if b["text"] == nil && len(fields) == 0 {
				t.Errorf("%s: section without text or fields", where)
			}
			if b["text"] != nil {
				text(where+" text", b["text"], slackMaxText, "")
			}
			if len(fields) > slackMaxFields {
				t.Errorf("%s: %d fields", where, len(fields))
			}
			for k, f := range fields {
				text(fmt.Sprintf("%s field %d", where, k), f, slackMaxFieldText, "")
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > slackMaxContextElems {
				t.Errorf("%s: %d context elements", where, len(els))
			}
			for k, e := range els {
				text(fmt.Sprintf("%s element %d", where, k), e, slackMaxText, "")
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				t.Errorf("%s: %d elements", where, len(els))
			}
			for k, e := range els {
				btn, _ := e.(map[string]any)
				id, _ := btn["action_id"].(string)
				val, _ := btn["value"].(string)
				if btn["type"] != "button" || id == "" || len(id) > 255 || actionIDs[id] {
					t.Errorf("%s button %d: type %v action_id %q (empty, long or repeated)", where, k, btn["type"], id)
				}
				actionIDs[id] = true
				if n := utf8.RuneCountInString(val); n > slackMaxButtonValue {
					t.Errorf("%s button %d: value of %d characters", where, k, n)
				}
				text(fmt.Sprintf("%s button %d", where, k), btn["text"], slackMaxButtonText, "plain_text")
			}
		case "header":
			text(where, b["text"], slackMaxHeaderText, "plain_text")
		case "divider":
		default:
			t.Errorf("%s: unexpected block type %q", where, typ)
		}
	}
}

func benchReport(b *testing.B) *report.Report {
	b.Helper()
	return blkTriage(b, filepath.Join(blkRepoRoot(b), "examples/incidents/image-decode-bomb"))
}

// BenchmarkReportBlocks measures rendering a real report as blocks (and
// marshalling them, as posting does); compare with BenchmarkRenderText.
func BenchmarkReportBlocks(b *testing.B) {
	rep := benchReport(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(ReportBlocks(rep, blkGoldenOpts)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderText is the baseline: the terminal rendering of the same
// report.
func BenchmarkRenderText(b *testing.B) {
	rep := benchReport(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := render.Text(io.Discard, rep, render.TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
