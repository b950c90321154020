import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { LATEST_SCHEMA_VERSION, migrate, migrations, schemaVersion, type Migration } from '../../../src/core/cases/migrations'

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name)
}

describe('migrations', () => {
  it('brings a fresh database to the latest schema', () => {
    const db = new Database(':memory:')
    expect(migrate(db)).toEqual({ from: 0, to: LATEST_SCHEMA_VERSION })
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(tables(db)).toEqual(['audit_log', 'case_info', 'evaluation_runs', 'evaluations', 'images', 'models', 'results', 'runs', 'templates'])
    db.close()
  })

  it('is a no-op when already current', () => {
    const db = new Database(':memory:')
    migrate(db)
    const before = db.prepare('SELECT sql FROM sqlite_master ORDER BY name').all()
    expect(migrate(db)).toEqual({ from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION })
    expect(db.prepare('SELECT sql FROM sqlite_master ORDER BY name').all()).toEqual(before)
    db.close()
  })

  it('rolls back every pending migration when one fails', () => {
    const db = new Database(':memory:')
    const failing: Migration = {
      version: migrations.length + 1,
      description: 'broken',
      up(d) {
        d.exec('CREATE TABLE half_done (x INTEGER)')
        throw new Error('disk on fire')
      }
    }
    expect(() => migrate(db, [...migrations, failing])).toThrow(new RegExp(`schema migration ${migrations.length + 1} \\(broken\\) failed: disk on fire`))
    expect(schemaVersion(db)).toBe(0)
    expect(tables(db)).toEqual([])
    db.close()
  })

  it('refuses a database from newer software', () => {
    const db = new Database(':memory:')
    db.pragma('user_version = 99')
    expect(() => migrate(db)).toThrow(/schema version 99 is newer than this software supports/)
    db.close()
  })

  it('rejects a migration list with gaps', () => {
    const db = new Database(':memory:')
    expect(() => migrate(db, [{ ...migrations[0], version: 2 }])).toThrow(/out of order/)
    db.close()
  })

  it('makes audit_log append-only', () => {
    const db = new Database(':memory:')
    migrate(db)
    db.prepare("INSERT INTO audit_log VALUES (1, 'now', 'me', 'x', '{}', 'p', 'h')").run()
    expect(() => db.prepare("UPDATE audit_log SET actor = 'you'").run()).toThrow(/append-only: UPDATE refused/)
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only: DELETE refused/)
    db.close()
  })
})
