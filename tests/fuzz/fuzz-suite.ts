// The fuzz suite (issue 13): mutated templates, photos, models and manifests go through the real
// import, enrolment, registration and alignment code against a real case and library folder.
// Each case must end either accepted or rejected with a one-line message, within a time limit,
// and a rejection must leave every row and file as it was. Shared by the vitest test (a few
// hundred cases) and `npm run bench -- fuzz` (over 10,000).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { TensorProto_DataType } from 'onnx-buf'
import { jsonErrorMessage } from '../../src/shared/validation'
import { Workbench } from '../../src/core/workbench/workbench'
import { Rng, byteMutation, mutateBin, mutateCsv, mutateJson, mutateNpy } from './mutate'
import {
  externalDataEncoder,
  imageSeeds,
  jpegWithDims,
  mutateModelStructure,
  pngBomb,
  pngWithDims,
  templateSeeds,
  tinyEncoder,
  tinyManifest,
  type ImageSeeds,
  type TemplateSeeds
} from './seeds'

export type Domain = 'template' | 'image' | 'model' | 'manifest' | 'dataset-manifest'
export const DOMAINS: Domain[] = ['template', 'image', 'model', 'manifest', 'dataset-manifest']

export type Outcome = 'accepted' | 'rejected' | 'crash' | 'hang'

export interface CaseResult {
  domain: Domain
  index: number
  mutation: string
  outcome: Outcome
  /** The rejection message, or the crash's. */
  message?: string
  /** What a rejection changed (rows, files), or why the message is not a proper one-line error. */
  problems: string[]
  ms: number
}

export interface DomainStats {
  tried: number
  accepted: number
  rejected: number
  writtenOnRejection: number
  badMessages: number
  crashes: number
  hangs: number
  /** Accepted although the input must never be (a model reading files outside its own). */
  wronglyAccepted: number
  ms: number
}

/** Mutations that must be refused: accepting them is a security failure, not a tolerance. */
const MUST_REJECT = new Set(['model-external-data'])

/** Error types that mean the code under test failed, not that it refused the input. */
const INTERNAL_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError'])

/** Why an error is not a proper one-line message naming the problem (empty when it is). */
export function messageProblems(err: unknown): string[] {
  if (!(err instanceof Error)) return [`threw a non-Error: ${String(err).slice(0, 80)}`]
  const m = err.message
  const p: string[] = []
  if (m.trim() === '') p.push('empty message')
  if (/[\r\n]/.test(m)) p.push('multi-line message')
  if (/^\s+at |\bat .+:\d+:\d+\)?$/m.test(m)) p.push('stack trace in message')
  if (/Maximum call stack/i.test(m)) p.push('stack overflow reached the user')
  if (/\[object Object\]/.test(m)) p.push('[object Object] in message')
  if (/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(m)) p.push('control characters in message')
  if (m.length > 600) p.push(`message of ${m.length} characters`)
  return p
}

function withTimeout<T>(work: () => Promise<T> | T, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    Promise.resolve().then(work),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HangError(`no answer after ${ms} ms`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

class HangError extends Error {}

/** Every file under a folder with size and mtime (the database files are compared by rows). */
function listing(dir: string, skip: (name: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string, rel: string): void => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (skip(r)) continue
      if (e.isDirectory()) walk(join(d, e.name), r)
      else {
        const s = statSync(join(d, e.name))
        out.set(r, `${s.size}@${s.mtimeMs}`)
      }
    }
  }
  walk(dir, '')
  return out
}

function diff(label: string, a: Map<string, string>, b: Map<string, string>): string[] {
  const p: string[] = []
  for (const [k, v] of b)
    if (!a.has(k)) p.push(`${label}: ${k} created`)
    else if (a.get(k) !== v) p.push(`${label}: ${k} changed`)
  for (const k of a.keys()) if (!b.has(k)) p.push(`${label}: ${k} deleted`)
  return p
}

const DB_FILES = /^case\.db(-wal|-shm|-journal)?$/

export interface FuzzOptions {
  /** Base seed: case i of a domain uses seed (base, domain, i), so any case can be re-run alone. */
  seed: number
  counts: Partial<Record<Domain, number>>
  /** Mutation names to leave out (see the vitest test for why). */
  exclude?: ReadonlySet<string>
  timeoutMs?: number
  onResult?: (r: CaseResult) => void
}

/** Runs the suite in a fresh library and case folder under the system temp dir; removes them after. */
export async function runFuzz(options: FuzzOptions): Promise<{ results: CaseResult[]; stats: Record<Domain, DomainStats> }> {
  const root = mkdtempSync(join(tmpdir(), 'unveil-fuzz-'))
  const libraryDir = join(root, 'library')
  const wb = await Workbench.open({ libraryDir, caseRoot: join(root, 'cases'), providers: ['cpu'], threads: 1 })
  const h = new Harness(wb, root, options)
  try {
    await h.prepare()
    for (const domain of DOMAINS) for (let i = 0; i < (options.counts[domain] ?? 0); i++) await h.run(domain, i)
  } finally {
    await wb.close()
    rmSync(root, { recursive: true, force: true })
  }
  return { results: h.results, stats: h.stats() }
}

/** How many templates a case holds before the suite moves on to a fresh one (keeps imports fast). */
const CASE_ROTATION = 400

class Harness {
  readonly results: CaseResult[] = []
  private caseId = ''
  private caseDir = ''
  private casesMade = 0
  private templates!: TemplateSeeds
  private images!: ImageSeeds
  private bombs: Uint8Array[] = []
  private readonly encoderId: string
  private readonly modelFile: string
  private readonly datasetIn: string
  private readonly datasetSeed: string

  constructor(
    private readonly wb: Workbench,
    private readonly root: string,
    private readonly options: FuzzOptions
  ) {
    this.encoderId = wb.registry.defaults().encoder
    this.modelFile = join(root, 'model.onnx')
    this.datasetIn = join(root, 'dataset-in')
    this.datasetSeed = join(root, 'dataset-seed')
  }

  async prepare(): Promise<void> {
    this.templates = templateSeeds(this.encoderId, this.wb.registry.get(this.encoderId).manifest.sha256)
    this.images = await imageSeeds()
    this.bombs = [await pngBomb(12000)]
    this.newCase()
    if ((this.options.counts['dataset-manifest'] ?? 0) > 0) {
      // The seed manifest is what a real alignment of one photo writes.
      mkdirSync(this.datasetIn, { recursive: true })
      writeFileSync(join(this.datasetIn, 'a.jpg'), this.images.faces[0].bytes)
      await this.wb.datasets.align({ inDir: this.datasetIn, outDir: this.datasetSeed })
    }
  }

  private newCase(): void {
    this.caseDir = join(this.root, 'cases', `case-${++this.casesMade}`)
    this.caseId = this.wb.cases.create({ dir: this.caseDir, name: `Fuzz ${this.casesMade}` }).id
  }

  /** Row counts of every table of the case database, read through a connection of its own. */
  private rowCounts(): Map<string, string> {
    const db = new Database(join(this.caseDir, 'case.db'), { readonly: true, fileMustExist: true })
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]
      return new Map(tables.map((t) => [t.name, String((db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n)]))
    } finally {
      db.close()
    }
  }

  private snapshot(
    domain: Domain,
    outDir: string | null
  ): { rows: Map<string, string>; caseFiles: Map<string, string>; library: Map<string, string>; out: Map<string, string> } {
    return {
      rows: this.rowCounts(),
      caseFiles: listing(this.caseDir, (r) => DB_FILES.test(r)),
      // The case list is the library's own business when a case is rotated; models are not.
      library: listing(join(this.root, 'library'), (r) => domain !== 'model' && domain !== 'manifest' && r === 'cases.json'),
      out: outDir ? listing(outDir) : new Map()
    }
  }

  async run(domain: Domain, index: number): Promise<void> {
    const rng = new Rng((this.options.seed * 1_000_003 + DOMAINS.indexOf(domain) * 100_000_007 + index) >>> 0)
    if (domain === 'template' && this.wb.cases.store(this.caseId).listTemplates().length >= CASE_ROTATION) this.newCase()
    const c = this.generate(domain, index, rng)
    if (this.options.exclude?.has(c.mutation)) return
    const before = this.snapshot(domain, c.outDir)
    const t0 = performance.now()
    let outcome: Outcome = 'accepted'
    let message: string | undefined
    const problems: string[] = []
    try {
      await withTimeout(c.exec, this.options.timeoutMs ?? 20_000)
      if (MUST_REJECT.has(c.mutation)) problems.push('accepted an input that must be refused')
    } catch (err) {
      message = err instanceof Error ? err.message : String(err)
      if (err instanceof HangError) outcome = 'hang'
      else if (err instanceof Error && INTERNAL_ERRORS.has(err.name)) outcome = 'crash'
      else outcome = 'rejected'
      problems.push(...messageProblems(err))
    }
    const ms = performance.now() - t0
    if (outcome !== 'accepted') {
      const after = this.snapshot(domain, c.outDir)
      for (const [table, n] of after.rows) if (before.rows.get(table) !== n) problems.push(`rows: ${table} ${before.rows.get(table)} -> ${n}`)
      problems.push(
        ...diff('case', before.caseFiles, after.caseFiles),
        ...diff('library', before.library, after.library),
        ...diff('output', before.out, after.out)
      )
    }
    const r: CaseResult = { domain, index, mutation: c.mutation, outcome, message, problems, ms }
    this.results.push(r)
    this.options.onResult?.(r)
  }

  private generate(domain: Domain, index: number, rng: Rng): { mutation: string; exec: () => Promise<unknown> | unknown; outDir: string | null } {
    switch (domain) {
      case 'template':
        return { ...this.templateCase(rng), outDir: null }
      case 'image':
        return { ...this.imageCase(rng), outDir: null }
      case 'model':
        return { ...this.modelCase(index, rng), outDir: null }
      case 'manifest':
        return { ...this.manifestCase(index, rng), outDir: null }
      case 'dataset-manifest':
        return this.datasetCase(index, rng)
    }
  }

  private importing(name: string, bytes: Uint8Array): () => unknown {
    return () => this.wb.templates.import(this.caseId, bytes, name, this.encoderId)
  }

  private templateCase(rng: Rng): { mutation: string; exec: () => unknown } {
    const s = this.templates
    const enc = new TextEncoder()
    const names = ['t.json', 't.npy', 't.csv', 't.bin', 't.txt', 't.dat', 'noext', 'T.JSON', '\u001b[31mred.json', 'x'.repeat(300) + '.csv']
    const kind = rng.int(5)
    if (kind === 0) {
      const m = mutateJson(rng.pick(s.json) as never, rng)
      return { mutation: m.name, exec: this.importing(rng.pick(names), enc.encode(m.text)) }
    }
    if (kind === 1) {
      const m = mutateCsv(rng.pick(s.csv), rng)
      return { mutation: m.name, exec: this.importing(rng.pick(['t.csv', 't.tsv', 't.txt', 'noext']), enc.encode(m.text)) }
    }
    if (kind === 2) {
      const m = mutateNpy(rng.pick(s.npy), rng)
      return { mutation: m.name, exec: this.importing(rng.pick(['t.npy', 't.bin', 'noext']), m.bytes) }
    }
    if (kind === 3) {
      const m = mutateBin(rng.pick(s.bin), rng)
      return { mutation: m.name, exec: this.importing(rng.pick(['t.bin', 't.f32', 't.raw', 't.dat', 'noext']), m.bytes) }
    }
    const seed = rng.pick(s.files)
    const m = byteMutation(
      seed.bytes,
      s.files.map((f) => f.bytes),
      rng
    )
    return { mutation: `template-${m.name}`, exec: this.importing(rng.chance(0.8) ? seed.name : rng.pick(names), m.bytes) }
  }

  private enrolling(name: string, bytes: Uint8Array): () => Promise<unknown> {
    return () => this.wb.templates.enrolFromPhoto(this.caseId, bytes, name, { encoderId: this.encoderId, faceIndex: 0 })
  }

  private imageCase(rng: Rng): { mutation: string; exec: () => Promise<unknown> } {
    const { faces, others } = this.images
    const all = [...faces, ...others].map((f) => f.bytes)
    const kind = rng.int(10)
    const png = faces.find((f) => f.name.endsWith('.png'))!.bytes
    const jpg = faces.find((f) => f.name.endsWith('.jpg'))!.bytes
    const huge = [0, 1, 65535, 65536, 2 ** 24, 2 ** 31 - 1, 2 ** 32 - 1]
    if (kind === 0) return { mutation: 'image-png-dims', exec: this.enrolling('d.png', pngWithDims(png, rng.pick(huge), rng.pick(huge))) }
    if (kind === 1)
      return {
        mutation: 'image-jpeg-dims',
        exec: this.enrolling('d.jpg', jpegWithDims(jpg, rng.pick(huge.filter((x) => x < 65536)), rng.pick(huge.filter((x) => x < 65536))))
      }
    if (kind === 2 && rng.chance(0.05)) return { mutation: 'image-bomb', exec: this.enrolling('bomb.png', this.bombs[0]) }
    if (kind === 2) return { mutation: 'image-other-format', exec: this.enrolling('o', rng.pick(others).bytes) }
    if (kind === 3)
      return {
        mutation: 'image-noise',
        exec: this.enrolling(
          'n.jpg',
          Uint8Array.from({ length: rng.int(4096) }, () => rng.int(256))
        )
      }
    if (kind === 4) {
      // Only the container's magic survives: every header field after it is garbage.
      const magic = rng.pick([jpg.subarray(0, 4), png.subarray(0, 16), new TextEncoder().encode('GIF89a'), new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 ')])
      const out = new Uint8Array(magic.length + rng.int(2048))
      out.set(magic)
      for (let i = magic.length; i < out.length; i++) out[i] = rng.int(256)
      return { mutation: 'image-magic-garbage', exec: this.enrolling('m', out) }
    }
    const seed = rng.pick(faces)
    const m = byteMutation(seed.bytes, all, rng)
    return { mutation: `image-${m.name}`, exec: this.enrolling(seed.name, m.bytes) }
  }

  private registering(bytes: Uint8Array, manifest: unknown): () => Promise<unknown> {
    return async () => {
      writeFileSync(this.modelFile, bytes)
      return this.wb.models.register(this.modelFile, manifest, { verify: false })
    }
  }

  private modelCase(index: number, rng: Rng): { mutation: string; exec: () => Promise<unknown> } {
    const id = `fuzz-model-${index}`
    const manifest = tinyManifest(id)
    const kind = rng.int(10)
    if (kind === 0) {
      const dims = rng.pick([
        [1, 3, 64, 64],
        [1, 4],
        [1, 3, 112],
        [1, 1, 112, 112],
        ['N', 'C', 'H', 'W']
      ])
      // Half the time the manifest agrees with the graph, so the trial (not the manifest check) must catch it.
      const agree = rng.chance(0.5) && dims.length === 4 && typeof dims[1] === 'number'
      const m = agree ? tinyManifest(id, { input: { ...(manifest.input as object), shape: [-1, ...dims.slice(1)] } }) : manifest
      return { mutation: agree ? 'model-input-shape-agreed' : 'model-input-shape', exec: this.registering(tinyEncoder({ inputDims: dims }), m) }
    }
    if (kind === 1)
      return {
        mutation: 'model-input-dtype',
        exec: this.registering(
          tinyEncoder({
            inputType: rng.pick([
              TensorProto_DataType.DOUBLE,
              TensorProto_DataType.INT64,
              TensorProto_DataType.UINT8,
              TensorProto_DataType.FLOAT16,
              TensorProto_DataType.STRING
            ])
          }),
          manifest
        )
      }
    if (kind === 2) {
      const location = rng.pick([
        '/etc/passwd',
        '../../../../../../etc/passwd',
        '/proc/self/environ',
        'weights.bin',
        join(this.root, 'library', 'models', 'registry.json')
      ])
      return { mutation: 'model-external-data', exec: this.registering(externalDataEncoder(location, rng.pick([0, 4, 2 ** 40])), manifest) }
    }
    if (kind === 3) return { mutation: 'model-nan-output', exec: this.registering(tinyEncoder({ tail: 'nan' }), manifest) }
    if (kind === 4) {
      const side = rng.pick([2 ** 20, 2 ** 19, 100_000])
      const m = tinyManifest(id, { input: { ...(manifest.input as object), shape: [-1, 3, side, side] } })
      return { mutation: 'model-huge-dims', exec: this.registering(tinyEncoder({ inputDims: ['N', 3, side, side] }), m) }
    }
    if (kind === 5) return { mutation: 'model-unknown-op', exec: this.registering(tinyEncoder({ unknownOp: true }), manifest) }
    if (kind === 6) {
      const m = mutateModelStructure(rng)
      return { mutation: m.name, exec: this.registering(m.bytes, manifest) }
    }
    if (kind === 7) return { mutation: 'model-weights', exec: this.registering(tinyEncoder({ weightSeed: 1 + rng.int(1 << 30) }), manifest) }
    const seed = tinyEncoder()
    const m = byteMutation(seed, [seed, tinyEncoder({ inputDims: ['N', 3, 64, 64] })], rng)
    return { mutation: `model-${m.name}`, exec: this.registering(m.bytes, manifest) }
  }

  private manifestCase(index: number, rng: Rng): { mutation: string; exec: () => Promise<unknown> } {
    const seed = tinyManifest(`fuzz-manifest-${index}`)
    let text: string
    let mutation: string
    if (rng.chance(0.7)) {
      const m = mutateJson(seed as never, rng)
      text = m.text
      mutation = `manifest-${m.name}`
    } else {
      const b = byteMutation(new TextEncoder().encode(JSON.stringify(seed, null, 2)), [], rng)
      text = new TextDecoder().decode(b.bytes)
      mutation = `manifest-${b.name === 'splice' ? 'truncate' : b.name}`
    }
    const model = tinyEncoder()
    return {
      mutation,
      exec: async () => {
        let manifest: unknown
        // As `unveil models register` reads the file.
        try {
          manifest = JSON.parse(text)
        } catch (err) {
          throw new Error(`--manifest: m.json is not valid JSON: ${jsonErrorMessage(err)}`)
        }
        return this.registering(model, manifest)()
      }
    }
  }

  private datasetCase(index: number, rng: Rng): { mutation: string; exec: () => Promise<unknown>; outDir: string } {
    const outDir = join(this.root, 'dataset-out', String(index))
    cpSync(this.datasetSeed, outDir, { recursive: true })
    const file = join(outDir, 'manifest.json')
    const seed = JSON.parse(readFileSync(file, 'utf8'))
    let mutation: string
    if (rng.chance(0.75)) {
      const m = mutateJson(seed, rng)
      writeFileSync(file, m.text)
      mutation = `dataset-${m.name}`
    } else {
      const b = byteMutation(readFileSync(file), [], rng)
      writeFileSync(file, b.bytes)
      mutation = `dataset-${b.name}`
    }
    return { mutation, outDir, exec: () => this.wb.datasets.align({ inDir: this.datasetIn, outDir, concurrency: 1 }) }
  }

  stats(): Record<Domain, DomainStats> {
    const out = {} as Record<Domain, DomainStats>
    for (const d of DOMAINS) {
      const rs = this.results.filter((r) => r.domain === d)
      out[d] = {
        tried: rs.length,
        accepted: rs.filter((r) => r.outcome === 'accepted').length,
        rejected: rs.filter((r) => r.outcome === 'rejected').length,
        writtenOnRejection: rs.filter((r) => r.outcome !== 'accepted' && r.problems.some((p) => /^(rows|case|library|output):/.test(p))).length,
        badMessages: rs.filter((r) => r.outcome !== 'accepted' && r.problems.some((p) => !/^(rows|case|library|output):/.test(p))).length,
        crashes: rs.filter((r) => r.outcome === 'crash').length,
        hangs: rs.filter((r) => r.outcome === 'hang').length,
        wronglyAccepted: rs.filter((r) => r.outcome === 'accepted' && r.problems.length > 0).length,
        ms: rs.reduce((a, r) => a + r.ms, 0)
      }
    }
    return out
  }
}
