// Package store keeps what the bot must remember between messages: which
// deliveries it has seen (Slack redelivers), which workload was triaged in
// which thread (one triage per workload per window), where each alert's
// thread is (so its RESOLVED lands there), and recent triages (for the
// buttons under a report).
//
// Memory is the single-replica implementation. Keys are claimed
// atomically, so a persistent implementation shared by replicas (issue:
// production deploy) can slot in behind the same interface.
package store

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/report"
)

// Triage is what the bot remembers about one triage.
type Triage struct {
	ID string
	// Request fields, to re-run it.
	Cluster, Namespace, Pod, Workload, Container, Alert string
	Thread                                              chat.Ref
	Report                                              *report.Report
	At                                                  time.Time
}

// Judgements a user can give a triage with the buttons under its report.
const (
	Helpful = "helpful"
	Wrong   = "wrong"
)

// Feedback is one user's judgement of one triage. A user who clicks again
// changes their judgement; it is not counted twice.
type Feedback struct {
	TriageID string
	User     string
	// Judgement is Helpful or Wrong.
	Judgement string
	// Playbook is the triage's top match ("none" when nothing matched).
	Playbook string
	At       time.Time
}

// HistoryQuery selects one workload's triages. Empty Cluster or Namespace
// match any.
type HistoryQuery struct {
	Cluster, Namespace, Workload string
	// Since excludes older triages; zero means all kept.
	Since time.Time
	// Limit caps the result (0: 100).
	Limit int
}

// PlaybookStats is how users judged one playbook's diagnoses: a triage
// counts for the playbook that was its top match.
type PlaybookStats struct {
	Playbook string
	// Triages had this playbook as top match; Judged of them got feedback.
	Triages, Judged int
	// Helpful and Wrong count judgements (one per user per triage).
	Helpful, Wrong int
}

// Precision is the share of judgements that said helpful, or -1 when
// nobody judged.
func (p PlaybookStats) Precision() float64 {
	if p.Helpful+p.Wrong == 0 {
		return -1
	}
	return float64(p.Helpful) / float64(p.Helpful+p.Wrong)
}

// Store is the bot's memory. Implementations are safe for concurrent use.
type Store interface {
	// FirstDelivery records a delivery id and reports whether it is new;
	// ids are forgotten after ttl.
	FirstDelivery(ctx context.Context, id string, now time.Time, ttl time.Duration) (bool, error)
	// ClaimWorkload claims key for window. When another claim is still
	// live it returns false and that claim's thread.
	ClaimWorkload(ctx context.Context, key string, thread chat.Ref, now time.Time, window time.Duration) (bool, chat.Ref, error)
	// PutAlertThread remembers the thread of an alert by fingerprint.
	PutAlertThread(ctx context.Context, fingerprint string, thread chat.Ref, now time.Time) error
	// AlertThread finds an alert's thread.
	AlertThread(ctx context.Context, fingerprint string) (chat.Ref, bool, error)
	// PutTriage and GetTriage keep recent triages.
	PutTriage(ctx context.Context, t Triage) error
	GetTriage(ctx context.Context, id string) (Triage, bool, error)
	// PutFeedback records a judgement; a user's later click on the same
	// triage replaces their earlier one.
	PutFeedback(ctx context.Context, f Feedback) error
	// History lists a workload's triages, newest first.
	History(ctx context.Context, q HistoryQuery) ([]Triage, error)
	// FeedbackStats summarises judgements per top playbook for triages
	// since the given time, sorted by playbook.
	FeedbackStats(ctx context.Context, since time.Time) ([]PlaybookStats, error)
	// Prune forgets triages, feedback and keys older than before.
	Prune(ctx context.Context, before time.Time) error
	// Ping says whether the store can be used (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// TopPlaybook is the playbook a triage's feedback is about: its top
// match, or "none".
func TopPlaybook(r *report.Report) string {
	if r == nil || len(r.Matches) == 0 {
		return "none"
	}
	return r.Matches[0].ID
}

// WorkloadKey is the workload a triage belongs to, for History: the
// resolved owner when known, else the requested workload, else the pod.
func (t Triage) WorkloadKey() string {
	if t.Report != nil && t.Report.Target.WorkloadName != "" {
		return t.Report.Target.WorkloadName
	}
	if t.Workload != "" {
		return t.Workload
	}
	return t.Pod
}

// Memory is an in-process Store with bounded size: old entries are
// evicted so a long-running bot's memory stays flat.
type Memory struct {
	mu         sync.Mutex
	deliveries map[string]time.Time // id → expiry
	claims     map[string]claim
	threads    map[string]thread
	triages    map[string]Triage
	order      []string               // triage ids, oldest first
	feedback   map[[2]string]Feedback // (triage, user) → judgement
	// MaxTriages bounds kept triages (default 500).
	MaxTriages int
}

type claim struct {
	thread chat.Ref
	until  time.Time
}

type thread struct {
	ref chat.Ref
	at  time.Time
}

// alertThreadTTL is how long an alert's thread is remembered for its
// RESOLVED message; alerts rarely stay open for more than a week.
const alertThreadTTL = 7 * 24 * time.Hour

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{deliveries: map[string]time.Time{}, claims: map[string]claim{}, threads: map[string]thread{}, triages: map[string]Triage{}, feedback: map[[2]string]Feedback{}}
}

// FirstDelivery implements Store.
func (m *Memory) FirstDelivery(_ context.Context, id string, now time.Time, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.deliveries) > 10000 {
		for k, exp := range m.deliveries {
			if now.After(exp) {
				delete(m.deliveries, k)
			}
		}
	}
	if exp, ok := m.deliveries[id]; ok && now.Before(exp) {
		return false, nil
	}
	m.deliveries[id] = now.Add(ttl)
	return true, nil
}

// ClaimWorkload implements Store.
func (m *Memory) ClaimWorkload(_ context.Context, key string, th chat.Ref, now time.Time, window time.Duration) (bool, chat.Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[key]; ok && now.Before(c.until) {
		return false, c.thread, nil
	}
	if len(m.claims) > 10000 {
		for k, c := range m.claims {
			if now.After(c.until) {
				delete(m.claims, k)
			}
		}
	}
	m.claims[key] = claim{thread: th, until: now.Add(window)}
	return true, th, nil
}

// PutAlertThread implements Store.
func (m *Memory) PutAlertThread(_ context.Context, fp string, th chat.Ref, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.threads) > 10000 {
		for k, t := range m.threads {
			if now.Sub(t.at) > alertThreadTTL {
				delete(m.threads, k)
			}
		}
	}
	// The latest firing wins: an alert that fires again after resolving
	// starts a new thread, and its RESOLVED belongs there.
	m.threads[fp] = thread{ref: th, at: now}
	return nil
}

// AlertThread implements Store.
func (m *Memory) AlertThread(_ context.Context, fp string) (chat.Ref, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.threads[fp]
	return t.ref, ok, nil
}

// PutTriage implements Store.
func (m *Memory) PutTriage(_ context.Context, t Triage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	max := m.MaxTriages
	if max <= 0 {
		max = 500
	}
	if _, ok := m.triages[t.ID]; !ok {
		m.order = append(m.order, t.ID)
	}
	m.triages[t.ID] = t
	for len(m.order) > max {
		delete(m.triages, m.order[0])
		m.order = m.order[1:]
	}
	return nil
}

// GetTriage implements Store.
func (m *Memory) GetTriage(_ context.Context, id string) (Triage, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.triages[id]
	return t, ok, nil
}

// PutFeedback implements Store.
func (m *Memory) PutFeedback(_ context.Context, f Feedback) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.feedback[[2]string{f.TriageID, f.User}] = f
	return nil
}

// History implements Store.
func (m *Memory) History(_ context.Context, q HistoryQuery) ([]Triage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []Triage
	for i := len(m.order) - 1; i >= 0; i-- { // newest stored first among equal times
		t := m.triages[m.order[i]]
		if t.WorkloadKey() != q.Workload || (q.Cluster != "" && t.Cluster != q.Cluster) ||
			(q.Namespace != "" && t.Namespace != q.Namespace) || t.At.Before(q.Since) {
			continue
		}
		out = append(out, t)
	}
	// Sort before cutting: triages finish (and are stored) out of order, and
	// the newest by time must survive the limit.
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// FeedbackStats implements Store.
func (m *Memory) FeedbackStats(_ context.Context, since time.Time) ([]PlaybookStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	by := map[string]*PlaybookStats{}
	get := func(p string) *PlaybookStats {
		if by[p] == nil {
			by[p] = &PlaybookStats{Playbook: p}
		}
		return by[p]
	}
	judged := map[string]bool{}
	for k, f := range m.feedback {
		t, ok := m.triages[k[0]]
		if !ok || t.At.Before(since) {
			continue
		}
		s := get(TopPlaybook(t.Report))
		switch f.Judgement {
		case Helpful:
			s.Helpful++
		case Wrong:
			s.Wrong++
		}
		if !judged[t.ID] {
			judged[t.ID] = true
			s.Judged++
		}
	}
	for _, t := range m.triages {
		if !t.At.Before(since) {
			get(TopPlaybook(t.Report)).Triages++
		}
	}
	out := make([]PlaybookStats, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Playbook < out[j].Playbook })
	return out, nil
}

// Prune implements Store.
func (m *Memory) Prune(_ context.Context, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := m.order[:0]
	for _, id := range m.order {
		if m.triages[id].At.Before(before) {
			delete(m.triages, id)
			continue
		}
		keep = append(keep, id)
	}
	m.order = keep
	for k, f := range m.feedback {
		if _, ok := m.triages[k[0]]; !ok || f.At.Before(before) {
			delete(m.feedback, k)
		}
	}
	for k, exp := range m.deliveries {
		if exp.Before(before) {
			delete(m.deliveries, k)
		}
	}
	for k, c := range m.claims {
		if c.until.Before(before) {
			delete(m.claims, k)
		}
	}
	for k, t := range m.threads {
		if t.at.Before(before) {
			delete(m.threads, k)
		}
	}
	return nil
}

// Ping implements Store; memory is always there.
func (m *Memory) Ping(context.Context) error { return nil }

// Close implements Store.
func (m *Memory) Close() error { return nil }
