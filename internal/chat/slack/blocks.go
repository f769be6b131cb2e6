package slack

// Block Kit rendering of a triage report and its narrative.
//
// Everything that comes from evidence (log lines, alert text, pod names, the
// model's wording) is untrusted: it is escaped for mrkdwn (&, <, >) so a log
// line holding <!channel> can never ping a channel or smuggle a link, and
// every mrkdwn text object is marked verbatim so Slack does not auto-link
// bare URLs, #channels or @here either. Slack's size limits are enforced
// here by truncating with a pointer to the raw evidence, never by failing:
// a report that is posted incomplete beats one that is rejected.

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/evidence"
	"github.com/oombot/oombot/internal/narrative"
	"github.com/oombot/oombot/internal/render"
	"github.com/oombot/oombot/internal/report"
)

// Block Kit limits (see /work/shared/API-NOTES.md and Slack's block
// reference). Lengths are in characters, counted after escaping, which
// only ever makes a text longer.
const (
	blkMaxBlocks        = 50
	blkMaxSectionText   = 3000
	blkMaxFields        = 10
	blkMaxFieldText     = 2000
	blkMaxContextElems  = 10
	blkMaxButtonText    = 75
	blkMaxButtonValue   = 2000
	blkMaxFallbackRunes = 4000
)

// Content budgets: what fits in a thread reply an SRE reads on a phone.
const (
	blkMaxMatches       = 3
	blkMaxItemsPerSig   = 3
	blkMaxCitesPerItem  = 2
	blkMaxCiteRunes     = 160
	blkMaxLineRunes     = 300
	blkMaxSummaryRunes  = 700
	blkMaxConsidered    = 3
	blkMaxMatchBlocks   = 2
	blkMaxNextStepBlock = 3
	blkMaxErrorRunes    = 240 // room for "RBAC does not allow get pods/log in namespace …" and the kubelet hint
	blkMaxVerdictRunes  = 500
)

// blkTruncatedMark ends any text or message that had to be cut.
const blkTruncatedMark = "… (truncated; use Show raw evidence)"

// BlockOptions tune ReportBlocks.
type BlockOptions struct {
	// TriageID is the value of every button, so a click can be traced back
	// to its triage.
	TriageID string
	// Notice is a short line shown above the report ("Re-run by <@U1>",
	// "Also firing: …"). User mentions (<@U…>) are kept; everything else
	// Slack would parse, such as <!channel> or a <url|label> link, is
	// escaped.
	Notice string
	// EvidenceLink, when an http(s) URL, is linked from the footer (for
	// example the permalink of the raw-evidence snippet).
	EvidenceLink string
	// HistoryLink, when an http(s) URL, links the workload's previous
	// triage from the history line.
	HistoryLink string
	// Buttons adds the actions row (re-run, feedback, raw evidence). It
	// needs TriageID: without one a click could not be traced.
	Buttons bool
}

// ReportBlocks renders a report as Block Kit blocks, most important first:
// the verdict, the key facts, the top playbook matches with the evidence
// that fired them, next steps, the sources' status and the action buttons.
// The result always satisfies Slack's limits.
func ReportBlocks(rep *report.Report, o BlockOptions) []slackapi.Block {
	var head []slackapi.Block
	if n := strings.TrimSpace(o.Notice); n != "" {
		head = append(head, blkContext("oom_notice", blkCut(blkSanitizeNotice(n), blkMaxSectionText)))
	}
	if rep == nil {
		return append(head, blkSection("oom_verdict", "No report was produced."))
	}
	head = append(head, blkSection("oom_verdict", "*"+blkEsc(blkCutRaw(blkVerdict(rep), blkMaxVerdictRunes))+"*"))
	if t := blkTarget(rep); t != "" {
		head = append(head, blkContext("oom_target", t))
	}
	if h := rep.History; h != nil && h.Count > 0 {
		line := ":repeat: " + blkEsc(blkCutRaw(render.HistoryLine(h), blkMaxSectionText-200))
		if l := blkLink(o.HistoryLink, "previous thread"); l != "" {
			line += " · " + l
		}
		head = append(head, blkContext("oom_history", line))
	}
	head = append(head, blkFacts(rep))
	head = append(head, slackapi.NewDividerBlock())

	var body []slackapi.Block
	if len(rep.Matches) == 0 {
		body = append(body, blkNoMatch(rep)...)
	}
	for i, m := range rep.Matches {
		if i == blkMaxMatches {
			body = append(body, blkContext("oom_more_matches", blkMoreMatches(rep.Matches[i:])))
			break
		}
		body = append(body, blkMatch(i, m)...)
		if i == 0 {
			body = append(body, blkNextSteps(m)...)
		}
	}

	tail := []slackapi.Block{slackapi.NewDividerBlock(), blkFooter(rep, o)}
	if o.Buttons && o.TriageID != "" {
		tail = append(tail, blkActions(o.TriageID))
	}

	// The facts, the sources and the buttons always fit; the middle gives
	// way when a pathological report has too much to say.
	room := blkMaxBlocks - len(head) - len(tail)
	if len(body) > room {
		body = append(body[:room-1], blkContext("oom_truncated", blkTruncatedMark))
	}
	blocks := append(append(head, body...), tail...)
	blkAssignIDs(blocks)
	return blocks
}

// ReportText is the message's plain text: what notifications and clients
// without Block Kit show. It is escaped like the blocks and at most 4000
// characters.
func ReportText(rep *report.Report) string {
	if rep == nil {
		return "oombot: no report was produced"
	}
	var b strings.Builder
	b.WriteString(blkEsc(blkCutRaw(blkVerdict(rep), blkMaxVerdictRunes)))
	if rep.Target.Pod != "" {
		b.WriteString("\n" + blkEsc(rep.Target.Namespace+"/"+rep.Target.Pod))
	}
	if len(rep.Matches) > 0 {
		m := rep.Matches[0]
		b.WriteString(fmt.Sprintf("\nLikely cause: %s (confidence %.2f)", blkEsc(blkOneLine(m.Title)), m.Confidence))
	}
	return blkCut(b.String(), blkMaxFallbackRunes)
}

// NarrativeBlocks renders the LLM narrative posted after a report: each
// statement with the evidence ids it cites, the ranked hypotheses (only when
// no playbook matched) labelled as unverified, and the model in a context
// line. A nil narrative renders nothing.
func NarrativeBlocks(n *narrative.Narrative) []slackapi.Block {
	if n == nil {
		return nil
	}
	blocks := []slackapi.Block{blkSection("oom_narrative", "*"+blkEsc(render.NarrativeHeading)+"*")}
	var lines []string
	for _, s := range n.Statements {
		lines = append(lines, "• "+blkEsc(blkCutRaw(blkOneLine(s.Text), blkMaxLineRunes*2))+blkIDs(s.Evidence))
	}
	if len(n.Hypotheses) > 0 {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, "*Unverified hypotheses (no playbook matched)*, ranked by the model:")
		for i, h := range n.Hypotheses {
			rank := h.Rank
			if rank <= 0 {
				rank = i + 1
			}
			lines = append(lines, fmt.Sprintf("%d. %s%s", rank, blkEsc(blkCutRaw(blkOneLine(h.Text), blkMaxLineRunes*2)), blkIDs(h.Evidence)))
		}
	}
	if len(lines) == 0 {
		lines = append(lines, "_(nothing the model wrote passed validation)_")
	}
	for _, t := range blkPack(lines, blkMaxSectionText, blkMaxBlocks-3) {
		blocks = append(blocks, blkSection("oom_narrative_body", t))
	}
	var meta []string
	if n.Model != "" {
		meta = append(meta, "model "+blkCode(n.Model, 100))
	}
	switch {
	case n.Cached:
		meta = append(meta, "cached")
	case n.PromptTokens > 0 || n.CompletionTokens > 0:
		meta = append(meta, fmt.Sprintf("%d+%d tokens", n.PromptTokens, n.CompletionTokens))
	}
	if n.Dropped > 0 {
		meta = append(meta, fmt.Sprintf("%d statement(s) dropped by validation", n.Dropped))
	}
	meta = append(meta, "the report above is authoritative")
	blocks = append(blocks, blkContext("oom_narrative_meta", strings.Join(meta, " · ")))
	blkAssignIDs(blocks)
	return blocks
}

// blkVerdict is the report's verdict on one line, never empty.
func blkVerdict(rep *report.Report) string {
	if v := blkOneLine(rep.Verdict); v != "" {
		return v
	}
	return "Triage finished"
}

// blkTarget is the line under the verdict: which pod, where, when.
func blkTarget(rep *report.Report) string {
	t := rep.Target
	if t.Pod == "" {
		return ""
	}
	parts := []string{blkCode(t.Namespace+"/"+t.Pod, 300)}
	if t.Container != "" {
		parts = append(parts, "container "+blkCode(t.Container, 100))
	}
	if t.WorkloadKind != "" {
		parts = append(parts, blkEsc(blkCutRaw(t.WorkloadKind+" "+t.WorkloadName, 300)))
	}
	if t.Cluster != "" {
		parts = append(parts, "cluster "+blkEsc(blkCutRaw(t.Cluster, 200)))
	}
	if !rep.FiredAt.IsZero() {
		parts = append(parts, "alert fired "+blkTS(rep.FiredAt))
	}
	return strings.Join(parts, " · ")
}

// blkFacts is one section: who killed the process as text, the numbers an
// SRE asks for first as fields.
func blkFacts(rep *report.Report) slackapi.Block {
	t, f := rep.Termination, rep.Facts
	var fields []string
	field := func(title, value string) {
		fields = append(fields, blkCut("*"+title+"*\n"+value, blkMaxFieldText))
	}

	term := "no termination recorded"
	if t.State != "" {
		term = blkEsc(t.State)
		if t.Reason != "" {
			term = fmt.Sprintf("%s, exit %d", blkCode(t.Reason, 60), t.ExitCode)
		}
	}
	term += "\n" + blkKiller(t.Killer)
	if t.ExitMeaning != "" {
		term += "\n" + blkEsc(blkCutRaw(t.ExitMeaning, blkMaxLineRunes))
	}
	field("Termination", term)

	restarts := fmt.Sprintf("%d total", f.Restarts)
	if f.Restarts > 0 {
		restarts += fmt.Sprintf(" (%.1f/day)\n%d recorded in the last 24h", f.RestartsPerHour*24, f.RestartsLast24h)
	}
	if f.CrashLoopBackOff {
		restarts += "\n:warning: *CrashLoopBackOff*"
	}
	field("Restarts", restarts)

	mem := "none set"
	if f.MemoryLimitBytes > 0 {
		mem = evidence.Bytes(f.MemoryLimitBytes)
	}
	mem = "limit " + mem
	if f.IsJVM && f.JVMBudgetBytes > 0 {
		budget := blkEsc(blkCutRaw(strings.TrimPrefix(f.BudgetSummary, "JVM budget "), 600))
		if f.BudgetOverLimit {
			mem += "\n:warning: *JVM budget OVER the limit:* " + budget
		} else {
			mem += "\nJVM budget within the limit: " + budget
		}
	}
	field("Memory limit vs JVM budget", mem)

	oom := "none in the logs read"
	if f.OOMErrors > 0 {
		oom = fmt.Sprintf("%d distinct trace(s)", f.OOMErrors)
		if !f.FirstOOM.IsZero() {
			oom += "\nfirst at " + blkTS(f.FirstOOM)
		}
	}
	field("OutOfMemoryError", oom)

	if f.LastDeploy != "" {
		d := blkEsc(blkCutRaw(f.LastDeploy, 600))
		if f.LastDeployBeforeOOM {
			d += "\n_last deploy before the first OOM_"
		}
		field("Last deploy", d)
	}

	text := ""
	if e := strings.TrimSpace(t.Explanation); e != "" {
		text = "*Who killed it:* " + blkEsc(blkCutRaw(blkOneLine(e), blkMaxSummaryRunes))
	}
	var txt *slackapi.TextBlockObject
	if text != "" {
		txt = blkMrkdwn(blkCut(text, blkMaxSectionText))
	}
	objs := make([]*slackapi.TextBlockObject, 0, len(fields))
	for _, s := range fields[:min(len(fields), blkMaxFields)] {
		objs = append(objs, blkMrkdwn(s))
	}
	return slackapi.NewSectionBlock(txt, objs, nil, slackapi.SectionBlockOptionBlockID("oom_facts"))
}

// blkKiller says who ended the process, in words.
func blkKiller(kind string) string {
	switch kind {
	case evidence.KillContainerOOM:
		return "killed by the kernel's memory-cgroup OOM killer (container limit)"
	case evidence.KillJVMOOM:
		return "ended by the JVM itself (OutOfMemoryError)"
	case evidence.KillBoth:
		return "killed by the kernel's OOM killer after a JVM OutOfMemoryError"
	case evidence.KillOther:
		return "ended by something other than an OOM"
	default:
		return "no OOM kill found"
	}
}

// blkMatch renders one matched playbook: title, confidence, summary and the
// signals that fired with the evidence each cites.
func blkMatch(i int, m report.Match) []slackapi.Block {
	label := "Likely cause"
	if i > 0 {
		label = "Also matched"
	}
	lines := []string{fmt.Sprintf("*%s: %s* (%s), confidence %.2f", label, blkEsc(blkCutRaw(blkOneLine(m.Title), 200)), blkCode(m.ID, 100), m.Confidence)}
	if s := strings.TrimSpace(m.Summary); s != "" {
		lines = append(lines, blkEsc(blkCutRaw(blkOneLine(s), blkMaxSummaryRunes)))
	}
	for _, s := range m.Signals {
		line := fmt.Sprintf("✓ *%s* (weight %.2f)", blkEsc(blkCutRaw(s.Name, 100)), s.Weight)
		if d := strings.TrimSpace(s.Description); d != "" {
			line += ": " + blkEsc(blkCutRaw(blkOneLine(d), 200))
		}
		lines = append(lines, line)
		for k, it := range s.Evidence {
			if k == blkMaxItemsPerSig {
				lines = append(lines, fmt.Sprintf("  … %d more item(s)", len(s.Evidence)-k))
				break
			}
			lines = append(lines, "  • "+blkEsc(blkCutRaw(blkOneLine(it.Summary), 200)))
			for c, ci := range it.Cites {
				if c == blkMaxCitesPerItem {
					lines = append(lines, fmt.Sprintf("      … %d more line(s)", len(it.Cites)-c))
					break
				}
				lines = append(lines, "      "+blkCitation(ci))
			}
		}
	}
	var blocks []slackapi.Block
	for _, t := range blkPack(lines, blkMaxSectionText, blkMaxMatchBlocks) {
		blocks = append(blocks, blkSection(fmt.Sprintf("oom_match_%d", i+1), t))
	}
	return blocks
}

// blkCitation is one cited raw line: the text in a code span, then where it
// came from.
func blkCitation(c evidence.Citation) string {
	loc := c.Source
	if c.Ref != "" {
		loc += " " + c.Ref
	}
	s := blkCode(c.Text, blkMaxCiteRunes)
	if s == "" {
		s = "(empty line)"
	}
	if loc != "" {
		s += " — " + blkEsc(blkCutRaw(loc, 120))
	}
	return s
}

// blkNextSteps renders the top match's next steps (the playbook's Markdown,
// already numbered) and its references.
func blkNextSteps(m report.Match) []slackapi.Block {
	var blocks []slackapi.Block
	if steps := strings.TrimSpace(m.NextSteps); steps != "" {
		lines := append([]string{"*Next steps*"}, blkMarkdown(steps)...)
		for _, t := range blkPack(lines, blkMaxSectionText, blkMaxNextStepBlock) {
			blocks = append(blocks, blkSection("oom_next_steps", t))
		}
	}
	var refs []string
	for _, r := range m.References {
		if l := blkLink(r.URL, r.Title); l != "" {
			refs = append(refs, l)
		}
	}
	if len(refs) > 0 {
		blocks = append(blocks, blkContext("oom_references", blkCut("References: "+strings.Join(refs, " · "), blkMaxSectionText)))
	}
	return blocks
}

// blkNoMatch says plainly that nothing matched and which playbooks came
// closest, and why they did not match.
func blkNoMatch(rep *report.Report) []slackapi.Block {
	lines := []string{"*No playbook matched.* The facts above are all that can be said with citations."}
	cons := append([]report.Considered(nil), rep.Considered...)
	sort.SliceStable(cons, func(i, j int) bool { return cons[i].Confidence > cons[j].Confidence })
	if len(cons) > 0 {
		lines = append(lines, "Closest playbooks considered:")
	}
	for i, c := range cons {
		if i == blkMaxConsidered {
			lines = append(lines, fmt.Sprintf("… and %d more", len(cons)-i))
			break
		}
		line := fmt.Sprintf("• %s (%.2f): %s", blkCode(c.ID, 100), c.Confidence, blkEsc(blkCutRaw(blkOneLine(c.Why), 200)))
		if len(c.Errors) > 0 {
			line += fmt.Sprintf(" — %d evaluation error(s)", len(c.Errors))
		}
		lines = append(lines, line)
	}
	var blocks []slackapi.Block
	for _, t := range blkPack(lines, blkMaxSectionText, 1) {
		blocks = append(blocks, blkSection("oom_no_match", t))
	}
	return blocks
}

// blkMoreMatches names the matches beyond the first three.
func blkMoreMatches(ms []report.Match) string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, fmt.Sprintf("%s (%.2f)", blkEsc(blkCutRaw(m.ID, 100)), m.Confidence))
	}
	return blkCut(fmt.Sprintf("Also matched, not shown: %s", strings.Join(ids, ", ")), blkMaxSectionText)
}

// blkFooter is the context line under the report: every source's status
// (failed and partial ones highlighted), the warning count, the triage id
// and the raw-evidence link.
func blkFooter(rep *report.Report, o BlockOptions) slackapi.Block {
	srcs := append([]report.SourceStatus(nil), rep.Sources...)
	sort.SliceStable(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	var parts []string
	for _, s := range srcs {
		name := blkEsc(blkCutRaw(s.Name, 80))
		var p string
		switch s.Status {
		case "failed":
			p = ":x: " + name + " *failed*"
		case "partial":
			p = ":warning: " + name + " *partial*"
		default:
			p = name + " " + blkEsc(blkCutRaw(s.Status, 20))
		}
		if e := strings.TrimSpace(s.Error); e != "" {
			p += ": " + blkEsc(blkCutRaw(blkOneLine(e), blkMaxErrorRunes))
		}
		parts = append(parts, p)
	}
	var elems []string
	if len(parts) > 0 {
		elems = append(elems, blkCut("Sources: "+strings.Join(parts, " · "), blkMaxSectionText))
	}
	switch n := len(rep.Warnings); n {
	case 0:
	case 1:
		elems = append(elems, ":warning: 1 warning")
	default:
		elems = append(elems, fmt.Sprintf(":warning: %d warnings", n))
	}
	if o.TriageID != "" {
		elems = append(elems, "triage "+blkCode(o.TriageID, 100))
	}
	if l := blkLink(o.EvidenceLink, "Raw evidence"); l != "" {
		elems = append(elems, l)
	}
	if len(elems) == 0 {
		elems = append(elems, "No sources were read.")
	}
	return blkContext("oom_sources", elems[:min(len(elems), blkMaxContextElems)]...)
}

// blkActions is the buttons row; every button carries the triage id.
func blkActions(triageID string) slackapi.Block {
	value := blkCutRaw(triageID, blkMaxButtonValue)
	button := func(id, text string) slackapi.BlockElement {
		return slackapi.NewButtonBlockElement(id, value, slackapi.NewTextBlockObject(slackapi.PlainTextType, blkCutRaw(text, blkMaxButtonText), false, false))
	}
	return slackapi.NewActionBlock("oom_actions",
		button(chat.ActionRerun, "Re-run triage"),
		button(chat.ActionHelpful, "Helpful"),
		button(chat.ActionWrong, "Wrong diagnosis"),
		button(chat.ActionEvidence, "Show raw evidence"),
	)
}

// blkAssignIDs makes every block id unique within the message (Slack
// rejects duplicates) by numbering repeats: oom_match_1, oom_match_1_2.
func blkAssignIDs(blocks []slackapi.Block) {
	seen := map[string]int{}
	unique := func(id string) string {
		if id == "" {
			return ""
		}
		seen[id]++
		if n := seen[id]; n > 1 {
			return fmt.Sprintf("%s_%d", id, n)
		}
		return id
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slackapi.SectionBlock:
			b.BlockID = unique(b.BlockID)
		case *slackapi.ContextBlock:
			b.BlockID = unique(b.BlockID)
		case *slackapi.ActionBlock:
			b.BlockID = unique(b.BlockID)
		case *slackapi.HeaderBlock:
			b.BlockID = unique(b.BlockID)
		}
	}
}

// blkMrkdwn is a verbatim mrkdwn text object: Slack does not auto-link
// URLs, channel names or @mentions written in it.
func blkMrkdwn(text string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, true)
}

func blkSection(id, text string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(blkMrkdwn(blkCut(text, blkMaxSectionText)), nil, nil, slackapi.SectionBlockOptionBlockID(id))
}

func blkContext(id string, texts ...string) *slackapi.ContextBlock {
	elems := make([]slackapi.MixedElement, 0, len(texts))
	for _, t := range texts[:min(len(texts), blkMaxContextElems)] {
		elems = append(elems, blkMrkdwn(blkCut(t, blkMaxSectionText)))
	}
	return slackapi.NewContextBlock(id, elems...)
}

// blkEscaper escapes the three characters mrkdwn gives meaning to. It is
// never modified after initialisation.
var blkEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// blkEsc escapes untrusted text for mrkdwn.
func blkEsc(s string) string { return blkEscaper.Replace(s) }

// blkCode renders untrusted text as an inline code span: one line, at most
// max characters before escaping, backticks replaced so the span cannot be
// closed early. Empty text gives "".
func blkCode(s string, max int) string {
	s = strings.TrimSpace(blkOneLine(s))
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "`", "'")
	return "`" + blkEsc(blkCutRaw(s, max)) + "`"
}

// blkIDs renders cited evidence ids as code spans.
func blkIDs(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i == 8 {
			fmt.Fprintf(&b, " +%d", len(ids)-i)
			break
		}
		b.WriteString(" " + blkCode(id, 80))
	}
	return b.String()
}

// blkOneLine folds whitespace runs, newlines included, into single spaces.
func blkOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// blkCutRaw shortens unescaped text to at most n characters, marking the cut
// with an ellipsis.
func blkCutRaw(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// blkCut shortens mrkdwn text to at most n characters, ending it with the
// truncation mark. It never leaves half an entity (&am) or half a <…>
// token behind, which Slack would render as garbage or reject.
func blkCut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	mark := "\n" + blkTruncatedMark
	keep := []rune(s)[:max(n-utf8.RuneCountInString(mark), 0)]
	out := string(keep)
	if i := strings.LastIndexByte(out, '&'); i >= 0 && !strings.Contains(out[i:], ";") {
		out = out[:i]
	}
	if i := strings.LastIndexByte(out, '<'); i >= 0 && !strings.Contains(out[i:], ">") {
		out = out[:i]
	}
	if strings.Count(out, "```")%2 == 1 {
		// Leave room for closing the fence the cut fell into.
		out = string([]rune(out)[:max(utf8.RuneCountInString(out)-4, 0)]) + "\n```"
	}
	return out + mark
}

// blkPack joins lines into at most maxChunks texts of at most limit
// characters each. A code fence split across chunks is closed and reopened;
// lines that do not fit are replaced by the truncation mark.
func blkPack(lines []string, limit, maxChunks int) []string {
	const fence = "```"
	reserve := utf8.RuneCountInString(blkTruncatedMark) + 2*len(fence) + 4
	budget := limit - reserve
	var (
		chunks  []string
		cur     []string
		curLen  int
		inFence bool
	)
	emit := func(closeFence bool) {
		text := strings.Join(cur, "\n")
		if closeFence {
			text += "\n" + fence
		}
		if strings.TrimSpace(text) != "" {
			chunks = append(chunks, text)
		}
		cur, curLen = nil, 0
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > budget-len(fence) {
			l = blkCut(l, budget-len(fence))
		}
		n := utf8.RuneCountInString(l) + 1
		if curLen+n > budget && len(cur) > 0 {
			if len(chunks)+1 >= maxChunks {
				cur = append(cur, blkTruncatedMark)
				if inFence {
					cur = append(cur[:len(cur)-1], fence, blkTruncatedMark)
				}
				emit(false)
				return chunks
			}
			emit(inFence)
			if inFence {
				cur, curLen = []string{fence}, len(fence)+1
			}
		}
		cur = append(cur, l)
		curLen += n
		if strings.HasPrefix(strings.TrimSpace(l), fence) {
			inFence = !inFence
		}
	}
	if len(cur) > 0 {
		emit(inFence)
	}
	return chunks
}

// blkMarkdown converts a playbook's Markdown (next steps) to mrkdwn lines:
// **bold** becomes *bold*, list dashes become bullets, fenced code loses
// its language tag, and everything is escaped; code spans and fences are
// kept as they are. Hard-wrapped prose is joined back into one line per
// paragraph or list item, because Slack keeps every newline and a reply
// wrapped at 80 columns reads badly on a phone.
func blkMarkdown(md string) []string {
	var out []string
	inFence, prose := false, false
	for _, l := range strings.Split(strings.TrimRight(md, "\n"), "\n") {
		l = strings.TrimRight(l, " \t")
		rest := strings.TrimLeft(l, " ")
		indent := l[:len(l)-len(rest)]
		if strings.HasPrefix(rest, "```") {
			out = append(out, indent+"```")
			inFence, prose = !inFence, false
			continue
		}
		if inFence {
			out = append(out, blkEsc(l))
			continue
		}
		if rest == "" {
			out = append(out, "")
			prose = false
			continue
		}
		item := blkListItem.MatchString(rest)
		if strings.HasPrefix(rest, "- ") || strings.HasPrefix(rest, "* ") {
			rest = "• " + rest[2:]
		}
		heading := strings.HasPrefix(rest, "#")
		if heading {
			rest = "*" + strings.TrimSpace(strings.TrimLeft(rest, "#")) + "*"
		}
		// Bold only outside code spans: odd segments are inside backticks.
		segs := strings.Split(rest, "`")
		for i := range segs {
			if i%2 == 0 {
				segs[i] = strings.ReplaceAll(segs[i], "**", "*")
			}
			segs[i] = blkEsc(segs[i])
		}
		text := strings.Join(segs, "`")
		if prose && !item && !heading {
			out[len(out)-1] += " " + text
			continue
		}
		out = append(out, indent+text)
		prose = !heading
	}
	return out
}

// blkListItem matches the start of a Markdown list item.
var blkListItem = regexp.MustCompile(`^([-*]|\d+[.)]) `)

// blkNoticeTokens are the Slack tokens a notice may keep: user mentions
// ("Re-run by <@U…>"). Broadcasts (<!channel>, <!here>), channel
// references and links are escaped: a notice may quote alert text, and the
// bot's links travel in BlockOptions.EvidenceLink or the message text.
var blkNoticeTokens = regexp.MustCompile(`<@[UW][A-Z0-9]+>`)

// blkSanitizeNotice escapes a notice except for the tokens it may keep.
func blkSanitizeNotice(s string) string {
	s = blkOneLine(s)
	var b strings.Builder
	last := 0
	for _, m := range blkNoticeTokens.FindAllStringIndex(s, -1) {
		b.WriteString(blkEsc(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(blkEsc(s[last:]))
	return b.String()
}

// blkLink renders a link when url is a plain http(s) URL; anything else
// (javascript:, a URL with < > | or spaces) renders nothing.
func blkLink(url, label string) string {
	if !(strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://")) || strings.ContainsAny(url, "<>| \t\n") || len(url) > 1000 {
		return ""
	}
	label = strings.ReplaceAll(blkOneLine(label), "|", "/")
	if label == "" {
		label = url
	}
	return "<" + blkEsc(url) + "|" + blkEsc(blkCutRaw(label, 120)) + ">"
}

// blkTS formats a time in UTC, short enough for a field.
func blkTS(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
