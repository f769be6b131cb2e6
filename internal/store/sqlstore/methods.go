package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/oombot/oombot/internal/chat"
	"github.com/oombot/oombot/internal/store"
)

// Times are stored as Unix nanoseconds, the resolution the in-memory store
// compares at. The zero time maps to the smallest value so it sorts before
// every real time, as time.Time's Before does.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func toNS(t time.Time) int64 {
	switch {
	case t.IsZero():
		return math.MinInt64
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNS(ns int64) time.Time {
	if ns == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// FirstDelivery implements store.Store. The id is inserted, or its expired
// row taken over, in one statement; a live row makes the statement return
// nothing, which is how a redelivery is recognised even when two replicas
// see it at the same instant.
func (s *Store) FirstDelivery(ctx context.Context, id string, now time.Time, ttl time.Duration) (bool, error) {
	var got string
	err := s.db.QueryRowContext(ctx, s.d.q(`INSERT INTO deliveries (id, expires_ns) VALUES (?, ?)
ON CONFLICT (id) DO UPDATE SET expires_ns = excluded.expires_ns
WHERE deliveries.expires_ns <= ?
RETURNING id`), id, toNS(now.Add(ttl)), toNS(now)).Scan(&got)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: record delivery %s: %w", id, err)
	}
	return true, nil
}

// ClaimWorkload implements store.Store, atomically in the same way as
// FirstDelivery. A loser reads the live claim's thread afterwards.
func (s *Store) ClaimWorkload(ctx context.Context, key string, th chat.Ref, now time.Time, window time.Duration) (bool, chat.Ref, error) {
	// The live claim a loser saw can expire and be taken, or be pruned,
	// before it reads the thread; then it simply tries again.
	for range 3 {
		var got string
		err := s.db.QueryRowContext(ctx, s.d.q(`INSERT INTO claims (key, channel, ts, permalink, until_ns) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, permalink = excluded.permalink, until_ns = excluded.until_ns
WHERE claims.until_ns <= ?
RETURNING key`), key, th.Channel, th.TS, th.Permalink, toNS(now.Add(window)), toNS(now)).Scan(&got)
		switch {
		case err == nil:
			return true, th, nil
		case !errors.Is(err, sql.ErrNoRows):
			return false, chat.Ref{}, fmt.Errorf("store: claim %s: %w", key, err)
		}
		var held chat.Ref
		err = s.db.QueryRowContext(ctx, s.d.q(`SELECT channel, ts, permalink FROM claims WHERE key = ?`), key).
			Scan(&held.Channel, &held.TS, &held.Permalink)
		switch {
		case err == nil:
			return false, held, nil
		case !errors.Is(err, sql.ErrNoRows):
			return false, chat.Ref{}, fmt.Errorf("store: read claim %s: %w", key, err)
		}
	}
	return false, chat.Ref{}, fmt.Errorf("store: claim %s: the claim kept changing; try again", key)
}

// PutAlertThread implements store.Store. The latest firing wins.
func (s *Store) PutAlertThread(ctx context.Context, fp string, th chat.Ref, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.d.q(`INSERT INTO alert_threads (fingerprint, channel, ts, permalink, at_ns) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (fingerprint) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, permalink = excluded.permalink, at_ns = excluded.at_ns`),
		fp, th.Channel, th.TS, th.Permalink, toNS(now))
	if err != nil {
		return fmt.Errorf("store: remember alert thread %s: %w", fp, err)
	}
	return nil
}

// AlertThread implements store.Store.
func (s *Store) AlertThread(ctx context.Context, fp string) (chat.Ref, bool, error) {
	var r chat.Ref
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT channel, ts, permalink FROM alert_threads WHERE fingerprint = ?`), fp).
		Scan(&r.Channel, &r.TS, &r.Permalink)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chat.Ref{}, false, nil
	case err != nil:
		return chat.Ref{}, false, fmt.Errorf("store: read alert thread %s: %w", fp, err)
	}
	return r, true, nil
}

// triageCols are the columns scanTriage reads, in order.
const triageCols = `id, cluster, namespace, pod, workload, container, alert, thread_channel, thread_ts, thread_permalink, at_ns, report`

type scanner interface{ Scan(dest ...any) error }

func scanTriage(r scanner) (store.Triage, error) {
	var (
		t    store.Triage
		at   int64
		blob []byte
	)
	if err := r.Scan(&t.ID, &t.Cluster, &t.Namespace, &t.Pod, &t.Workload, &t.Container, &t.Alert,
		&t.Thread.Channel, &t.Thread.TS, &t.Thread.Permalink, &at, &blob); err != nil {
		return store.Triage{}, err
	}
	t.At = fromNS(at)
	rep, err := decodeReport(blob)
	if err != nil {
		return store.Triage{}, fmt.Errorf("triage %s: %w", t.ID, err)
	}
	t.Report = rep
	return t, nil
}

// PutTriage implements store.Store. Putting a triage again (the bot does,
// once it knows the report's thread) replaces it but keeps its place in
// insertion order and its feedback.
func (s *Store) PutTriage(ctx context.Context, t store.Triage) error {
	enc, err := encodeReport(t.Report, s.o.MaxReportBytes)
	if err != nil {
		return fmt.Errorf("store: triage %s: %w", t.ID, err)
	}
	if enc.trimmed {
		s.log.Warn("triage report too large to keep whole: stored without its evidence",
			"triage", t.ID, "compressed_bytes", enc.fullSize, "max_bytes", s.o.MaxReportBytes, "stored_bytes", len(enc.data))
	}
	var (
		blob    any // NULL when there is no report
		verdict string
		conf    float64
	)
	if t.Report != nil {
		blob, verdict = enc.data, t.Report.Verdict
		if len(t.Report.Matches) > 0 {
			conf = t.Report.Matches[0].Confidence
		}
	}
	trimmed := 0
	if enc.trimmed {
		trimmed = 1
	}
	_, err = s.db.ExecContext(ctx, s.d.q(`INSERT INTO triages (id, cluster, namespace, pod, workload, container, alert,
	thread_channel, thread_ts, thread_permalink, at_ns, workload_key, verdict, top_playbook, top_confidence, report, report_trimmed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET cluster = excluded.cluster, namespace = excluded.namespace, pod = excluded.pod,
	workload = excluded.workload, container = excluded.container, alert = excluded.alert,
	thread_channel = excluded.thread_channel, thread_ts = excluded.thread_ts, thread_permalink = excluded.thread_permalink,
	at_ns = excluded.at_ns, workload_key = excluded.workload_key, verdict = excluded.verdict,
	top_playbook = excluded.top_playbook, top_confidence = excluded.top_confidence,
	report = excluded.report, report_trimmed = excluded.report_trimmed`),
		t.ID, t.Cluster, t.Namespace, t.Pod, t.Workload, t.Container, t.Alert,
		t.Thread.Channel, t.Thread.TS, t.Thread.Permalink, toNS(t.At), t.WorkloadKey(), verdict,
		store.TopPlaybook(t.Report), conf, blob, trimmed)
	if err != nil {
		return fmt.Errorf("store: save triage %s: %w", t.ID, err)
	}
	return nil
}

// GetTriage implements store.Store.
func (s *Store) GetTriage(ctx context.Context, id string) (store.Triage, bool, error) {
	t, err := scanTriage(s.db.QueryRowContext(ctx, s.d.q(`SELECT `+triageCols+` FROM triages WHERE id = ?`), id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Triage{}, false, nil
	case err != nil:
		return store.Triage{}, false, fmt.Errorf("store: read triage %s: %w", id, err)
	}
	return t, true, nil
}

// PutFeedback implements store.Store. Feedback on a triage the store does
// not know (already pruned) is dropped, as nothing could ever report it.
func (s *Store) PutFeedback(ctx context.Context, f store.Feedback) error {
	_, err := s.db.ExecContext(ctx, s.d.q(`INSERT INTO feedback (triage_id, user_id, judgement, playbook, at_ns)
SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT)
WHERE EXISTS (SELECT 1 FROM triages WHERE id = ?)
ON CONFLICT (triage_id, user_id) DO UPDATE SET judgement = excluded.judgement, playbook = excluded.playbook, at_ns = excluded.at_ns`),
		f.TriageID, f.User, f.Judgement, f.Playbook, toNS(f.At), f.TriageID)
	if err != nil {
		return fmt.Errorf("store: save feedback on %s: %w", f.TriageID, err)
	}
	return nil
}

// History implements store.Store: newest first, ties in reverse insertion
// order (as the in-memory store), at most q.Limit (default 100).
func (s *Store) History(ctx context.Context, q store.HistoryQuery) ([]store.Triage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	where, args := []string{"workload_key = ?", "at_ns >= ?"}, []any{q.Workload, toNS(q.Since)}
	if q.Cluster != "" {
		where, args = append(where, "cluster = ?"), append(args, q.Cluster)
	}
	if q.Namespace != "" {
		where, args = append(where, "namespace = ?"), append(args, q.Namespace)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT `+triageCols+` FROM triages WHERE `+strings.Join(where, " AND ")+
		` ORDER BY at_ns DESC, seq DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", q.Workload, err)
	}
	defer rows.Close()
	var out []store.Triage
	for rows.Next() {
		t, err := scanTriage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: history of %s: %w", q.Workload, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", q.Workload, err)
	}
	return out, nil
}

// FeedbackStats implements store.Store. A triage counts for its top
// playbook when it is not older than since; all its judgements count with
// it, whenever they were given.
func (s *Store) FeedbackStats(ctx context.Context, since time.Time) ([]store.PlaybookStats, error) {
	// SUM of integers is numeric in PostgreSQL: cast so both dialects scan
	// into int64.
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT t.top_playbook, COUNT(*), COUNT(f.triage_id),
	CAST(COALESCE(SUM(f.helpful), 0) AS BIGINT), CAST(COALESCE(SUM(f.wrong), 0) AS BIGINT)
FROM triages t
LEFT JOIN (
	SELECT triage_id,
		SUM(CASE WHEN judgement = 'helpful' THEN 1 ELSE 0 END) AS helpful,
		SUM(CASE WHEN judgement = 'wrong' THEN 1 ELSE 0 END) AS wrong
	FROM feedback GROUP BY triage_id
) f ON f.triage_id = t.id
WHERE t.at_ns >= ?
GROUP BY t.top_playbook`), toNS(since))
	if err != nil {
		return nil, fmt.Errorf("store: feedback stats: %w", err)
	}
	defer rows.Close()
	out := []store.PlaybookStats{}
	for rows.Next() {
		var (
			p                              store.PlaybookStats
			triages, judged, helpful, wrng int64
		)
		if err := rows.Scan(&p.Playbook, &triages, &judged, &helpful, &wrng); err != nil {
			return nil, fmt.Errorf("store: feedback stats: %w", err)
		}
		p.Triages, p.Judged, p.Helpful, p.Wrong = int(triages), int(judged), int(helpful), int(wrng)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: feedback stats: %w", err)
	}
	// Sorted here, byte-wise as Go compares strings: a database collation
	// (en_US) would order "heap-leak" and "heapdump" differently.
	sort.Slice(out, func(i, j int) bool { return out[i].Playbook < out[j].Playbook })
	return out, nil
}

// FeedbackCount is how users judged one triage.
type FeedbackCount struct {
	Helpful, Wrong int
}

// FeedbackCounts returns the judgements on each of ids that has any.
func (s *Store) FeedbackCounts(ctx context.Context, ids []string) (map[string]FeedbackCount, error) {
	out := map[string]FeedbackCount{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT triage_id, judgement, COUNT(*) FROM feedback
WHERE triage_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) GROUP BY triage_id, judgement`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: feedback counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, judgement string
			n             int64
		)
		if err := rows.Scan(&id, &judgement, &n); err != nil {
			return nil, fmt.Errorf("store: feedback counts: %w", err)
		}
		c := out[id]
		switch judgement {
		case store.Helpful:
			c.Helpful += int(n)
		case store.Wrong:
			c.Wrong += int(n)
		}
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: feedback counts: %w", err)
	}
	return out, nil
}

// Prune implements store.Store, in one transaction. A pruned triage's
// feedback goes with it (ON DELETE CASCADE).
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	b := toNS(before)
	counts := make([]any, 0, 10)
	for _, st := range []struct{ what, query string }{
		{"feedback", `DELETE FROM feedback WHERE at_ns < ?`},
		{"triages", `DELETE FROM triages WHERE at_ns < ?`},
		{"deliveries", `DELETE FROM deliveries WHERE expires_ns < ?`},
		{"claims", `DELETE FROM claims WHERE until_ns < ?`},
		{"alert_threads", `DELETE FROM alert_threads WHERE at_ns < ?`},
	} {
		res, err := tx.ExecContext(ctx, s.d.q(st.query), b)
		if err != nil {
			return fmt.Errorf("store: prune %s: %w", st.what, err)
		}
		n, _ := res.RowsAffected()
		counts = append(counts, st.what, n)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	s.log.Debug("store pruned", append([]any{"before", before}, counts...)...)
	return nil
}
