// Package playbooks loads oombot playbooks and evaluates them against the
// evidence of one triage.
//
// A playbook (format: package v1, apiVersion oombot/v1) describes one
// failure pattern as weighted signals, optional vetoes (excludeWhen), next
// steps and references. Loading is strict: unknown or duplicate fields,
// missing or malformed values, CEL that does not parse or type-check and
// templates that do not parse are all rejected with a *LoadError naming the
// file, line and column — for CEL and template errors, the position inside
// the YAML scalar, not just the start of the expression.
//
// # Expressions
//
// Every signal and veto is a CEL expression over one variable, ev, of type
// evidence.Evidence; field names are the model's json tags (ev.oomErrors,
// t.floorFractionOfCeiling). Expressions must type-check to a list of
// evidence items — one of the model's types implementing evidence.Citable:
//
//	ev.oomErrors.filter(e, e.kind == 'heap')
//	ev.trends.filter(t, t.signal == 'jvm_old_gen_used' && t.shape == 'leak')
//	[ev.kill].filter(k, k.containerOOMKilled)    // singletons: wrap in a list
//
// A boolean is refused: the items returned are what a match cites, and a
// match must be able to point at raw material. Besides standard CEL the
// environment offers the cel-go string, list and math extensions, optional
// types, int/double comparison with < and > (not ==), and bytesOf('512Mi')
// for sizes (binary Ki/Mi/Gi/Ti or decimal kB/MB/GB/TB; single-letter
// suffixes are refused as ambiguous). Regular expressions (RE2) and bytesOf
// arguments given as literals are checked at load.
//
// # Verdicts
//
// Evaluate runs every playbook and explains each verdict. A signal fires
// when its list is non-empty. Confidence is the summed weight of the fired
// signals over the summed weight of all signals, rounded to two decimals. A
// playbook matches when no veto fired, every required signal fired,
// confidence reaches the threshold, and at least one fired item carries a
// citation; otherwise Result.Why says which rule failed. A signal that fails
// at runtime (an error, its cost limit, the playbook's timeout) counts as not
// fired and is reported in Result.Errors; a veto that fails makes the
// playbook abstain, since it might have ruled the playbook out.
//
// # Next steps
//
// nextSteps is markdown and a text/template over NextStepsData:
// .Evidence (evidence.Evidence) and .Signals (fired signals by name, with
// their .Items; each item's .Item is the evidence value itself). Helpers:
// bytes, pct, first (nil for an empty list, so {{ with first .Items }} is
// safe), target (the triaged container or nil), join, hasPrefix, contains.
// Write templates so missing data renders as nothing: guard with {{ with }}.
package playbooks
