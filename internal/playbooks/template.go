package playbooks

import (
	"fmt"
	"reflect"
	"strings"
	"text/template"

	"github.com/oombot/oombot/internal/evidence"
)

// NextStepsData is what a playbook's nextSteps template is rendered over.
type NextStepsData struct {
	// Evidence is everything gathered for the triage.
	Evidence evidence.Evidence
	// Signals holds the signals that fired, by name. A signal that did not
	// fire is absent, so {{ with index .Signals "name" }} guards on it.
	Signals map[string]*FiredSignal
}

// templateFuncs are the helpers nextSteps templates may call. They never
// fail on odd input, so a template over sparse evidence still renders.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		// bytes formats a byte count: {{ bytes .Budget.LimitBytes }} -> 512MiB.
		"bytes": func(v any) string { return evidence.Bytes(toInt64(v)) },
		// pct formats a fraction: {{ pct .FloorFractionOfCeiling }} -> 83%.
		"pct": func(v any) string { return fmt.Sprintf("%.0f%%", 100*toFloat64(v)) },
		// first returns a list's first element, or nil for an empty list,
		// so {{ with first .Items }} is safe where index .Items 0 is not.
		"first": func(v any) any {
			rv := reflect.ValueOf(v)
			if (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Len() == 0 {
				return nil
			}
			return rv.Index(0).Interface()
		},
		"join":      strings.Join,
		"hasPrefix": strings.HasPrefix,
		"contains":  strings.Contains,
		// target returns the container the triage focuses on (the one
		// named by ev.target.container, else the first), or nil.
		"target": targetContainer,
	}
}

func targetContainer(ev evidence.Evidence) *evidence.Container {
	for i := range ev.Containers {
		if ev.Containers[i].Name == ev.Target.Container {
			return &ev.Containers[i]
		}
	}
	if len(ev.Containers) > 0 {
		return &ev.Containers[0]
	}
	return nil
}

func toInt64(v any) int64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return int64(rv.Float())
	default:
		return 0
	}
}

func toFloat64(v any) float64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	default:
		return 0
	}
}
