package playbooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/oombot/oombot/internal/evidence"
	v1 "github.com/oombot/oombot/internal/playbooks/v1"
)

// Result is one playbook's verdict on one Evidence.
type Result struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Matched bool   `json:"matched"`
	// Confidence is the summed weight of the fired signals over the summed
	// weight of all signals, rounded to two decimals.
	Confidence float64 `json:"confidence"`
	Threshold  float64 `json:"threshold"`
	// Fired lists the signals that returned evidence, in playbook order.
	Fired []FiredSignal `json:"fired"`
	// Missed lists the signals that did not fire (or failed to evaluate).
	Missed []SignalRef `json:"missed"`
	// Vetoed lists the excludeWhen entries that fired.
	Vetoed []FiredSignal `json:"vetoed"`
	// Why is one line saying why the playbook matched or not.
	Why string `json:"why"`
	// NextSteps is the rendered next-steps markdown (the raw template text,
	// with an Errors entry, if rendering failed).
	NextSteps  string         `json:"nextSteps"`
	References []v1.Reference `json:"references"`
	// Errors are problems met while evaluating: a signal that failed at
	// runtime or ran out of time, a template that failed to render.
	Errors []string `json:"errors"`
}

// FiredSignal is a signal (or veto) that returned evidence.
type FiredSignal struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Weight      float64 `json:"weight"`
	Items       []Cited `json:"items"`
}

// SignalRef names a signal that did not fire.
type SignalRef struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
}

// Cited is one evidence item a signal returned, with what it cites.
type Cited struct {
	ID      string              `json:"id"`
	Summary string              `json:"summary"`
	Cites   []evidence.Citation `json:"cites"`
	// Item is the evidence item itself, so next-steps templates can reach
	// its fields ({{ (first .Items).Item.ClassName }}).
	Item evidence.Citable `json:"-"`
}

// Evaluate runs every playbook of the set against ev and returns one Result
// per playbook: matches first by confidence (highest first), then the rest
// by confidence, ties by id. Each playbook runs under its own timeout within
// ctx; a failing expression is recorded on its Result and never stops the
// others. A nil ev is treated as empty evidence.
func (s *Set) Evaluate(ctx context.Context, ev *evidence.Evidence) []Result {
	if ev == nil {
		ev = &evidence.Evidence{}
	}
	// One activation for all expressions: adapting ev to CEL once instead of
	// per expression.
	act, err := interpreter.NewActivation(map[string]any{"ev": ev})
	results := make([]Result, 0, len(s.playbooks))
	for _, pb := range s.playbooks {
		if err != nil {
			r := pb.emptyResult()
			r.Why = "could not evaluate"
			r.Errors = append(r.Errors, fmt.Sprintf("preparing evidence for CEL: %v", err))
			results = append(results, r)
			continue
		}
		results = append(results, pb.evaluate(ctx, s.timeout, act, ev))
	}
	slices.SortStableFunc(results, func(a, b Result) int {
		switch {
		case a.Matched != b.Matched:
			if a.Matched {
				return -1
			}
			return 1
		case a.Confidence != b.Confidence:
			if a.Confidence > b.Confidence {
				return -1
			}
			return 1
		default:
			return strings.Compare(a.ID, b.ID)
		}
	})
	return results
}

func (p *Playbook) emptyResult() Result {
	return Result{
		ID:         p.spec.ID,
		Title:      p.spec.Title,
		Summary:    strings.TrimSpace(p.spec.Summary),
		Threshold:  p.spec.Threshold,
		References: p.spec.References,
	}
}

func (p *Playbook) evaluate(ctx context.Context, timeout time.Duration, act interpreter.Activation, ev *evidence.Evidence) Result {
	r, _ := p.evaluateTraced(ctx, timeout, act, ev)
	return r
}

// outcome is what one signal or veto expression returned in one evaluation.
type outcome struct {
	items []Cited
	err   error
}

// trace holds the outcome of every expression of one evaluation, in
// playbook order (signals, then vetoes), for Explain.
type trace struct {
	signals, vetoes []outcome
}

// evaluateTraced is evaluate, also returning what each expression returned,
// so Explain shows exactly the evaluation Evaluate performs.
func (p *Playbook) evaluateTraced(ctx context.Context, timeout time.Duration, act interpreter.Activation, ev *evidence.Evidence) (Result, trace) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := p.emptyResult()
	var tr trace

	var total, fired float64
	var missingRequired []string
	cites := 0
	for _, sig := range p.signals {
		total += sig.weight
		items, err := run(ctx, sig.prg, act)
		tr.signals = append(tr.signals, outcome{items: items, err: err})
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("signal %s: %v", sig.name, err))
		}
		if len(items) == 0 {
			r.Missed = append(r.Missed, SignalRef{Name: sig.name, Description: sig.description, Required: sig.required})
			if sig.required {
				missingRequired = append(missingRequired, sig.name)
			}
			continue
		}
		fired += sig.weight
		for _, it := range items {
			cites += len(it.Cites)
		}
		r.Fired = append(r.Fired, FiredSignal{Name: sig.name, Description: sig.description, Weight: sig.weight, Items: items})
	}
	var vetoErrs []string
	for _, veto := range p.vetoes {
		items, err := run(ctx, veto.prg, act)
		tr.vetoes = append(tr.vetoes, outcome{items: items, err: err})
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("excludeWhen %s: %v", veto.name, err))
			vetoErrs = append(vetoErrs, veto.name)
		}
		if len(items) > 0 {
			r.Vetoed = append(r.Vetoed, FiredSignal{Name: veto.name, Description: veto.description, Items: items})
		}
	}
	if total > 0 {
		r.Confidence = math.Round(100*fired/total) / 100
	}

	switch {
	case len(r.Vetoed) > 0:
		v := r.Vetoed[0]
		r.Why = fmt.Sprintf("excluded: %s: %s", v.Name, v.Items[0].Summary)
	case len(vetoErrs) > 0:
		// A veto that could not run might have ruled the playbook out;
		// abstaining is safer than matching on half the rules.
		r.Why = fmt.Sprintf("excludeWhen %s could not be evaluated", strings.Join(vetoErrs, ", "))
	case len(r.Fired) == 0:
		r.Why = "no signal fired"
	case len(missingRequired) > 0:
		r.Why = fmt.Sprintf("required signal %s did not fire", strings.Join(missingRequired, ", "))
	case r.Confidence < r.Threshold:
		r.Why = fmt.Sprintf("confidence %.2f below threshold %.2f", r.Confidence, r.Threshold)
	case cites == 0:
		// Every finding must point at raw material; a diagnosis that
		// cannot is a guess, so the playbook abstains.
		r.Why = "nothing to cite: the evidence that fired carries no citations"
	default:
		r.Matched = true
		names := make([]string, len(r.Fired))
		for i, f := range r.Fired {
			names[i] = f.Name
		}
		r.Why = fmt.Sprintf("confidence %.2f ≥ threshold %.2f: %s", r.Confidence, r.Threshold, strings.Join(names, ", "))
	}
	r.NextSteps = p.renderNextSteps(ev, r.Fired, &r.Errors)
	return r, tr
}

// run evaluates one expression and converts its list to cited items,
// deduplicated by evidence id. On error it returns what it has (nothing) and
// the error; a timeout is reported as such.
func run(ctx context.Context, prg cel.Program, act interpreter.Activation) ([]Cited, error) {
	if prg == nil {
		return nil, errors.New("not compiled")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("not evaluated: %w", err)
	}
	out, _, err := prg.ContextEval(ctx, act)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%v: %w", err, ctxErr)
		}
		return nil, err
	}
	list, ok := out.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("returned %s, not a list", out.Type().TypeName())
	}
	var items []Cited
	seen := map[string]bool{}
	for it := list.Iterator(); it.HasNext() == types.True; {
		v := it.Next()
		c, ok := v.Value().(evidence.Citable)
		if !ok {
			return nil, fmt.Errorf("returned a %T, which is not an evidence item", v.Value())
		}
		id := c.EvidenceID()
		if seen[id] && id != "" {
			continue
		}
		seen[id] = true
		items = append(items, Cited{ID: id, Summary: c.Summary(), Cites: c.Citations(), Item: c})
	}
	return items, nil
}

func (p *Playbook) renderNextSteps(ev *evidence.Evidence, fired []FiredSignal, errs *[]string) string {
	if p.nextSteps == nil {
		return strings.TrimSpace(p.spec.NextSteps)
	}
	data := NextStepsData{Evidence: *ev, Signals: map[string]*FiredSignal{}}
	for i := range fired {
		data.Signals[fired[i].Name] = &fired[i]
	}
	var buf bytes.Buffer
	if err := p.nextSteps.Execute(&buf, data); err != nil {
		*errs = append(*errs, fmt.Sprintf("nextSteps: %v", err))
		return strings.TrimSpace(p.spec.NextSteps)
	}
	return strings.TrimSpace(buf.String())
}
