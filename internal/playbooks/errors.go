package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
)

// LoadError is one problem found while loading a playbook file, located as
// precisely as the YAML and CEL parsers allow.
type LoadError struct {
	// File is the name the playbook was loaded under.
	File string
	// Line and Col are 1-based; 0 means unknown.
	Line, Col int
	// Msg says what is wrong and, where it helps, how to fix it.
	Msg string
}

// Error formats the error as "file:line:col: msg", the shape editors and CI
// annotators jump to. Unknown parts are left out rather than printed as 0.
func (e *LoadError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// pos is a 1-based position in a playbook file.
type pos struct{ line, col int }

// yamlLineRE pulls the line number out of gopkg.in/yaml.v3 messages, which
// carry a line but no column ("yaml: line 4: did not find expected key").
var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlParserProblems are the messages of gopkg.in/yaml.v3's parser (as
// opposed to its scanner). For these, v3.0.1 prints the 0-based line of the
// construct being parsed, while scanner errors carry 1-based lines; the
// loader corrects the former so every reported line is 1-based.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// yamlError turns a yaml.v3 syntax error into a LoadError, keeping the line
// the parser reported (yaml.v3 gives no column).
func yamlError(file string, err error) *LoadError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, convErr := strconv.Atoi(m[1])
		if convErr == nil {
			problem := msg[len(m[0]):]
			if yamlParserProblems[problem] {
				line++
			}
			return &LoadError{File: file, Line: line, Msg: "invalid YAML: " + problem}
		}
	}
	return &LoadError{File: file, Msg: "invalid YAML: " + msg}
}
