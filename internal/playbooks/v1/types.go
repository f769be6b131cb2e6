// Package v1 holds the playbook format as users write it: apiVersion
// oombot/v1, kind Playbook.
//
// These types are the public, versioned schema and nothing more. They carry
// no behaviour and no compiled state, so the format can evolve (a v2 beside
// this package) without touching the engine's internal representation in
// package playbooks, which decodes files strictly into these types, validates
// them and compiles their CEL.
package v1

// APIVersion is the only apiVersion this package describes.
const APIVersion = "oombot/v1"

// Kind is the only kind this package describes.
const Kind = "Playbook"

// Expectations a playbook test may state.
const (
	ExpectMatch   = "match"
	ExpectNoMatch = "no-match"
)

// Playbook is one diagnosis: the signals that point at it, the vetoes that
// rule it out, and what to do about it.
type Playbook struct {
	// APIVersion must be APIVersion.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind must be Kind.
	Kind string `yaml:"kind" json:"kind"`
	// ID names the playbook in reports and on the command line; [a-z0-9-]+,
	// unique across a set.
	ID string `yaml:"id" json:"id"`
	// Title is the short human name of the failure.
	Title string `yaml:"title" json:"title"`
	// Summary is one plain-language paragraph saying what this failure is.
	Summary string `yaml:"summary" json:"summary"`
	// Threshold is the minimum confidence (0 < t <= 1) for a match.
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// Signals are the weighted observations that point at this failure; at
	// least one.
	Signals []Signal `yaml:"signals" json:"signals"`
	// ExcludeWhen are vetoes: if any returns evidence, the playbook does not
	// match and the report cites why.
	ExcludeWhen []Exclusion `yaml:"excludeWhen,omitempty" json:"excludeWhen,omitempty"`
	// NextSteps is markdown and a Go text/template rendered over the evidence
	// and the fired signals.
	NextSteps string `yaml:"nextSteps,omitempty" json:"nextSteps,omitempty"`
	// References point at documentation behind the advice.
	References []Reference `yaml:"references,omitempty" json:"references,omitempty"`
	// Tests name evidence bundles the playbook must (or must not) match.
	Tests []Test `yaml:"tests,omitempty" json:"tests,omitempty"`
}

// Signal is one weighted observation. Expr is CEL over the variable ev
// (evidence.Evidence) and must return a list of evidence items: the items
// that show the signal, which are what a match cites.
type Signal struct {
	// Name is [a-z0-9-]+, unique within the playbook.
	Name string `yaml:"name" json:"name"`
	// Description is shown to users next to the evidence the signal cites.
	Description string `yaml:"description" json:"description"`
	// Weight (> 0) is the signal's share of the playbook's confidence.
	Weight float64 `yaml:"weight" json:"weight"`
	// Required signals must fire for the playbook to match.
	Required bool `yaml:"required,omitempty" json:"required,omitempty"`
	// Expr is the CEL expression.
	Expr string `yaml:"expr" json:"expr"`
}

// Exclusion is a veto: a signal without weight whose firing rules the
// playbook out.
type Exclusion struct {
	// Name is [a-z0-9-]+, unique within the playbook (signals included).
	Name string `yaml:"name" json:"name"`
	// Description says why this evidence rules the playbook out.
	Description string `yaml:"description" json:"description"`
	// Expr is CEL returning a list of evidence items, like Signal.Expr.
	Expr string `yaml:"expr" json:"expr"`
}

// Reference is one link shown with the diagnosis.
type Reference struct {
	Title string `yaml:"title" json:"title"`
	// URL is an absolute http(s) URL.
	URL string `yaml:"url" json:"url"`
}

// Test is one evidence bundle the playbook is checked against.
type Test struct {
	// Bundle is a path to an evidence bundle, relative to the playbook file.
	Bundle string `yaml:"bundle" json:"bundle"`
	// Expect is ExpectMatch or ExpectNoMatch.
	Expect string `yaml:"expect" json:"expect"`
	// MinConfidence (0..1) is the lowest acceptable confidence of a match;
	// only meaningful with Expect == ExpectMatch.
	MinConfidence float64 `yaml:"minConfidence,omitempty" json:"minConfidence,omitempty"`
	// Signals name signals of the playbook that must fire on the bundle.
	Signals []string `yaml:"signals,omitempty" json:"signals,omitempty"`
}
