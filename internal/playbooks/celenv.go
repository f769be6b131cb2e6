package playbooks

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/oombot/oombot/internal/evidence"
)

// CostLimit caps the CEL cost of one expression evaluation. Real evidence
// is small (tens of items, stack traces of at most a few hundred frames), so
// a legitimate signal stays orders of magnitude below it; the cap only stops
// a runaway expression from stalling a triage.
const CostLimit = 10_000_000

// celEnv returns the one CEL environment every playbook compiles against.
// Building it costs a few milliseconds of reflection, and a cel.Env is
// immutable and safe for concurrent use, so it is built once on first use
// and shared.
var celEnv = sync.OnceValues(newCELEnv)

// evidenceTypeName is the CEL name NativeTypes gives evidence.Evidence.
var evidenceTypeName = celTypeName(reflect.TypeFor[evidence.Evidence]())

func celTypeName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	return pkg + "." + t.Name()
}

func newCELEnv() (*cel.Env, error) {
	env, err := cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTag("json"), reflect.TypeFor[evidence.Evidence]()),
		cel.Variable("ev", cel.ObjectType(evidenceTypeName)),
		ext.Strings(),
		ext.Lists(),
		ext.Math(),
		cel.OptionalTypes(),
		// Evidence mixes int (bytes, counts) and double (fractions, rates);
		// authors should not have to write double(x) to compare them.
		cel.CrossTypeNumericComparisons(true),
		cel.Function("bytesOf",
			cel.Overload("bytesOf_string", []*cel.Type{cel.StringType}, cel.IntType,
				cel.UnaryBinding(bytesOfBinding))),
		cel.ASTValidators(literalValidator{}),
	)
	if err != nil {
		return nil, fmt.Errorf("building the CEL environment: %w", err)
	}
	return env, nil
}

func bytesOfBinding(v ref.Val) ref.Val {
	s, ok := v.Value().(string)
	if !ok {
		return types.NewErr("bytesOf: expected a string, got %s", v.Type().TypeName())
	}
	n, err := parseBytes(s)
	if err != nil {
		return types.NewErr("bytesOf: %v", err)
	}
	return types.Int(n)
}

// byteUnits are the suffixes bytesOf accepts. Only unambiguous ones: "M"
// means 10^6 to Kubernetes and 2^20 to the JVM, and "m" means milli to
// Kubernetes, so single-letter suffixes are refused rather than guessed.
var byteUnits = map[string]int64{
	"": 1, "B": 1,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	"kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
}

// parseBytes reads a size such as "512Mi", "1.5GiB" or "4096".
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	mult, ok := byteUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("cannot read %q as a size: use a number with Ki, Mi, Gi, Ti (binary) or kB, MB, GB, TB (decimal)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read %q as a size: %w", s, err)
	}
	b := f * float64(mult)
	if b >= 1<<63 {
		return 0, fmt.Errorf("size %q overflows int", s)
	}
	return int64(b), nil
}

// literalValidator checks constant arguments at load time that would
// otherwise fail on every evaluation: regular expressions given to matches()
// and sizes given to bytesOf(). cel-go's own ValidateRegexLiterals reports
// only "invalid matches argument"; this one passes on the reason.
type literalValidator struct{}

// Name identifies the validator to cel-go.
func (literalValidator) Name() string { return "oombot.literals" }

// Validate reports every invalid literal argument at its position.
func (literalValidator) Validate(_ *cel.Env, _ cel.ValidatorConfig, a *ast.AST, iss *cel.Issues) {
	root := ast.NavigateAST(a)
	check := func(fn string, test func(string) error) {
		for _, call := range ast.MatchDescendants(root, ast.FunctionMatcher(fn)) {
			args := call.AsCall().Args()
			if len(args) == 0 {
				continue
			}
			lit := args[len(args)-1]
			if lit.Kind() != ast.LiteralKind {
				continue
			}
			s, ok := lit.AsLiteral().Value().(string)
			if !ok {
				continue
			}
			if err := test(s); err != nil {
				iss.ReportErrorAtID(lit.ID(), "%s: %v", fn, err)
			}
		}
	}
	check("matches", func(s string) error {
		_, err := regexp.Compile(s)
		return err
	})
	check("bytesOf", func(s string) error {
		_, err := parseBytes(s)
		return err
	})
}

// citableTypes maps the CEL names of the evidence item types a signal may
// return to their Go types: every type reachable from evidence.Evidence that
// implements evidence.Citable. Derived by reflection so a new item type in
// the model is accepted without touching the engine.
func citableTypes() map[string]reflect.Type {
	citable := reflect.TypeFor[evidence.Citable]()
	out := map[string]reflect.Type{}
	ev := reflect.TypeFor[evidence.Evidence]()
	for i := range ev.NumField() {
		t := ev.Field(i).Type
		if t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct && t.Implements(citable) {
			out[celTypeName(t)] = t
		}
	}
	return out
}

// checkOutputType explains what is wrong when an expression does not return
// a list of evidence items; "" when it does.
func checkOutputType(t *cel.Type, allowed map[string]reflect.Type) string {
	const hint = "; return the evidence items that show it, e.g. ev.oomErrors.filter(e, e.kind == 'heap')"
	if t.Kind() != types.ListKind || len(t.Parameters()) != 1 {
		return fmt.Sprintf("expression returns %s%s", t, hint)
	}
	elem := t.Parameters()[0]
	if _, ok := allowed[elem.TypeName()]; ok {
		return ""
	}
	names := make([]string, 0, len(allowed))
	for n := range allowed {
		names = append(names, n)
	}
	slices.Sort(names)
	msg := fmt.Sprintf("expression returns %s, but a signal must return a list of evidence items (%s)", t, strings.Join(names, ", "))
	if elem.TypeName() == celTypeName(reflect.TypeFor[evidence.JVMBudget]()) {
		msg += "; a budget is cited through its container: ev.containers.filter(c, c.budget.overLimit)"
	}
	return msg
}
