package playbooks

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"text/template/parse"

	"github.com/oombot/oombot/internal/evidence"
)

// templateProblem is one unresolvable reference in a nextSteps template, at
// a byte offset into the template text.
type templateProblem struct {
	offset int
	msg    string
}

// checkTemplateRefs walks a parsed nextSteps template and checks every
// field chain ({{ .Evidence.Containers }}, {{ $c.JVM.MaxHeapBytes }},
// {{ (first .Items).Item.ClassName }}) against the Go types the engine
// renders it with, NextStepsData and what hangs off it, tracking the type of
// dot through with, range, variables and the helper functions. text/template
// only finds a wrong name when it renders that branch, and with sparse
// evidence a guarded branch may never render in tests, so the check is
// static.
//
// Where a type is not known statically the chain is accepted: the one
// dynamic value, a cited item's .Item (evidence.Citable), is checked against
// every evidence item type and must name a field or method of at least one.
// signals are the playbook's signal names: {{ index .Signals "x" }} and
// {{ .Signals.x }} must name one of them, since any other name is never set.
func checkTemplateRefs(tree *parse.Tree, signals []string) []templateProblem {
	if tree == nil || tree.Root == nil {
		return nil
	}
	data := reflect.TypeFor[NextStepsData]()
	c := &tmplChecker{signals: signals, funcs: templateFuncs()}
	c.vars = []tmplVar{{"$", data}}
	c.list(tree.Root, data)
	return c.problems
}

type tmplVar struct {
	name string
	t    reflect.Type // nil: unknown
}

type tmplChecker struct {
	signals  []string
	funcs    map[string]any
	vars     []tmplVar
	problems []templateProblem
}

var (
	signalsMapType = reflect.TypeFor[map[string]*FiredSignal]()
	citableType    = reflect.TypeFor[evidence.Citable]()
)

func (c *tmplChecker) errorf(n parse.Node, format string, args ...any) {
	c.problems = append(c.problems, templateProblem{offset: int(n.Position()), msg: fmt.Sprintf(format, args...)})
}

func (c *tmplChecker) list(l *parse.ListNode, dot reflect.Type) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(n, dot)
	}
}

func (c *tmplChecker) node(n parse.Node, dot reflect.Type) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(n.Pipe, dot, true)
	case *parse.IfNode:
		c.branch(&n.BranchNode, dot, func(t reflect.Type) reflect.Type { return dot }, false)
	case *parse.WithNode:
		c.branch(&n.BranchNode, dot, func(t reflect.Type) reflect.Type { return t }, false)
	case *parse.RangeNode:
		c.branch(&n.BranchNode, dot, elemType, true)
	case *parse.TemplateNode:
		if n.Pipe != nil {
			c.pipe(n.Pipe, dot, true)
		}
	case *parse.ListNode:
		c.list(n, dot)
	}
}

// branch checks an if/with/range: its pipeline, its body with dot set by
// inner, and its else with the outer dot. Variables declared inside end with
// the construct, as in text/template.
func (c *tmplChecker) branch(b *parse.BranchNode, dot reflect.Type, inner func(reflect.Type) reflect.Type, isRange bool) {
	mark := len(c.vars)
	t := c.pipe(b.Pipe, dot, !isRange)
	if isRange && b.Pipe != nil {
		switch len(b.Pipe.Decl) {
		case 1:
			c.vars = append(c.vars, tmplVar{b.Pipe.Decl[0].Ident[0], elemType(t)})
		case 2:
			c.vars = append(c.vars, tmplVar{b.Pipe.Decl[0].Ident[0], keyType(t)}, tmplVar{b.Pipe.Decl[1].Ident[0], elemType(t)})
		}
	}
	c.list(b.List, inner(t))
	c.vars = c.vars[:mark]
	c.list(b.ElseList, dot)
	c.vars = c.vars[:mark]
}

// pipe returns the type a pipeline yields; declare says whether its
// declared variables take that type (range declares its own).
func (c *tmplChecker) pipe(p *parse.PipeNode, dot reflect.Type, declare bool) reflect.Type {
	if p == nil {
		return dot
	}
	var t reflect.Type
	for i, cmd := range p.Cmds {
		t = c.command(cmd, dot, t, i > 0)
	}
	if declare {
		for _, v := range p.Decl {
			c.vars = append(c.vars, tmplVar{v.Ident[0], t})
		}
	}
	return t
}

func (c *tmplChecker) command(cmd *parse.CommandNode, dot, prev reflect.Type, piped bool) reflect.Type {
	if len(cmd.Args) == 0 {
		return nil
	}
	id, isFunc := cmd.Args[0].(*parse.IdentifierNode)
	if !isFunc {
		for _, a := range cmd.Args[1:] {
			c.arg(a, dot)
		}
		return c.arg(cmd.Args[0], dot)
	}
	args := make([]reflect.Type, 0, len(cmd.Args))
	for _, a := range cmd.Args[1:] {
		args = append(args, c.arg(a, dot))
	}
	if piped {
		args = append(args, prev)
	}
	if id.Ident == "index" && len(cmd.Args) >= 3 {
		c.checkSignalKey(cmd.Args[1], args[0], cmd.Args[2])
	}
	return c.funcResult(id.Ident, args)
}

// checkSignalKey checks {{ index .Signals "name" }} names a signal.
func (c *tmplChecker) checkSignalKey(coll parse.Node, t reflect.Type, key parse.Node) {
	s, ok := key.(*parse.StringNode)
	if !ok || t != signalsMapType {
		return
	}
	if !slices.Contains(c.signals, s.Text) {
		c.errorf(key, "nextSteps: no signal named %q in this playbook (signals: %s); .Signals only holds fired signals of this playbook", s.Text, strings.Join(c.signals, ", "))
	}
}

func (c *tmplChecker) arg(n parse.Node, dot reflect.Type) reflect.Type {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return c.chain(n, dot, n.Ident)
	case *parse.VariableNode:
		t, ok := c.lookup(n.Ident[0])
		if !ok {
			// The parser rejects undefined variables; stay quiet.
			return nil
		}
		return c.chain(n, t, n.Ident[1:])
	case *parse.ChainNode:
		return c.chain(n, c.arg(n.Node, dot), n.Field)
	case *parse.PipeNode:
		return c.pipe(n, dot, true)
	case *parse.IdentifierNode:
		return c.funcResult(n.Ident, nil)
	case *parse.StringNode:
		return reflect.TypeFor[string]()
	case *parse.BoolNode:
		return reflect.TypeFor[bool]()
	case *parse.NumberNode:
		switch {
		case n.IsInt:
			return reflect.TypeFor[int]()
		case n.IsFloat:
			return reflect.TypeFor[float64]()
		}
	}
	return nil
}

func (c *tmplChecker) lookup(name string) (reflect.Type, bool) {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == name {
			return c.vars[i].t, true
		}
	}
	return nil, false
}

// chain resolves .A.B.C from t, reporting the first name that does not
// exist. It returns nil (unknown) when the type cannot be known.
func (c *tmplChecker) chain(n parse.Node, t reflect.Type, idents []string) reflect.Type {
	for _, name := range idents {
		if t == nil {
			return nil
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t == citableType:
			t = c.citableField(n, name)
			if t == nil {
				return nil
			}
		case t.Kind() == reflect.Interface:
			return nil
		case t.Kind() == reflect.Map:
			if t == signalsMapType && !slices.Contains(c.signals, name) {
				c.errorf(n, "nextSteps: no signal named %q in this playbook (signals: %s)", name, strings.Join(c.signals, ", "))
				return nil
			}
			t = t.Elem()
		default:
			ft, ok := member(t, name)
			if !ok {
				c.errorf(n, "nextSteps: %s has no field or method %s%s", t, name, suggest(t, name))
				return nil
			}
			t = ft
		}
	}
	return t
}

// citableField resolves a field of a cited item (.Item), whose dynamic type
// is one of the evidence item types: the name must exist on at least one.
// The result is the field's type when every item type that has it agrees,
// else unknown.
func (c *tmplChecker) citableField(n parse.Node, name string) reflect.Type {
	var found []reflect.Type
	types := citableTypes()
	keys := make([]string, 0, len(types))
	for k := range types {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if ft, ok := member(types[k], name); ok && !slices.Contains(found, ft) {
			found = append(found, ft)
		}
	}
	switch len(found) {
	case 0:
		c.errorf(n, "nextSteps: no evidence item type has a field or method %s (.Item is the cited evidence item: %s)", name, strings.Join(keys, ", "))
		return nil
	case 1:
		return found[0]
	default:
		return nil
	}
}

// member returns the type of t's exported field or method name, as
// text/template would find it.
func member(t reflect.Type, name string) (reflect.Type, bool) {
	if m, ok := reflect.PointerTo(t).MethodByName(name); ok && m.Type.NumOut() > 0 {
		return m.Type.Out(0), true
	}
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	f, ok := t.FieldByName(name)
	if !ok || !f.IsExported() {
		return nil, false
	}
	return f.Type, true
}

// suggest names a field that differs from name only in case, the usual
// slip when going from the CEL names (json tags) to the template's Go names.
func suggest(t reflect.Type, name string) string {
	if t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && (strings.EqualFold(f.Name, name) || strings.EqualFold(strings.Split(f.Tag.Get("json"), ",")[0], name)) {
			return fmt.Sprintf(" (did you mean %s? templates use Go field names)", f.Name)
		}
	}
	return ""
}

func elemType(t reflect.Type) reflect.Type {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return t.Elem()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return t
	}
	return nil
}

func keyType(t reflect.Type) reflect.Type {
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Key()
	case reflect.Slice, reflect.Array:
		return reflect.TypeFor[int]()
	}
	return nil
}

// funcResult is the type a template function returns for arguments of the
// given types (nil entries unknown).
func (c *tmplChecker) funcResult(name string, args []reflect.Type) reflect.Type {
	arg := func(i int) reflect.Type {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	switch name {
	case "first":
		return elemType(arg(0))
	case "index":
		t := arg(0)
		for range args[min(1, len(args)):] {
			t = elemType(t)
		}
		return t
	case "slice":
		return arg(0)
	case "len":
		return reflect.TypeFor[int]()
	case "not", "eq", "ne", "lt", "le", "gt", "ge":
		return reflect.TypeFor[bool]()
	case "print", "printf", "println", "html", "js", "urlquery":
		return reflect.TypeFor[string]()
	case "and", "or":
		if len(args) > 0 && !slices.ContainsFunc(args, func(t reflect.Type) bool { return t != args[0] }) {
			return args[0]
		}
		return nil
	}
	if fn, ok := c.funcs[name]; ok {
		ft := reflect.TypeOf(fn)
		if ft.NumOut() > 0 && ft.Out(0).Kind() != reflect.Interface {
			return ft.Out(0)
		}
	}
	return nil
}
