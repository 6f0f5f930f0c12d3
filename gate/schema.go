package gate

// The schema's versions, applied in order on open, in one transaction with
// the schema_version rows they set: version i+1 is migrations[i]. A
// migration, once released, never changes; a change of the schema is a new
// one at the end of both lists. SQLite and PostgreSQL keep the same tables
// and version numbers; only the dialect differs ("seq INTEGER PRIMARY
// KEY", SQLite's rowid, is an identity column in PostgreSQL).

// sqliteMigrations are SQLite's.
var sqliteMigrations = []string{
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
	migration3,
}

// migration3: the queue is shared by replicas — a job is claimed (by a
// replica, until its lease ends), retried no earlier than not_before, and
// may be a re-check the gate queued itself; a record names the summary
// being written for it and the job that claimed the writing.
const migration3 = `ALTER TABLE jobs ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN recheck INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX jobs_claimable ON jobs (claimed_until, not_before, seq);
	CREATE INDEX jobs_claimed_by ON jobs (claimed_by);
	ALTER TABLE records ADD COLUMN summary_result TEXT NOT NULL DEFAULT '';
	ALTER TABLE records ADD COLUMN summary_job TEXT NOT NULL DEFAULT '';
	ALTER TABLE records ADD COLUMN summary_at BIGINT NOT NULL DEFAULT 0;
	CREATE INDEX records_summary_job ON records (summary_job);`

// postgresMigrations are PostgreSQL's: the same versions.
var postgresMigrations = []string{
	// 1
	`CREATE TABLE events (
		id TEXT PRIMARY KEY,
		received BIGINT NOT NULL
	);
	CREATE TABLE jobs (
		seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	// 2
	`CREATE INDEX jobs_repository_digest ON jobs (repository, digest);`,
	// 3: as SQLite's (the statements are the same in both dialects).
	migration3,
}
