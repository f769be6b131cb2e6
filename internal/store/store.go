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
}

// Memory is an in-process Store with bounded size: old entries are
// evicted so a long-running bot's memory stays flat.
type Memory struct {
	mu         sync.Mutex
	deliveries map[string]time.Time // id → expiry
	claims     map[string]claim
	threads    map[string]thread
	triages    map[string]Triage
	order      []string // triage ids, oldest first
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
	return &Memory{deliveries: map[string]time.Time{}, claims: map[string]claim{}, threads: map[string]thread{}, triages: map[string]Triage{}}
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
