import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { sha256Hex } from '../../../src/core/cases/blob-store'
import { AUDIT_HEAD_FILE, CASE_DB_FILE, CaseStore } from '../../../src/core/cases/case-store'
import { LATEST_SCHEMA_VERSION } from '../../../src/core/cases/migrations'
import type { ModelManifest } from '../../../src/shared/types'
import { newCase, PNG_BYTES, template, tempDir, track } from './fixtures'

const manifest: ModelManifest = {
  id: 'arcface-r100',
  name: 'ArcFace R100',
  role: 'encoder',
  file: 'arcface.onnx',
  sha256: 'a'.repeat(64),
  input: { name: 'input', shape: [-1, 3, 112, 112], layout: 'NCHW' },
  output: { name: 'embedding', shape: [-1, 512] },
  embeddingDim: 512,
  licence: 'MIT',
  source: 'https://example.org'
}

function actions(store: CaseStore): string[] {
  return store.auditLog().map((e) => e.action)
}

describe('CaseStore create / open', () => {
  it('creates a case folder with its database, anchor and first audit entry', () => {
    const store = newCase()
    const info = store.info()
    expect(info).toMatchObject({ dir: store.dir, name: 'Test case', number: 'C-1', examiner: 'E. Xaminer', notes: null })
    expect(info).toMatchObject({ templateCount: 0, imageCount: 0, runCount: 0 })
    expect(info.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(existsSync(join(store.dir, CASE_DB_FILE))).toBe(true)
    expect(JSON.parse(readFileSync(join(store.dir, AUDIT_HEAD_FILE), 'utf8'))).toEqual({ seq: 1, hash: store.auditLog()[0].hash })
    expect(store.auditLog()).toEqual([expect.objectContaining({ seq: 1, action: 'case.create', actor: 'tester' })])
  })

  it('uses WAL journaling', () => {
    const store = newCase()
    const db = new Database(join(store.dir, CASE_DB_FILE), { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    db.close()
  })

  it('refuses a folder that already holds a case, leaving it untouched', () => {
    const store = newCase()
    const before = store.auditLog()
    expect(() => CaseStore.create({ dir: store.dir, name: 'Other' })).toThrow(/already holds a case \(case\.db exists\)/)
    expect(store.info().name).toBe('Test case')
    expect(store.auditLog()).toEqual(before)
  })

  it('rejects bad input before touching the disk', () => {
    const dir = join(tempDir(), 'never')
    expect(() => CaseStore.create({ dir, name: '  ' })).toThrow(/case name must be a non-empty string/)
    expect(() => CaseStore.create({ dir, name: 'ok', number: 7 as unknown as string })).toThrow(/case number must be a string or null/)
    expect(existsSync(dir)).toBe(false)
    const file = join(tempDir(), 'file')
    writeFileSync(file, 'x')
    expect(() => CaseStore.create({ dir: file, name: 'ok' })).toThrow(/it is a file, not a folder/)
  })

  it('creates inside an existing empty folder', () => {
    const dir = tempDir()
    const store = track(CaseStore.create({ dir, name: 'In place' }, { actor: 'tester' }))
    expect(store.info().name).toBe('In place')
  })

  it('reopens a case with the same data, and migrating on reopen changes nothing', () => {
    const store = newCase()
    store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 3 })
    const info = store.info()
    const log = store.auditLog()
    store.close()
    for (let i = 0; i < 2; i++) {
      const again = CaseStore.open(store.dir, { actor: 'tester' })
      expect(again.info()).toEqual(info)
      expect(again.auditLog()).toEqual(log)
      expect(again.verifyAudit().ok).toBe(true)
      again.close()
    }
    const db = new Database(join(store.dir, CASE_DB_FILE), { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
    db.close()
  })

  it('says clearly when a folder is not a case', () => {
    const root = tempDir()
    expect(() => CaseStore.open(join(root, 'missing'))).toThrow(/not a case folder: .*missing does not exist/)
    expect(() => CaseStore.open(root)).toThrow(/not a case folder: .* has no case\.db/)

    const garbage = join(root, 'garbage')
    mkdirSync(garbage)
    writeFileSync(join(garbage, CASE_DB_FILE), 'this is not sqlite at all, just some text that is long enough to look like a header')
    expect(() => CaseStore.open(garbage)).toThrow(/not a case folder: .*case\.db cannot be opened as a case database/)

    // Another application's SQLite file must not be opened, let alone migrated.
    const foreign = join(root, 'foreign')
    mkdirSync(foreign)
    const other = new Database(join(foreign, CASE_DB_FILE))
    other.exec('CREATE TABLE notes (x TEXT)')
    other.close()
    expect(() => CaseStore.open(foreign)).toThrow(/not a case folder: .* is not an Unveil case database/)
    const check = new Database(join(foreign, CASE_DB_FILE), { readonly: true })
    expect(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'notes' }])
    check.close()
  })

  it('refuses use after close', () => {
    const store = newCase()
    store.close()
    expect(store.isOpen).toBe(false)
    expect(() => store.info()).toThrow(/is closed/)
  })
})

describe('CaseStore case details', () => {
  it('updates fields with an audit entry recording old and new values', () => {
    const store = newCase()
    const info = store.update({ name: 'Renamed', notes: 'seen on CCTV' })
    expect(info).toMatchObject({ name: 'Renamed', notes: 'seen on CCTV', number: 'C-1' })
    const last = store.auditLog().at(-1)
    expect(last?.action).toBe('case.update')
    expect(last?.details).toEqual({ changes: { name: { from: 'Test case', to: 'Renamed' }, notes: { from: null, to: 'seen on CCTV' } } })
  })

  it('logs nothing when nothing changes, and refuses bad fields', () => {
    const store = newCase()
    store.update({ name: 'Test case' })
    expect(actions(store)).toEqual(['case.create'])
    expect(() => store.update({ name: '' })).toThrow(/case name must be a non-empty string/)
    expect(() => store.update({ id: 'x' } as never)).toThrow(/case field "id" cannot be updated/)
    expect(store.info().name).toBe('Test case')
    expect(actions(store)).toEqual(['case.create'])
  })
})

describe('CaseStore images', () => {
  it('stores images by content hash and is idempotent', () => {
    const store = newCase()
    const sha = sha256Hex(PNG_BYTES)
    const record = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 3, originalName: 'probe.png' })
    expect(record).toMatchObject({ sha256: sha, mime: 'image/png', width: 4, height: 3, originalName: 'probe.png' })
    expect(store.imagePath(sha)).toBe(join(store.dir, 'blobs', sha.slice(0, 2), `${sha}.png`))
    expect(new Uint8Array(readFileSync(store.imagePath(sha)))).toEqual(PNG_BYTES)

    expect(store.addImage(new Uint8Array(PNG_BYTES), { mime: 'image/png', width: 4, height: 3, originalName: 'copy.png' })).toEqual(record)
    expect(store.listImages()).toEqual([record])
    expect(store.getImage(sha)).toEqual(record)
    expect(actions(store)).toEqual(['case.create', 'image.add'])
    expect(store.info().imageCount).toBe(1)
  })

  it('restores a missing blob when the same image is added again', () => {
    const store = newCase()
    const { sha256 } = store.addImage(PNG_BYTES, { mime: 'image/jpeg', width: 1, height: 1 })
    const path = store.imagePath(sha256)
    expect(path.endsWith('.jpg')).toBe(true)
    rmSync(path)
    expect(() => store.imagePath(sha256)).toThrow(/is not in the store/)
    store.addImage(PNG_BYTES, { mime: 'image/jpeg', width: 1, height: 1 })
    expect(new Uint8Array(readFileSync(store.imagePath(sha256)))).toEqual(PNG_BYTES)
    expect(actions(store)).toEqual(['case.create', 'image.add'])
  })

  it('rejects bad images and leaves nothing behind', () => {
    const store = newCase()
    expect(() => store.addImage(new Uint8Array(), { mime: 'image/png', width: 1, height: 1 })).toThrow(/non-empty Uint8Array/)
    expect(() => store.addImage(PNG_BYTES, { mime: 'text/plain', width: 1, height: 1 })).toThrow(/image mime must look like/)
    expect(() => store.addImage(PNG_BYTES, { mime: 'image/png', width: 0, height: 1 })).toThrow(/image width must be a positive integer/)
    expect(() => store.addImage(PNG_BYTES, { mime: 'image/png', width: 1, height: 1.5 })).toThrow(/image height must be a positive integer/)
    expect(existsSync(join(store.dir, 'blobs'))).toBe(false)
    expect(store.listImages()).toEqual([])
    expect(actions(store)).toEqual(['case.create'])
    expect(store.getImage('0'.repeat(64))).toBeNull()
    expect(() => store.imagePath('0'.repeat(64))).toThrow(/is not in this case/)
  })
})

describe('CaseStore templates', () => {
  it('stores and returns a template, vector as float32', () => {
    const store = newCase()
    const image = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 3 })
    const t = template({
      vector: [0.1, 0.2, 0.3],
      dimension: 3,
      origin: 'enrolment',
      format: null,
      imageSha256: image.sha256,
      face: { index: 0, box: [1, 2, 3, 4], score: 0.99 }
    })
    const stored = store.addTemplate(t)
    expect(stored.vector).toEqual([0.1, 0.2, 0.3].map(Math.fround))
    expect(stored).toEqual({ ...t, subject: null, vector: stored.vector })
    expect(store.getTemplate(t.id)).toEqual(stored)
    expect(store.listTemplates()).toEqual([stored])
    expect(store.auditLog().at(-1)).toMatchObject({ action: 'template.add', details: { id: 'tpl-1', imageSha256: image.sha256, dimension: 3 } })
    expect(store.getTemplate('nope')).toBeNull()
  })

  it('writes the vector as little-endian float32', () => {
    const store = newCase()
    store.addTemplate(template({ vector: [1, -2], dimension: 2 }))
    store.close()
    const db = new Database(join(store.dir, CASE_DB_FILE), { readonly: true })
    const { vector } = db.prepare('SELECT vector FROM templates').get() as { vector: Buffer }
    db.close()
    expect([...vector]).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0])
  })

  it.each([
    ['a NaN component', template({ vector: [1, NaN, 0, 0] }), /vector\[1\] must be a finite number, got NaN/],
    ['an infinite component', template({ vector: [1, Infinity, 0, 0], norm: 1 }), /vector\[1\] must be a finite number/],
    ['a component beyond float32', template({ vector: [1e39, 0, 0, 0], norm: 1 }), /vector\[0\] = 1e\+39 is outside the float32 range/],
    ['a wrong dimension', template({ dimension: 5 }), /dimension 5 does not match its vector length 4/],
    ['a zero vector', template({ vector: [0, 0, 0, 0], norm: 1 }), /zero norm/],
    ['a NaN norm', template({ norm: NaN }), /norm must be a finite number/],
    ['a zero norm', template({ norm: 0 }), /norm must be greater than 0/],
    ['an unknown origin', template({ origin: 'scraped' as never }), /origin must be one of import, enrolment/],
    ['an empty id', template({ id: '' }), /template id must be a non-empty string/],
    ['a bad face box', template({ face: { index: 0, box: [1, 2, 3] as never, score: 1 } }), /face\.box must be 4 numbers/],
    ['an image not in the case', template({ imageSha256: 'b'.repeat(64) }), /imageSha256 b+ is not an image in this case/]
  ])('rejects %s, storing and logging nothing', (_what, t, message) => {
    const store = newCase()
    const log = store.auditLog()
    expect(() => store.addTemplate(t)).toThrow(message)
    expect(store.listTemplates()).toEqual([])
    expect(store.auditLog()).toEqual(log)
    expect(store.verifyAudit().ok).toBe(true)
  })

  it('refuses a duplicate id', () => {
    const store = newCase()
    store.addTemplate(template())
    expect(() => store.addTemplate(template({ label: 'other' }))).toThrow(/template tpl-1 already exists/)
    expect(store.getTemplate('tpl-1')?.label).toBe('suspect A')
  })

  it('deletes with an audit entry, but not while runs use the template', () => {
    const store = newCase()
    store.addTemplate(template())
    store.addTemplate(template({ id: 'tpl-2' }))
    store.createRun({ method: 'nbnet', softwareVersion: '0.1.0', templateId: 'tpl-2' })
    store.deleteTemplate('tpl-1')
    expect(store.getTemplate('tpl-1')).toBeNull()
    expect(store.auditLog().at(-1)).toMatchObject({ action: 'template.delete', details: { id: 'tpl-1', label: 'suspect A' } })
    expect(() => store.deleteTemplate('tpl-1')).toThrow(/template tpl-1 does not exist/)
    expect(() => store.deleteTemplate('tpl-2')).toThrow(/template tpl-2 is used by 1 run\(s\) and cannot be deleted/)
    expect(store.getTemplate('tpl-2')).not.toBeNull()
  })
})

describe('CaseStore models', () => {
  it('records a model reference once', () => {
    const store = newCase()
    const ref = store.addModelRef(manifest)
    expect(ref).toMatchObject({ id: 'arcface-r100', sha256: 'a'.repeat(64), role: 'encoder', manifest })
    expect(store.addModelRef(manifest)).toEqual(ref)
    expect(store.listModelRefs()).toEqual([ref])
    expect(actions(store)).toEqual(['case.create', 'model.add'])
    expect(() => store.addModelRef({ ...manifest, role: 'oracle' as never })).toThrow(/model role must be one of/)
    expect(() => store.addModelRef({ ...manifest, sha256: 'abc' })).toThrow(/model sha256 must be 64 lowercase hex/)
  })
})

describe('CaseStore runs and results', () => {
  it('creates queued runs and moves them through their states', () => {
    const store = newCase()
    store.addTemplate(template())
    const run = store.createRun({
      method: 'nbnet',
      parameters: { steps: 100 },
      seed: 42,
      modelSha256s: { encoder: 'a'.repeat(64) },
      softwareVersion: '0.1.0',
      templateId: 'tpl-1'
    })
    expect(run).toMatchObject({ method: 'nbnet', status: 'queued', parameters: { steps: 100 }, seed: 42, templateId: 'tpl-1', summary: null })
    const running = store.updateRun(run.id, { status: 'running', startedAt: '2025-01-01T00:00:00.000Z' })
    expect(running.status).toBe('running')
    const done = store.updateRun(run.id, { status: 'succeeded', finishedAt: '2025-01-01T00:00:05.000Z', seconds: 5, summary: { best: 0.8 } })
    expect(done).toMatchObject({ status: 'succeeded', seconds: 5, summary: { best: 0.8 } })
    expect(store.getRun(run.id)).toEqual(done)
    expect(store.listRuns()).toEqual([done])
    expect(actions(store)).toEqual(['case.create', 'template.add', 'run.create', 'run.update', 'run.update'])
    expect(store.auditLog().at(-1)?.details).toMatchObject({ id: run.id, previousStatus: 'running', status: 'succeeded' })
    expect(store.info().runCount).toBe(1)
  })

  it('refuses invalid runs and transitions', () => {
    const store = newCase()
    expect(() => store.createRun({ method: 'nbnet', softwareVersion: '0.1.0', templateId: 'ghost' })).toThrow(/templateId ghost is not a template/)
    expect(() => store.createRun({ method: '', softwareVersion: '0.1.0' })).toThrow(/run method must be a non-empty string/)
    expect(() => store.createRun({ method: 'm', softwareVersion: '0.1.0', seed: 1.5 })).toThrow(/run seed must be an integer/)
    expect(() => store.createRun({ method: 'm', softwareVersion: '0.1.0', parameters: { x: NaN } })).toThrow(/run parameters is not storable as JSON/)
    expect(store.listRuns()).toEqual([])

    const run = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    expect(() => store.updateRun(run.id, { status: 'succeeded' })).toThrow(/cannot go from queued to succeeded/)
    expect(() => store.updateRun(run.id, { status: 'paused' as never })).toThrow(/run status must be one of/)
    expect(() => store.updateRun(run.id, { method: 'x' } as never)).toThrow(/run field "method" cannot be updated/)
    expect(() => store.updateRun(run.id, { seconds: -1 })).toThrow(/run seconds must be a finite number/)
    expect(() => store.updateRun('ghost', { status: 'running' })).toThrow(/run ghost does not exist/)
    store.updateRun(run.id, { status: 'cancelled' })
    expect(() => store.updateRun(run.id, { error: 'late' })).toThrow(/already cancelled; finished runs cannot change/)
    expect(store.getRun(run.id)).toMatchObject({ status: 'cancelled', error: null })
  })

  it('stores results per run', () => {
    const store = newCase()
    const image = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 3 })
    const run = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    const result = store.addResult({ runId: run.id, kind: 'reconstruction', data: { score: 0.7, rank: [1, 2] }, imageSha256: image.sha256 })
    expect(result).toMatchObject({ runId: run.id, kind: 'reconstruction', data: { score: 0.7, rank: [1, 2] }, imageSha256: image.sha256 })
    expect(store.listResults(run.id)).toEqual([result])
    expect(store.listResults('other')).toEqual([])
    expect(store.auditLog().at(-1)).toMatchObject({ action: 'result.add', details: { id: result.id, runId: run.id, kind: 'reconstruction' } })

    expect(() => store.addResult({ runId: 'ghost', kind: 'k', data: 1 })).toThrow(/runId ghost is not a run/)
    expect(() => store.addResult({ runId: run.id, kind: 'k', data: 1, imageSha256: 'c'.repeat(64) })).toThrow(/is not an image in this case/)
    expect(() => store.addResult({ runId: run.id, kind: 'k', data: undefined })).toThrow(/result data must be a JSON value/)
    expect(store.listResults(run.id)).toHaveLength(1)
  })
})
