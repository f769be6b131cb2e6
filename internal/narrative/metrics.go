package narrative

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Request results, the values of oombot_llm_requests_total's result label.
const (
	ResultOK          = "ok"
	ResultError       = "error"
	ResultTimeout     = "timeout"
	ResultRateLimited = "rate_limited"
	ResultInvalid     = "invalid"
)

type metrics struct {
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	dropped  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oombot_llm_requests_total",
			Help: "Narrative requests to the LLM endpoint, by result (ok, error, timeout, rate_limited, invalid). Cache hits make no request.",
		}, []string{"result"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oombot_llm_tokens_total",
			Help: "Tokens spent on narratives as reported by the endpoint, by kind (prompt, completion).",
		}, []string{"kind"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oombot_llm_statements_dropped_total",
			Help: "Narrative statements and hypotheses removed by validation (unknown evidence, contradicting the matches).",
		}),
	}
	// Pre-create the label values so dashboards see zeros, not gaps.
	for _, r := range []string{ResultOK, ResultError, ResultTimeout, ResultRateLimited, ResultInvalid} {
		m.requests.WithLabelValues(r)
	}
	m.tokens.WithLabelValues("prompt")
	m.tokens.WithLabelValues("completion")
	if reg == nil {
		return m, nil
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.tokens, err = register(reg, m.tokens)
	if err != nil {
		return nil, err
	}
	m.dropped, err = register(reg, m.dropped)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register adopts an already registered identical collector, so several
// Narrators (one per config reload) can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, err
	}
	return c, nil
}
