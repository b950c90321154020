import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { AuditEntry, AuditVerification, CaseCreateInput, CaseInfo } from '../../shared/types'
import type { CaseDetail } from '../../shared/ipc-contract'
import { ValidationError } from '../../shared/validation'
import { CaseLibrary } from '../cases/case-library'
import { CaseStore } from '../cases/case-store'
import { recoverInterrupted } from '../jobs/recover-interrupted'

/** Cases: the case list, each case's open store, its images and its audit log. */
export class CaseService {
  private readonly stores = new Map<string, CaseStore>()

  constructor(
    private readonly library: CaseLibrary,
    private readonly caseRoot: string,
    /** Whether this process's job queue holds a run: such runs are never marked interrupted. */
    private readonly isOwnJob: (runId: string) => boolean
  ) {}

  list(): CaseInfo[] {
    return this.library.list()
  }

  /** The open store of a listed case (opened, and interrupted runs marked, on first use). */
  store(caseId: string): CaseStore {
    const cached = this.stores.get(caseId)
    if (cached?.isOpen) return cached
    const info = this.library.list().find((c) => c.id === caseId)
    if (!info) throw new ValidationError(`no case with id ${caseId} in the case list`)
    return this.keep(CaseStore.open(info.dir))
  }

  create(input: CaseCreateInput): CaseInfo {
    const store = CaseStore.create({ ...input, dir: resolve(input.dir) })
    this.stores.set(store.info().id, store)
    this.library.register(store.info().dir)
    return store.info()
  }

  /** Adds an existing case folder to the case list. */
  openFolder(dir: string): CaseInfo {
    const store = this.keep(CaseStore.open(resolve(dir)))
    this.library.register(store.info().dir)
    return store.info()
  }

  /** Closes a case and removes its folder from the case list; the folder itself is untouched. */
  forget(dir: string): void {
    const abs = resolve(dir)
    for (const [id, s] of this.stores) {
      if (resolve(s.dir) !== abs) continue
      if (s.isOpen) s.close()
      this.stores.delete(id)
    }
    this.library.forget(abs)
  }

  /** A case's contents, with the quick verification made when it was opened (integrity). */
  get(caseId: string): CaseDetail {
    const s = this.store(caseId)
    return { info: s.info(), templates: s.listTemplates(), images: s.listImages(), runs: s.listRuns(), integrity: s.integrity() }
  }

  /** A folder for a new case under the case root, named after it and not yet taken. */
  uniqueDir(name: string): string {
    const base = join(this.caseRoot, name.replace(/[^\w .-]+/g, '_'))
    let dir = base
    for (let i = 2; existsSync(dir); i++) dir = `${base} (${i})`
    return dir
  }

  getImage(caseId: string, sha256: string): { mime: string; bytes: Uint8Array } {
    const s = this.store(caseId)
    const rec = s.getImage(sha256)
    if (!rec) throw new ValidationError(`no image ${sha256.slice(0, 12)}… in this case`)
    return { mime: rec.mime, bytes: new Uint8Array(readFileSync(s.imagePath(sha256))) }
  }

  auditLog(caseId: string): AuditEntry[] {
    return this.store(caseId).auditLog()
  }

  verifyAudit(caseId: string): AuditVerification {
    return this.store(caseId).verifyAudit()
  }

  /**
   * Reads a case folder's audit log and its verification without listing the case or marking
   * its runs: checking evidence must not modify it.
   */
  inspectAudit(dir: string, options: { expect?: { seq: number; hash: string } } = {}): { log: AuditEntry[]; verification: AuditVerification; head: ReturnType<CaseStore['auditHead']> } {
    const store = CaseStore.open(dir)
    try {
      return { log: store.auditLog(), verification: store.verifyAudit(options), head: store.auditHead() }
    } finally {
      store.close()
    }
  }

  close(): void {
    for (const s of this.stores.values()) if (s.isOpen) s.close()
    this.stores.clear()
  }

  private keep(store: CaseStore): CaseStore {
    // A case that fails its quick verification is opened for reading only: settling its runs would write.
    if (store.integrity().ok) recoverInterrupted(store, this.isOwnJob)
    this.stores.set(store.info().id, store)
    return store
  }
}
