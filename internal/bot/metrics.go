package bot

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	alerts   *prometheus.CounterVec
	triages  *prometheus.CounterVec
	duration prometheus.Histogram
	feedback *prometheus.CounterVec
	posts    *prometheus.CounterVec
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_alerts_total",
			Help: "Alert messages seen in watched channels, by source and outcome (triaged, duplicate, resolved, incomplete, refused)."},
			[]string{"source", "outcome"}),
		triages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_triages_total",
			Help: "Triages run, by trigger (alert, command, rerun) and top playbook (none when nothing matched, error when the triage failed)."},
			[]string{"trigger", "playbook"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "oombot_triage_seconds",
			Help: "Time from trigger to the report being posted.", Buckets: prometheus.ExponentialBuckets(0.1, 2, 10)}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_feedback_total",
			Help: "Feedback buttons clicked, by top playbook and judgement (helpful, wrong)."},
			[]string{"playbook", "judgement"}),
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oombot_chat_errors_total",
			Help: "Chat platform calls that failed after retries, by operation."}, []string{"op"}),
	}
	if r != nil {
		r.MustRegister(m.alerts, m.triages, m.duration, m.feedback, m.posts)
	}
	return m
}
