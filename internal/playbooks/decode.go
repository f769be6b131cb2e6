package playbooks

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// strictDecoder walks a yaml.Node tree into a v1 value by reflection over the
// yaml struct tags. yaml.v3's own KnownFields(true) rejects unknown fields
// but reports only a line; walking the nodes ourselves gives line:col for
// every problem and records where each value came from, which later
// validation and CEL errors need to point at the right spot.
type strictDecoder struct {
	file string
	// nodes maps a path such as "signals[1].expr" to the node it was read
	// from. The root mapping is "".
	nodes map[string]*yaml.Node
	errs  []error
}

// maxAliasDepth bounds alias chasing so a self-referencing document cannot
// loop the decoder.
const maxAliasDepth = 16

func newStrictDecoder(file string) *strictDecoder {
	return &strictDecoder{file: file, nodes: map[string]*yaml.Node{}}
}

func (d *strictDecoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &LoadError{File: d.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// pos returns where path was read from, falling back to its nearest
// recorded ancestor (a missing field is reported at its parent mapping).
func (d *strictDecoder) pos(path string) pos {
	for {
		if n, ok := d.nodes[path]; ok {
			return pos{n.Line, n.Column}
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			if n, ok := d.nodes[""]; ok {
				return pos{n.Line, n.Column}
			}
			return pos{}
		}
		path = path[:i]
	}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a document"
	}
}

// decode fills v (addressable) from n, recording n under path.
func (d *strictDecoder) decode(path, what string, n *yaml.Node, v reflect.Value) {
	n = resolveAlias(n)
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	d.nodes[path] = n
	if isNull(n) {
		// An explicitly empty value decodes to the zero value; required
		// fields are caught by validation, which says what is missing.
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(path, what, n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "%s: expected a list, got %s", what, kindName(n))
			return
		}
		elems := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d]", what, i), item, elems.Index(i))
		}
		v.Set(elems)
	default:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, "%s: expected a %s, got %s", what, scalarKind(v.Kind()), kindName(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n, "%s: %s", what, cleanYAMLDecodeError(err))
		}
	}
}

func (d *strictDecoder) decodeStruct(path, what string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if key == nil || key.Kind != yaml.ScalarNode {
			d.errorf(n.Content[i], "%s: keys must be plain strings", what)
			continue
		}
		if first, dup := seen[key.Value]; dup {
			d.errorf(key, "%s: duplicate field %q (first set at line %d)", what, key.Value, first.Line)
			continue
		}
		seen[key.Value] = key
		idx, ok := fields[key.Value]
		if !ok {
			d.errorf(key, "%s: unknown field %q (known fields: %s)", what, key.Value, strings.Join(sortedKeys(fields), ", "))
			continue
		}
		child := key.Value
		if path != "" {
			child = path + "." + key.Value
		}
		childWhat := key.Value
		if what != "playbook" {
			childWhat = what + "." + key.Value
		}
		d.decode(child, childWhat, val, v.Field(idx))
	}
}

// yamlFields maps yaml key names to struct field indexes.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func scalarKind(k reflect.Kind) string {
	switch k {
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	default:
		return "string"
	}
}

// cleanYAMLDecodeError drops yaml.v3's "unmarshal errors: line N:" framing;
// the LoadError already carries the position.
func cleanYAMLDecodeError(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
	}
	return msg
}
