package gate

// migrations are the SQLite schema's versions, applied in order on open,
// in one transaction with the schema_version rows they set: version i+1 is
// migrations[i]. A migration, once released, never changes; a change of
// the schema is a new one at the end. A PostgreSQL store keeps the same
// tables and version numbers in its own list (its dialect differs:
// "seq INTEGER PRIMARY KEY" is SQLite's rowid, BIGINT GENERATED ALWAYS AS
// IDENTITY there; $1 placeholders instead of ?).
var migrations = []string{
	// 1: events seen, the queue, and the verdicts.
	`CREATE TABLE events (
		id TEXT PRIMARY KEY,
		received BIGINT NOT NULL
	);
	CREATE TABLE jobs (
		seq INTEGER PRIMARY KEY,
		event_id TEXT NOT NULL UNIQUE REFERENCES events(id),
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		tag TEXT NOT NULL DEFAULT '',
		media_type TEXT NOT NULL DEFAULT '',
		received BIGINT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE records (
		repository TEXT NOT NULL,
		digest TEXT NOT NULL,
		tags TEXT NOT NULL DEFAULT '[]',
		pushed BIGINT NOT NULL,
		deadline BIGINT NOT NULL,
		state TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		class TEXT NOT NULL DEFAULT '',
		checks INTEGER NOT NULL DEFAULT 0,
		updated BIGINT NOT NULL,
		vsa TEXT NOT NULL DEFAULT '',
		vsa_result TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (repository, digest)
	);
	CREATE INDEX records_pushed ON records (pushed DESC, repository, digest);
	CREATE INDEX records_state_pushed ON records (state, pushed DESC);
	CREATE INDEX records_repository_pushed ON records (repository, pushed DESC);
	CREATE INDEX records_updated ON records (updated);
	CREATE INDEX events_received ON events (received);`,
	// 2: a backfill asks whether an image is queued already.
	`CREATE INDEX jobs_repository_digest ON jobs (repository, digest);`,
}
