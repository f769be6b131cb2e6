-- History looks up one workload's triages newest first; without this index
-- it scans every triage kept.
CREATE INDEX triages_history ON triages (workload_key, at_ns DESC, seq DESC);
