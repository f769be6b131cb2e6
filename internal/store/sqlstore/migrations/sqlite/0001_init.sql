-- The bot's memory: dedup keys, workload claims, alert threads, triages
-- and the feedback users gave them. Times are Unix nanoseconds (the zero
-- time is the smallest int64) so both dialects compare them exactly as the
-- in-memory store does.

CREATE TABLE deliveries (
	id         TEXT PRIMARY KEY,
	expires_ns INTEGER NOT NULL
);
CREATE INDEX deliveries_expires ON deliveries (expires_ns);

CREATE TABLE claims (
	key       TEXT PRIMARY KEY,
	channel   TEXT NOT NULL,
	ts        TEXT NOT NULL,
	permalink TEXT NOT NULL,
	until_ns  INTEGER NOT NULL
);
CREATE INDEX claims_until ON claims (until_ns);

CREATE TABLE alert_threads (
	fingerprint TEXT PRIMARY KEY,
	channel     TEXT NOT NULL,
	ts          TEXT NOT NULL,
	permalink   TEXT NOT NULL,
	at_ns       INTEGER NOT NULL
);
CREATE INDEX alert_threads_at ON alert_threads (at_ns);

-- seq orders triages by insertion, to break ties between equal times the
-- way the in-memory store does.
CREATE TABLE triages (
	seq              INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	cluster          TEXT NOT NULL,
	namespace        TEXT NOT NULL,
	pod              TEXT NOT NULL,
	workload         TEXT NOT NULL,
	container        TEXT NOT NULL,
	alert            TEXT NOT NULL,
	thread_channel   TEXT NOT NULL,
	thread_ts        TEXT NOT NULL,
	thread_permalink TEXT NOT NULL,
	at_ns            INTEGER NOT NULL,
	workload_key     TEXT NOT NULL,
	verdict          TEXT NOT NULL,
	top_playbook     TEXT NOT NULL,
	top_confidence   REAL NOT NULL,
	-- report is the gzipped JSON report, NULL when the triage had none;
	-- report_trimmed is 1 when its evidence was dropped to fit.
	report           BLOB,
	report_trimmed   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX triages_at ON triages (at_ns);

CREATE TABLE feedback (
	triage_id TEXT NOT NULL REFERENCES triages (id) ON DELETE CASCADE,
	user_id   TEXT NOT NULL,
	judgement TEXT NOT NULL,
	playbook  TEXT NOT NULL,
	at_ns     INTEGER NOT NULL,
	PRIMARY KEY (triage_id, user_id)
);
CREATE INDEX feedback_at ON feedback (at_ns);
