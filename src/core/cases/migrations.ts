import type Database from 'better-sqlite3'

export interface Migration {
  /** Schema version this migration produces; versions run 1, 2, 3, ... without gaps. */
  version: number
  description: string
  up(db: Database.Database): void
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'initial case schema',
    up(db) {
      db.exec(`
        CREATE TABLE case_info (
          -- a constant key keeps the table to a single row
          singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
          id         TEXT NOT NULL,
          name       TEXT NOT NULL,
          number     TEXT,
          examiner   TEXT,
          notes      TEXT,
          created_at TEXT NOT NULL
        );

        CREATE TABLE images (
          sha256        TEXT PRIMARY KEY,
          mime          TEXT NOT NULL,
          width         INTEGER NOT NULL,
          height        INTEGER NOT NULL,
          original_name TEXT,
          added_at      TEXT NOT NULL
        );

        CREATE TABLE templates (
          id                 TEXT PRIMARY KEY,
          label              TEXT NOT NULL,
          encoder_id         TEXT NOT NULL,
          encoder_sha256     TEXT NOT NULL,
          dimension          INTEGER NOT NULL,
          norm               REAL NOT NULL,
          vector             BLOB NOT NULL,
          origin             TEXT NOT NULL CHECK (origin IN ('import', 'enrolment')),
          format             TEXT,
          source_file_sha256 TEXT NOT NULL,
          source_file_name   TEXT,
          image_sha256       TEXT REFERENCES images(sha256),
          face               TEXT,
          created_at         TEXT NOT NULL
        );
        CREATE INDEX templates_image ON templates(image_sha256);

        CREATE TABLE models (
          id       TEXT NOT NULL,
          sha256   TEXT NOT NULL,
          role     TEXT NOT NULL,
          manifest TEXT NOT NULL,
          added_at TEXT NOT NULL,
          PRIMARY KEY (id, sha256)
        );

        CREATE TABLE runs (
          id               TEXT PRIMARY KEY,
          method           TEXT NOT NULL,
          status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
          parameters       TEXT NOT NULL,
          seed             INTEGER,
          model_sha256s    TEXT NOT NULL,
          software_version TEXT NOT NULL,
          -- no ON DELETE action: a template that produced runs cannot be deleted
          template_id      TEXT REFERENCES templates(id),
          created_at       TEXT NOT NULL,
          started_at       TEXT,
          finished_at      TEXT,
          seconds          REAL,
          error            TEXT,
          summary          TEXT
        );
        CREATE INDEX runs_status ON runs(status);
        CREATE INDEX runs_template ON runs(template_id);

        CREATE TABLE results (
          id           TEXT PRIMARY KEY,
          run_id       TEXT NOT NULL REFERENCES runs(id),
          kind         TEXT NOT NULL,
          data         TEXT NOT NULL,
          image_sha256 TEXT REFERENCES images(sha256),
          created_at   TEXT NOT NULL
        );
        CREATE INDEX results_run ON results(run_id);
        CREATE INDEX results_image ON results(image_sha256);

        CREATE TABLE audit_log (
          seq       INTEGER PRIMARY KEY,
          at        TEXT NOT NULL,
          actor     TEXT NOT NULL,
          action    TEXT NOT NULL,
          details   TEXT NOT NULL,
          prev_hash TEXT NOT NULL,
          hash      TEXT NOT NULL
        );
        -- Append-only in normal use. Someone with the file can drop these, which is why
        -- the hash chain and the head anchor exist; the triggers stop accidents, not attackers.
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
      `)
    }
  },
  {
    version: 2,
    description: 'templates record the person (subject) they show, for type II scoring',
    up(db) {
      db.exec(`
        ALTER TABLE templates ADD COLUMN subject TEXT;
        CREATE INDEX templates_subject ON templates(subject);
      `)
    }
  },
  {
    version: 3,
    description: 'runs record the process that owns them (host:pid), so only runs whose owner is gone are marked interrupted',
    up(db) {
      db.exec(`ALTER TABLE runs ADD COLUMN owner TEXT;`)
    }
  },
  {
    version: 4,
    description: 'evaluations (leak assessments) and the runs they made',
    up(db) {
      db.exec(`
        CREATE TABLE evaluations (
          id          TEXT PRIMARY KEY,
          spec        TEXT NOT NULL,
          spec_sha256 TEXT NOT NULL,
          status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
          job_run_id  TEXT REFERENCES runs(id),
          metrics     TEXT,
          error       TEXT,
          created_at  TEXT NOT NULL,
          updated_at  TEXT NOT NULL
        );
        CREATE INDEX evaluations_spec ON evaluations(spec_sha256);

        CREATE TABLE evaluation_runs (
          evaluation_id TEXT NOT NULL REFERENCES evaluations(id),
          attempt_key   TEXT NOT NULL,
          method        TEXT NOT NULL,
          subject       TEXT NOT NULL,
          run_id        TEXT NOT NULL REFERENCES runs(id),
          added_at      TEXT NOT NULL,
          PRIMARY KEY (evaluation_id, attempt_key)
        );
        CREATE INDEX evaluation_runs_run ON evaluation_runs(run_id);
      `)
    }
  }
]

export const LATEST_SCHEMA_VERSION = migrations.length

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

/**
 * Brings the database up to the newest schema. All pending migrations and the version bump run
 * in one transaction (user_version lives in the file header and is transactional), so a failing
 * migration leaves the database exactly as it was.
 */
export function migrate(
  db: Database.Database,
  list: readonly Migration[] = migrations
): { from: number; to: number } {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is out of order: entry ${i} has version ${m.version}, expected ${i + 1}`)
  })
  const latest = list.length
  const from = schemaVersion(db)
  if (from > latest) {
    throw new Error(`case database schema version ${from} is newer than this software supports (${latest}); update Unveil to open it`)
  }
  if (from === latest) return { from, to: from }
  db.transaction(() => {
    for (const m of list.slice(from)) {
      try {
        m.up(db)
      } catch (err) {
        throw new Error(`schema migration ${m.version} (${m.description}) failed: ${(err as Error).message}`)
      }
    }
    db.pragma(`user_version = ${latest}`)
  }).immediate()
  return { from, to: latest }
}
