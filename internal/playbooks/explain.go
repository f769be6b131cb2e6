package playbooks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/interpreter"

	"github.com/oombot/oombot/internal/evidence"
)

// Explanation is one playbook's evaluation on one Evidence, expression by
// expression: what an author needs to see why a playbook did or did not
// match.
type Explanation struct {
	// Source is where the playbook is defined ("file:line:col").
	Source string `json:"source"`
	// Signals and Vetoes are in playbook order.
	Signals []ExprOutcome `json:"signals"`
	Vetoes  []ExprOutcome `json:"vetoes"`
	// Result is the verdict, exactly as Evaluate returns it.
	Result Result `json:"result"`
}

// ExprOutcome is what one signal or excludeWhen expression returned.
type ExprOutcome struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Weight and Required are zero for vetoes.
	Weight   float64 `json:"weight"`
	Required bool    `json:"required"`
	// Expr is the CEL source as written.
	Expr string `json:"expr"`
	// Items are the evidence items returned (deduplicated, as a match
	// cites them); empty when the expression returned [] or failed.
	Items []Cited `json:"items"`
	// Error is the evaluation error, "" when it ran.
	Error string `json:"error,omitempty"`
	// Fired is true when Items is non-empty.
	Fired bool `json:"fired"`
}

// Playbook returns the playbook with the given id.
func (s *Set) Playbook(id string) (*Playbook, bool) {
	for _, p := range s.playbooks {
		if p.ID() == id {
			return p, true
		}
	}
	return nil, false
}

// IDs returns the ids of the set's playbooks, sorted.
func (s *Set) IDs() []string {
	ids := make([]string, len(s.playbooks))
	for i, p := range s.playbooks {
		ids[i] = p.ID()
	}
	slices.Sort(ids)
	return ids
}

// Explain evaluates the playbook id against ev as Evaluate does and returns
// every expression's outcome next to the verdict. It fails only when the set
// has no such playbook or the evidence cannot be given to CEL; evaluation
// errors are reported in the outcomes, as Evaluate reports them.
func (s *Set) Explain(ctx context.Context, ev *evidence.Evidence, id string) (Explanation, error) {
	pb, ok := s.Playbook(id)
	if !ok {
		return Explanation{}, fmt.Errorf("no playbook %q (have: %s)", id, strings.Join(s.IDs(), ", "))
	}
	if ev == nil {
		ev = &evidence.Evidence{}
	}
	act, err := interpreter.NewActivation(map[string]any{"ev": ev})
	if err != nil {
		return Explanation{}, fmt.Errorf("preparing evidence for CEL: %w", err)
	}
	r, tr := pb.evaluateTraced(ctx, s.timeout, act, ev)
	x := Explanation{Source: pb.Source(), Result: r}
	for i, sig := range pb.spec.Signals {
		x.Signals = append(x.Signals, exprOutcome(sig.Name, sig.Description, sig.Expr, sig.Weight, sig.Required, tr.signals[i]))
	}
	for i, v := range pb.spec.ExcludeWhen {
		x.Vetoes = append(x.Vetoes, exprOutcome(v.Name, v.Description, v.Expr, 0, false, tr.vetoes[i]))
	}
	return x, nil
}

func exprOutcome(name, desc, expr string, weight float64, required bool, o outcome) ExprOutcome {
	e := ExprOutcome{Name: name, Description: strings.TrimSpace(desc), Weight: weight, Required: required,
		Expr: strings.TrimSpace(expr), Items: o.items, Fired: len(o.items) > 0}
	if e.Items == nil {
		e.Items = []Cited{}
	}
	if o.err != nil {
		e.Error = o.err.Error()
	}
	return e
}
