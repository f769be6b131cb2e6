package v1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// SchemaDialect is the JSON Schema draft the generated schema declares.
// Draft-07 is the one every yaml-language-server release validates and
// completes; later drafts are supported only by recent versions.
const SchemaDialect = "http://json-schema.org/draft-07/schema#"

// Constraints the loader (package playbooks) enforces, restated here so the
// schema can tell an editor about them. TestSchemaAgreesWithLoader keeps the
// two in step.
const (
	// NamePattern is the shape of playbook ids and signal/veto names.
	NamePattern = `^[a-z0-9-]+$`
	// MaxNameLen is the longest id or name the loader accepts.
	MaxNameLen = 63
	// nonBlank matches a string holding at least one non-space character:
	// the loader rejects titles, descriptions and expressions that are
	// empty after trimming spaces.
	nonBlank = `\S`
	// httpURL matches an absolute http(s) URL with a host. url.Parse
	// lower-cases the scheme before the loader compares it, so the pattern
	// accepts any case (JSON Schema patterns have no case-insensitive flag).
	httpURL = `^[hH][tT][tT][pP][sS]?://[^/?#]`
)

// JSONSchema returns a JSON Schema (draft-07) for playbook files, generated
// by reflection from Playbook and the types it uses, indented and with a
// stable key order so the committed copy (playbooks/playbook.schema.json)
// diffs cleanly.
//
// The schema states what can be checked without compiling: field names and
// types, required fields, enums, name patterns and numeric bounds. It cannot
// see CEL or template errors, duplicate names or duplicate keys; the loader
// (bot playbooks lint) remains the authority.
func JSONSchema() ([]byte, error) {
	g := &generator{docs: fieldDocs(), rules: fieldRules(), defs: map[string]*schema{}, used: map[string]bool{}}
	root, err := g.object(reflect.TypeFor[Playbook]())
	if err == nil {
		err = g.checkAllUsed()
	}
	if err != nil {
		return nil, fmt.Errorf("playbook JSON schema: %w", err)
	}
	root.Schema = SchemaDialect
	root.Title = "oombot playbook (" + APIVersion + ")"
	for _, name := range g.order {
		root.Definitions = append(root.Definitions, property{name, g.defs[name]})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Descriptions hold < and > (CEL comparisons); keep them readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("playbook JSON schema: %w", err)
	}
	return buf.Bytes(), nil
}

// schema is the subset of JSON Schema the generator emits. Field order is
// the order keys appear in the output.
type schema struct {
	Schema               string     `json:"$schema,omitempty"`
	Ref                  string     `json:"$ref,omitempty"`
	Title                string     `json:"title,omitempty"`
	Description          string     `json:"description,omitempty"`
	Type                 string     `json:"type,omitempty"`
	Enum                 []string   `json:"enum,omitempty"`
	Const                *string    `json:"const,omitempty"`
	Pattern              string     `json:"pattern,omitempty"`
	Format               string     `json:"format,omitempty"`
	MaxLength            *int       `json:"maxLength,omitempty"`
	ExclusiveMinimum     *float64   `json:"exclusiveMinimum,omitempty"`
	Minimum              *float64   `json:"minimum,omitempty"`
	Maximum              *float64   `json:"maximum,omitempty"`
	MinItems             *int       `json:"minItems,omitempty"`
	Items                *schema    `json:"items,omitempty"`
	Properties           properties `json:"properties,omitempty"`
	Required             []string   `json:"required,omitempty"`
	AdditionalProperties *bool      `json:"additionalProperties,omitempty"`
	If                   *schema    `json:"if,omitempty"`
	Then                 *schema    `json:"then,omitempty"`
	Definitions          properties `json:"definitions,omitempty"`
}

type property struct {
	name   string
	schema *schema
}

// properties keeps declaration order in the output (a map would be sorted),
// so the schema reads in the same order as the Go types and the docs.
type properties []property

// MarshalJSON writes the properties as one object in declaration order.
func (ps properties) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			buf.WriteByte(',')
		}
		// An Encoder, not json.Marshal, so < and > stay unescaped here too;
		// the newline it appends is dropped when the outer encoder indents.
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p.name); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := enc.Encode(p.schema); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// generator turns Go types into schemas. Struct types other than the root
// become definitions, referenced by $ref, so each appears once.
type generator struct {
	docs  map[string]string
	rules map[string]func(*schema)
	defs  map[string]*schema
	order []string
	// used records the docs and rules keys that matched a type or field,
	// so a key left behind by a renamed field is caught.
	used map[string]bool
}

func (g *generator) checkAllUsed() error {
	for _, m := range []map[string]bool{keys(g.docs), keys(g.rules)} {
		for k := range m {
			if !g.used[k] {
				return fmt.Errorf("%q in fieldDocs or fieldRules names no type or field", k)
			}
		}
	}
	return nil
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// object builds the schema of a struct type from its yaml tags: every field
// becomes a property, fields without omitempty are required (the loader
// rejects documents missing them), and unknown keys are refused, as the
// strict loader refuses them.
func (g *generator) object(t reflect.Type) (*schema, error) {
	g.used[t.Name()] = true
	s := &schema{
		Description:          g.docs[t.Name()],
		Type:                 "object",
		AdditionalProperties: ptr(false),
	}
	if s.Description == "" {
		return nil, fmt.Errorf("type %s has no description in fieldDocs", t.Name())
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%s.%s has no yaml tag", t.Name(), f.Name)
		}
		key := t.Name() + "." + name
		g.used[key] = true
		ps, err := g.value(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		ps.Description = g.docs[key]
		if ps.Description == "" {
			return nil, fmt.Errorf("field %s has no description in fieldDocs", key)
		}
		if rule := g.rules[key]; rule != nil {
			rule(ps)
		}
		s.Properties = append(s.Properties, property{name, ps})
		if !strings.Contains(","+opts+",", ",omitempty,") {
			s.Required = append(s.Required, name)
		}
	}
	if rule := g.rules[t.Name()]; rule != nil {
		rule(s)
	}
	return s, nil
}

// value builds the schema of one field's type. A struct becomes a $ref to
// its definition, whose description then comes from the field.
func (g *generator) value(t reflect.Type) (*schema, error) {
	switch t.Kind() {
	case reflect.String:
		return &schema{Type: "string"}, nil
	case reflect.Bool:
		return &schema{Type: "boolean"}, nil
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer"}, nil
	case reflect.Slice:
		items, err := g.value(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "array", Items: items}, nil
	case reflect.Struct:
		name := t.Name()
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // reserve: a recursive type must not loop
			def, err := g.object(t)
			if err != nil {
				return nil, err
			}
			g.defs[name] = def
			g.order = append(g.order, name)
		}
		return &schema{Ref: "#/definitions/" + name}, nil
	default:
		return nil, fmt.Errorf("unsupported field type %s", t)
	}
}

// fieldDocs are the descriptions editors show, keyed by type name or
// "Type.yamlKey". They say what the Go doc comments in types.go say, in the
// playbook author's terms rather than Go's (reflection cannot read
// comments). JSONSchema fails when a field has none, so a new field cannot
// ship undocumented.
func fieldDocs() map[string]string {
	return map[string]string{
		"Playbook": "One oombot diagnosis: the weighted signals that point at a failure pattern, the vetoes that rule it out, and what to do about it. " +
			"Signals and vetoes are CEL expressions over the evidence (the variable ev) that return the evidence items showing them; a playbook that cannot cite evidence cannot match.",
		"Playbook.apiVersion": "The format version: always " + APIVersion + ".",
		"Playbook.kind":       "Always " + Kind + ".",
		"Playbook.id":         "Names the playbook in reports and on the command line (bot playbooks explain ID). Lower-case letters, digits and dashes, at most 63 characters, unique across the loaded set.",
		"Playbook.title":      "The short human name of the failure, shown in the verdict line.",
		"Playbook.summary":    "One plain-language paragraph saying what this failure is.",
		"Playbook.threshold":  "The minimum confidence for a match, 0 < threshold <= 1. Confidence is the summed weight of the fired signals over the summed weight of all signals.",
		"Playbook.signals":    "The weighted observations that point at this failure; at least one. A signal fires when its expression returns a non-empty list.",
		"Playbook.excludeWhen": "Vetoes: if any returns evidence, the playbook does not match and the report cites why. " +
			"A veto that fails at runtime makes the playbook abstain.",
		"Playbook.nextSteps": "What to do, as markdown and a Go text/template over .Evidence and .Signals (fired signals by name, with their .Items). " +
			"Helpers: bytes, pct, first, target, join, hasPrefix, contains. Guard optional data with {{ with }} so it renders as nothing when missing.",
		"Playbook.references": "Links to the documentation behind the advice.",
		"Playbook.tests":      "Evidence bundles this playbook must or must not match; checked by bot playbooks test.",

		"Signal": "One weighted observation.",
		"Signal.name": "Lower-case letters, digits and dashes, at most 63 characters; unique within the playbook (vetoes included). " +
			"Next-steps templates reach the signal as index .Signals \"NAME\".",
		"Signal.description": "Shown next to the evidence the signal cites.",
		"Signal.weight":      "The signal's share of the playbook's confidence; > 0.",
		"Signal.required":    "When true, the playbook cannot match unless this signal fires.",
		"Signal.expr": "CEL over ev (the evidence) returning the list of evidence items that show the signal, e.g. " +
			"ev.oomErrors.filter(e, e.kind == 'heap'). Wrap singletons in a list: [ev.kill].filter(k, k.containerOOMKilled). " +
			"A boolean is refused: a match must cite evidence.",

		"Exclusion":             "A veto: a signal without weight whose firing rules the playbook out.",
		"Exclusion.name":        "Lower-case letters, digits and dashes, at most 63 characters; unique within the playbook (signals included).",
		"Exclusion.description": "Says why this evidence rules the playbook out.",
		"Exclusion.expr":        "CEL over ev returning a list of evidence items, like a signal's expr.",

		"Reference":       "One link shown with the diagnosis.",
		"Reference.title": "The link text.",
		"Reference.url":   "An absolute http(s) URL.",

		"Test":               "One evidence bundle the playbook is checked against by bot playbooks test.",
		"Test.bundle":        "Path to an evidence bundle directory, relative to the playbook file.",
		"Test.expect":        "match: the playbook must match the bundle; no-match: it must not (use a look-alike incident).",
		"Test.minConfidence": "The lowest acceptable confidence of the match, 0..1; only with expect: match.",
		"Test.signals":       "Names of this playbook's signals that must fire on the bundle, so a match for the wrong reason fails the test.",
	}
}

// fieldRules add the loader's value constraints to generated schemas, keyed
// like fieldDocs.
func fieldRules() map[string]func(*schema) {
	name := func(s *schema) { s.Pattern, s.MaxLength = NamePattern, ptr(MaxNameLen) }
	text := func(s *schema) { s.Pattern = nonBlank }
	minItems := func(n int) func(*schema) { return func(s *schema) { s.MinItems = ptr(n) } }
	return map[string]func(*schema){
		"Playbook.apiVersion": func(s *schema) { s.Enum = []string{APIVersion} },
		"Playbook.kind":       func(s *schema) { s.Enum = []string{Kind} },
		"Playbook.id":         name,
		"Playbook.title":      text,
		"Playbook.summary":    text,
		"Playbook.threshold":  func(s *schema) { s.ExclusiveMinimum, s.Maximum = ptr(0.0), ptr(1.0) },
		"Playbook.signals":    minItems(1),

		"Signal.name":        name,
		"Signal.description": text,
		"Signal.weight":      func(s *schema) { s.ExclusiveMinimum = ptr(0.0) },
		"Signal.expr":        text,

		"Exclusion.name":        name,
		"Exclusion.description": text,
		"Exclusion.expr":        text,

		"Reference.title": text,
		"Reference.url":   func(s *schema) { s.Pattern, s.Format = httpURL, "uri" },

		"Test.bundle":        text,
		"Test.expect":        func(s *schema) { s.Enum = []string{ExpectMatch, ExpectNoMatch} },
		"Test.minConfidence": func(s *schema) { s.Minimum, s.Maximum = ptr(0.0), ptr(1.0) },
		// Only a well-formed name can name one of the playbook's signals.
		"Test.signals": func(s *schema) { s.Items.Pattern, s.Items.MaxLength = NamePattern, ptr(MaxNameLen) },
		// minConfidence only means something for a match; the loader
		// refuses a positive one with no-match.
		"Test": func(s *schema) {
			s.If = &schema{
				Required:   []string{"expect"},
				Properties: properties{{"expect", &schema{Const: ptr(ExpectNoMatch)}}},
			}
			s.Then = &schema{
				Properties: properties{{"minConfidence", &schema{Maximum: ptr(0.0)}}},
			}
		},
	}
}
