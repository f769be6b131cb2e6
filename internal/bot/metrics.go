package bot

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oombot/oombot/internal/report"
)

type metrics struct {
	alerts   *prometheus.CounterVec
	triages  *prometheus.CounterVec
	duration prometheus.Histogram
	feedback *prometheus.CounterVec
	posts    *prometheus.CounterVec
	// Per source, from each report's source statuses: how long it took and
	// how often it failed, so a slow Prometheus shows before users notice.
	sourceSeconds *prometheus.HistogramVec
	sourceErrors  *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_alerts_total",
			Help: "Alert messages seen in watched channels, by source and outcome (triaged, duplicate, resolved, incomplete, refused)."},
			[]string{"source", "outcome"}),
		triages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_triages_total",
			Help: "Triages run, by trigger (alert, command, rerun, watcher), verdict (diagnosed: a playbook matched; no_match: the bot abstained; error: the triage failed) and top playbook (none when nothing matched or it failed)."},
			[]string{"trigger", "verdict", "playbook"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "oombot_triage_seconds",
			Help: "Time from trigger to the report being posted.", Buckets: prometheus.ExponentialBuckets(0.1, 2, 10)}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_feedback_total",
			Help: "Feedback buttons clicked, by top playbook and judgement (helpful, wrong)."},
			[]string{"playbook", "judgement"}),
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_chat_errors_total",
			Help: "Chat platform calls that failed after retries, by operation."}, []string{"op"}),
		sourceSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "oombot_source_seconds",
			Help:    "Time each evidence source took within a triage, by source and status (ok, partial, failed, skipped).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10)}, []string{"source", "status"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_source_errors_total",
			Help: "Evidence sources that failed or answered partially within a triage, by source and status."}, []string{"source", "status"}),
	}
	if r != nil {
		r.MustRegister(m.alerts, m.triages, m.duration, m.feedback, m.posts, m.sourceSeconds, m.sourceErrors)
	}
	return m
}

// observeSources records one triage's source statuses.
func (m *metrics) observeSources(srcs []report.SourceStatus) {
	for _, s := range srcs {
		m.sourceSeconds.WithLabelValues(s.Name, s.Status).Observe(s.Duration.Seconds())
		if s.Status == "failed" || s.Status == "partial" {
			m.sourceErrors.WithLabelValues(s.Name, s.Status).Inc()
		}
	}
}
