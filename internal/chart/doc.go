// Package chart draws a report's memory chart as a PNG, the picture posted
// under a triage in Slack.
//
// # Why a chart
//
// A triage report says, in words, that memory grew until the container hit
// its limit. Whoever is on call still wants to see it: whether growth was a
// slow leak over hours or a cliff in seconds, whether the heap or something
// off-heap did the growing, whether the kill followed a deploy. One picture
// answers those faster than any number of findings, and it lets a reader
// check the bot's verdict against the raw series instead of trusting it.
//
// # What is drawn
//
//   - The container working set, thick and on top: it is what the kernel
//     compares with the limit, so it is the line that decides an OOMKill.
//   - The JVM pools that exist for the pod: heap used, old gen used,
//     non-heap, metaspace and direct buffers, thinner, so the reader can see
//     which pool the working set is following.
//   - Ceilings as dashed horizontal lines: the container memory limit (red)
//     and the JVM's max heap (the heap colour).
//   - Moments as vertical lines labelled at the top: OOM kills and
//     OutOfMemoryErrors in red with their time, deploys in grey with their id.
//
// Series are split where samples are far apart (a scrape gap, a restart)
// rather than joined by a straight line that would invent data. The X axis
// spans the data and the marks, not the whole analysis window, because a
// bundle may hold seconds of samples inside a six-hour window. Times are
// UTC; the date is in the axis label. Colours are the Okabe–Ito palette,
// which stays distinguishable under the common colour-vision deficiencies.
//
// Text uses the Liberation fonts embedded in gonum.org/v1/plot, so rendering
// needs no fonts installed on the host.
package chart
