import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import {
  EXPLAIN_RESULT_KIND,
  type AggregationRecord,
  type CentroidsRecord,
  type ExplainAggregationInput,
  type ExplainCentroidsInput,
  type ExplainKind,
  type ExplainOcclusionInput,
  type ExplainPhoto,
  type ExplainProvenance,
  type ExplainRecord,
  type ExplainRun,
  type OcclusionRecord
} from '../../shared/explain-types'
import type { RunRecord, TemplateRecord } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import type { CaseStore } from '../cases/case-store'
import { detectLayout, isImageFile, walkImages } from '../datasets/dataset-layout'
import type { InferenceEngine } from '../engine/inference-engine'
import { aggregate, splitHoldout } from '../explain/aggregation'
import { averageLinkage, clustersOf, purity } from '../explain/centroids'
import { decodeTemplates } from '../explain/decoding'
import { featureBoxes, heatmapOverlay, maskBox, patchGrid, pixelSensitivity } from '../explain/occlusion'
import { alignPhotos } from '../faces/aligned-faces'
import { encodeAlignedFaces } from '../faces/face-encoder'
import { ARCFACE_112 } from '../imaging/alignment'
import { compareGrid, type GridCell } from '../imaging/compare-grid'
import { encodePng, type RgbImage } from '../imaging/image-io'
import type { JobContext, JobQueue } from '../jobs/job-queue'
import { resolveDecoder } from '../methods/dfd-method'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import { cosine } from '../templates/vector-math'
import type { CaseService } from './case-service'
import type { FaceService } from './face-service'
import type { RunService } from './run-service'

/** The FAR the aggregation's TAR is read at (the paper's operating point). */
const AGGREGATION_FAR = 1e-3
const DEFAULT_IMPOSTORS = 30
const DEFAULT_DATASET_LIMIT = 200

/** A face the analysis uses: its template when the case holds it, otherwise a photo to align and encode. */
interface Source {
  photo: ExplainPhoto
  vector: number[] | null
  file: string | null
}

/** What every Explain job needs once its input is checked: the encoder and the decoder for its templates. */
interface Models {
  encoderId: string
  encoderSha256: string
  decoderId: string
}

const f3 = (x: number): string => x.toFixed(3)
const ratio = (a: { accepted: number; trials: number }): string => `${a.accepted}/${a.trials}`

/**
 * The Explain view's analyses (Križaj et al.'s use of the decoder to show what an embedding
 * keeps): aggregation, centroids, occlusion. Each is checked in full before anything is
 * stored, then runs as a job whose run, pictures and record (with provenance) go into the case.
 */
export class ExplainService {
  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly cases: CaseService,
    private readonly faces: FaceService,
    private readonly runs: RunService,
    private readonly jobs: JobQueue,
    private readonly version: string
  ) {}

  /** Averaged gallery templates of one subject over 1, 2, 5, 10, … photos, decoded, with TAR@FAR 1e-3 against held-out photos. */
  aggregation(input: ExplainAggregationInput): RunRecord {
    const store = this.cases.store(input.caseId)
    if (!input.subject === !input.personDir) throw new ValidationError('aggregation: give a subject of the case or a person folder, not both or neither')
    let subject: string
    let own: Source[]
    let others: Source[]
    let encoderId: string
    if (input.subject) {
      subject = input.subject
      const mine = store.listTemplates().filter((t) => t.subject === subject && (!input.encoderId || t.encoderId === input.encoderId))
      if (mine.length === 0)
        throw new ValidationError(`aggregation: the case has no templates of subject '${subject}'${input.encoderId ? ` from encoder ${input.encoderId}` : ''}`)
      encoderId = mine[0].encoderId
      own = mine.filter((t) => t.encoderId === encoderId).map(templateSource)
      others = store
        .listTemplates()
        .filter((t) => t.subject && t.subject !== subject && t.encoderId === encoderId)
        .map(templateSource)
        .slice(0, input.impostors ?? Infinity)
    } else {
      const dir = folder(input.personDir!, 'person folder')
      subject = basename(dir)
      encoderId = input.encoderId ?? this.registry.defaults().encoder
      own = [...walkImages(dir)].map((rel) => fileSource(join(dir, rel), rel, subject))
      others = impostorPhotos(dir, input.impostors ?? DEFAULT_IMPOSTORS, input.seed)
    }
    const n = own.length
    const holdout = input.holdout ?? Math.max(1, Math.floor(n / 4))
    if (n < 3) throw new ValidationError(`aggregation needs at least 3 photos of ${subject} (2 to average, 1 held out), found ${n}`)
    if (!Number.isInteger(holdout) || holdout < 1 || holdout > n - 2)
      throw new ValidationError(`aggregation: hold out between 1 and ${n - 2} of the ${n} photos of ${subject}`)
    if (others.length === 0)
      throw new ValidationError(
        `aggregation needs impostor photos of other people${input.subject ? ' (templates of other subjects in the case)' : ' (sibling person folders)'}, found none`
      )
    const models = this.models(encoderId, own[0].vector?.length ?? null)
    const threshold = this.threshold(encoderId)
    const split = splitHoldout(n, holdout, input.seed)
    const gallery = split.gallery.map((i) => own[i])
    const heldOut = split.heldOut.map((i) => own[i])
    const parameters = { subject, personDir: input.personDir ? resolve(input.personDir) : null, holdout, impostors: others.length, far: AGGREGATION_FAR }
    return this.submit(store, 'aggregation', parameters, input.seed, models, null, toEncode([...gallery, ...heldOut, ...others]) + 2, async (ctx) => {
      const vectors = await this.vectors(ctx, models, [...gallery, ...heldOut, ...others])
      const g = vectors.slice(0, gallery.length)
      const h = vectors.slice(gallery.length, gallery.length + heldOut.length)
      const imp = vectors.slice(gallery.length + heldOut.length)
      const levels = aggregate(g, h, imp, threshold.value)
      const decoded = await this.decode(
        ctx,
        models,
        levels.map((l) => l.template)
      )
      const cells: GridCell[] = levels.map((l, i) => ({
        image: decoded.images[i],
        title: `${l.photos} photo${l.photos === 1 ? '' : 's'} averaged`,
        lines: [
          { text: `cos to held-out ${f3(l.meanGenuine)}` },
          { text: `TAR@FAR 1e-3 ${ratio(l.tar)}`, tone: l.tar.accepted === l.tar.trials ? 'pass' : l.tar.accepted === 0 ? 'fail' : 'normal' },
          { text: `impostors accepted ${ratio(l.impostors)}`, tone: 'muted' },
          { text: `decoded face cos ${f3(decoded.fidelity[i])}`, tone: 'muted' }
        ]
      }))
      const sheet = await compareGrid({
        title: `Aggregation · ${subject} · ${models.encoderId}`,
        subtitle: `gallery templates averaged over n photos, decoded by ${models.decoderId}; verified against ${heldOut.length} held-out photos and ${imp.length} impostors at threshold ${f3(threshold.value)} (FAR 1e-3, ${threshold.dataset})`,
        cells
      })
      return {
        sheet,
        images: decoded.images,
        record: (provenance, shas): AggregationRecord => ({
          ...provenance,
          kind: 'aggregation',
          subject,
          gallery: gallery.map((s) => s.photo),
          heldOut: heldOut.map((s) => s.photo),
          impostors: imp.length,
          threshold: { far: AGGREGATION_FAR, value: threshold.value, dataset: threshold.dataset },
          levels: levels.map((l, i) => ({
            photos: l.photos,
            meanGenuine: l.meanGenuine,
            tar: l.tar,
            impostors: l.impostors,
            fidelity: decoded.fidelity[i],
            imageSha256: shas[i]
          }))
        })
      }
    })
  }

  /** Agglomerative clustering (average linkage, cosine distance) into k clusters, each centroid decoded. */
  centroids(input: ExplainCentroidsInput): RunRecord {
    const store = this.cases.store(input.caseId)
    const k = input.k
    if (!Number.isInteger(k) || k < 2 || k > 64) throw new ValidationError('centroids: k must be a whole number between 2 and 64')
    let sources: Source[]
    let encoderId: string
    if (input.datasetDir) {
      const dir = folder(input.datasetDir, 'dataset folder')
      const layout = detectLayout(dir)
      const limit = input.limit ?? DEFAULT_DATASET_LIMIT
      sources = []
      for (const rel of walkImages(layout.imagesDir)) {
        if (sources.length >= limit) break
        sources.push(fileSource(join(layout.imagesDir, rel), rel, layout.identityOf(rel)))
      }
      encoderId = input.encoderId ?? this.registry.defaults().encoder
    } else {
      const all = store.listTemplates()
      encoderId = input.encoderId ?? mostCommon(all.map((t) => t.encoderId)) ?? this.registry.defaults().encoder
      sources = all.filter((t) => t.encoderId === encoderId).map(templateSource)
    }
    if (sources.length <= k)
      throw new ValidationError(
        `clustering into ${k} clusters needs more than ${k} templates, found ${sources.length}${input.datasetDir ? ' photos in the folder' : ` of encoder ${encoderId} in the case`}`
      )
    const models = this.models(encoderId, sources[0].vector?.length ?? null)
    const parameters = {
      k,
      datasetDir: input.datasetDir ? resolve(input.datasetDir) : null,
      limit: input.limit ?? null,
      templates: sources.length,
      linkage: 'average',
      distance: 'cosine'
    }
    return this.submit(store, 'centroids', parameters, input.seed, models, null, toEncode(sources) + 2, async (ctx) => {
      const vectors = await this.vectors(ctx, models, sources)
      const identities = sources.every((s) => s.photo.identity) ? sources.map((s) => s.photo.identity) : null
      const clusters = clustersOf(vectors, averageLinkage(vectors, k), identities)
      const decoded = await this.decode(
        ctx,
        models,
        clusters.map((c) => c.centroid)
      )
      const total = purity(clusters, sources.length)
      const sheet = await compareGrid({
        title: `Centroids · ${sources.length} templates · k = ${k} · ${models.encoderId}`,
        subtitle: `average linkage on cosine distance; each cluster's centroid decoded by ${models.decoderId}${total === null ? '' : `; purity ${f3(total)}`}`,
        cells: clusters.map((c, i) => ({
          image: decoded.images[i],
          title: `cluster ${c.index + 1}: ${c.members.length} template${c.members.length === 1 ? '' : 's'}`,
          lines: [
            ...(c.majority ? [{ text: `${c.majority.identity} ${c.majority.count}/${c.members.length}` }] : []),
            { text: `decoded face cos ${f3(decoded.fidelity[i])}`, tone: 'muted' as const }
          ]
        }))
      })
      return {
        sheet,
        images: decoded.images,
        record: (provenance, shas): CentroidsRecord => ({
          ...provenance,
          kind: 'centroids',
          templates: sources.length,
          k,
          purity: total,
          clusters: clusters.map((c, i) => ({
            index: c.index,
            size: c.members.length,
            members: c.members.map((m) => sources[m].photo.id),
            majority: c.majority,
            fidelity: decoded.fidelity[i],
            imageSha256: shas[i]
          }))
        })
      }
    })
  }

  /** Sensitivity of the template to a masked square swept over the aligned face, and the decoded templates of eye- and mouth-occluded crops. */
  occlusion(input: ExplainOcclusionInput): RunRecord {
    const store = this.cases.store(input.caseId)
    if (!input.templateId === !input.photo) throw new ValidationError('occlusion: give a template of the case or a photo, not both or neither')
    let template: TemplateRecord | null = null
    let encoderId: string
    if (input.templateId) {
      template = store.getTemplate(input.templateId)
      if (!template) throw new ValidationError(`no template ${input.templateId} in this case`)
      if (!template.imageSha256)
        throw new ValidationError(`occlusion needs the photo a template was enrolled from; template ${template.label} was imported without one`)
      encoderId = template.encoderId
    } else {
      encoderId = input.encoderId ?? this.registry.defaults().encoder
    }
    const models = this.models(encoderId, template?.vector.length ?? null)
    const manifest = this.registry.get(encoderId).manifest
    const [width, height] = manifest.alignment?.size ?? [112, 112]
    const boxes = patchGrid(width, height, input.patch, input.stride)
    const points = manifest.alignment?.points ?? ARCFACE_112
    const parameters = { templateId: input.templateId, photo: input.photo?.name ?? null, patch: input.patch, stride: input.stride, fill: 'grey 128' }
    return this.submit(store, 'occlusion', parameters, input.seed, models, template?.id ?? null, boxes.length + 4, async (ctx) => {
      const crop = template
        ? (await this.runs.groundTruthCrop(store, template))!
        : await this.faces.alignedFace(input.photo!.bytes, input.photo!.name, encoderId, 0, ctx.signal)
      ctx.progress({ step: 1, message: 'aligned' })
      const encoder = await this.loader.prepare(encoderId)
      const features = featureBoxes(points)
      const masked = [maskBox(crop, features.eyes), maskBox(crop, features.mouth)]
      const inputs = [crop, ...masked, ...boxes.map((b) => maskBox(crop, b))]
      const vectors = await encodeAlignedFaces(this.engine, encoder, inputs, {
        signal: ctx.signal,
        onBatch: (done) => ctx.progress({ step: 1 + done, message: 'masked crops encoded' })
      })
      const [original, eyes, mouth, ...patches] = vectors
      const change = patches.map((v) => 1 - cosine(v, original))
      const overlay = heatmapOverlay(crop, pixelSensitivity(width, height, boxes, change))
      const decoded = await this.decode(ctx, models, [original, eyes, mouth])
      const parts = [
        { part: 'eyes' as const, box: features.eyes, cosine: cosine(eyes, original), image: masked[0] },
        { part: 'mouth' as const, box: features.mouth, cosine: cosine(mouth, original), image: masked[1] }
      ]
      const storedCosine = template ? cosine(original, template.vector) : null
      const sheet = await compareGrid({
        title: `Occlusion · ${template?.label ?? input.photo!.name} · ${models.encoderId}`,
        subtitle: `map: 1 − cosine to the unoccluded template when a grey ${input.patch}-pixel square is masked (every ${input.stride} px), scaled to its maximum ${f3(Math.max(...change))}; faces decoded by ${models.decoderId}`,
        columns: 6,
        cells: [
          { image: overlay, title: 'sensitivity map', lines: [{ text: `max change ${f3(Math.max(...change))}` }] },
          { image: decoded.images[0], title: 'decoded: unoccluded', lines: [{ text: `decoded face cos ${f3(decoded.fidelity[0])}`, tone: 'muted' }] },
          ...parts.flatMap((p, i): GridCell[] => [
            { image: p.image, title: `${p.part} occluded`, lines: [{ text: `cos to unoccluded ${f3(p.cosine)}` }] },
            {
              image: decoded.images[i + 1],
              title: `decoded: ${p.part} occluded`,
              lines: [{ text: `decoded face cos ${f3(decoded.fidelity[i + 1])}`, tone: 'muted' }]
            }
          ])
        ]
      })
      const extra = [crop, overlay, ...masked]
      return {
        sheet,
        images: [...decoded.images, ...extra],
        record: (provenance, shas): OcclusionRecord => ({
          ...provenance,
          kind: 'occlusion',
          templateId: template?.id ?? null,
          patch: input.patch,
          stride: input.stride,
          patches: boxes.map((b, i) => ({ x: b.x, y: b.y, change: change[i] })),
          storedCosine,
          cropSha256: shas[3],
          overlaySha256: shas[4],
          original: { fidelity: decoded.fidelity[0], imageSha256: shas[0] },
          occluded: parts.map((p, i) => ({
            part: p.part,
            box: p.box,
            cosine: p.cosine,
            fidelity: decoded.fidelity[i + 1],
            maskedSha256: shas[5 + i],
            imageSha256: shas[i + 1]
          }))
        })
      }
    })
  }

  /** The case's stored Explain runs, newest first. */
  list(caseId: string): ExplainRun[] {
    const store = this.cases.store(caseId)
    return store
      .listRuns()
      .filter((r) => r.status === 'succeeded' && r.method.startsWith('explain-'))
      .flatMap((run): ExplainRun[] => {
        const result = store.listResults(run.id).find((x) => x.kind === EXPLAIN_RESULT_KIND)
        if (!result?.imageSha256) return []
        const record = result.data as ExplainRecord
        return [{ runId: run.id, kind: record.kind, createdAt: run.createdAt, sheetSha256: result.imageSha256, record }]
      })
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  /** The encoder's decoder, refused in one line when there is none. */
  private models(encoderId: string, dim: number | null): Models {
    const encoder = this.registry.getWithRole(encoderId, 'encoder').manifest
    const decoderId = resolveDecoder(this.registry, { encoderId, encoderSha256: encoder.sha256, vector: { length: dim ?? encoder.embeddingDim ?? 0 } })
    return { encoderId, encoderSha256: encoder.sha256, decoderId }
  }

  private threshold(encoderId: string): { value: number; dataset: string } {
    const t = this.registry.get(encoderId).thresholds
    const at = t?.fars.find((f) => f.far === AGGREGATION_FAR)
    if (!t || !at)
      throw new ValidationError(`encoder ${encoderId} has no threshold at FAR 1e-3; measure them with unveil models thresholds --model ${encoderId}`)
    return { value: at.threshold, dataset: t.dataset }
  }

  /** The sources' templates: stored ones as they are, photos aligned and encoded (one progress step each). */
  private async vectors(ctx: JobContext, models: Models, sources: Source[]): Promise<number[][]> {
    const files = sources.flatMap((s) => (s.vector ? [] : [s.file!]))
    const encoded = new Map<string, number[]>()
    if (files.length > 0) {
      const pipeline = await this.faces.pipeline(models.encoderId)
      const aligned = await alignPhotos(this.engine, pipeline.detector, pipeline.landmarker, pipeline.encoder.entry.manifest, files, {
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress({ step: done, message: `aligned ${done}/${total} photos` })
      })
      const vectors = await encodeAlignedFaces(this.engine, pipeline.encoder, aligned.faces, { signal: ctx.signal })
      files.forEach((f, i) => encoded.set(f, Array.from(vectors[i])))
    }
    return sources.map((s) => s.vector ?? encoded.get(s.file!)!)
  }

  private async decode(ctx: JobContext, models: Models, vectors: ArrayLike<number>[]): Promise<Awaited<ReturnType<typeof decodeTemplates>>> {
    const [decoder, encoder] = await Promise.all([this.loader.prepare(models.decoderId), this.loader.prepare(models.encoderId)])
    return decodeTemplates(this.engine, decoder, encoder, vectors, ctx.signal)
  }

  /** Queues the analysis as a run of the case; its pictures, sheet and record are stored in one transaction. */
  private submit(
    store: CaseStore,
    kind: ExplainKind,
    parameters: Record<string, number | string | null>,
    seed: number,
    models: Models,
    templateId: string | null,
    totalSteps: number,
    work: (
      ctx: JobContext
    ) => Promise<{ sheet: Awaited<ReturnType<typeof compareGrid>>; images: RgbImage[]; record: (p: ExplainProvenance, imageShas: string[]) => ExplainRecord }>
  ): RunRecord {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ValidationError('seed must be a whole number ≥ 0')
    const decoder = this.registry.get(models.decoderId).manifest
    const modelSha256s = { encoder: models.encoderSha256, decoder: decoder.sha256 }
    const { runId } = this.jobs.submit({
      caseStore: store,
      method: `explain-${kind}`,
      parameters: Object.fromEntries(Object.entries(parameters).map(([key, v]) => [key, v ?? ''])),
      seed,
      modelSha256s,
      softwareVersion: this.version,
      templateId,
      totalSteps,
      run: async (ctx) => {
        const startedAt = new Date().toISOString()
        const out = await work(ctx)
        const pngs = await Promise.all(out.images.map((img) => encodePng(img)))
        const provenance: ExplainProvenance = {
          kind,
          parameters,
          seed,
          softwareVersion: this.version,
          modelSha256s,
          models: { encoder: { id: models.encoderId, sha256: models.encoderSha256 }, decoder: { id: decoder.id, sha256: decoder.sha256 } },
          executionProvider: this.engine.info().provider,
          startedAt,
          finishedAt: new Date().toISOString()
        }
        const stored = store.atomically(() => {
          const shas = pngs.map(
            (png, i) =>
              store.addImage(png, {
                mime: 'image/png',
                width: out.images[i].width,
                height: out.images[i].height,
                originalName: `explain-${kind}-${ctx.runId}-${i + 1}.png`
              }).sha256
          )
          const sheet = store.addImage(new Uint8Array(out.sheet.png), {
            mime: 'image/png',
            width: out.sheet.layout.width,
            height: out.sheet.layout.height,
            originalName: `explain-${kind}-${ctx.runId}.png`
          })
          const record = out.record(provenance, shas)
          store.addResult({ runId: ctx.runId, kind: EXPLAIN_RESULT_KIND, data: record, imageSha256: sheet.sha256 })
          return { sheetSha256: sheet.sha256, record }
        })
        ctx.progress({ step: totalSteps, message: 'stored' })
        return { kind, sheetSha256: stored.sheetSha256, modelSha256s }
      }
    })
    return store.getRun(runId)!
  }
}

function templateSource(t: TemplateRecord): Source {
  return { photo: { id: t.id, identity: t.subject ?? null }, vector: t.vector, file: null }
}

function fileSource(file: string, id: string, identity: string | null): Source {
  return { photo: { id, identity }, vector: null, file }
}

function toEncode(sources: Source[]): number {
  return sources.filter((s) => !s.vector).length
}

function folder(dir: string, what: string): string {
  const abs = resolve(dir)
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ValidationError(`${what} ${abs} is not a folder`)
  return abs
}

function mostCommon(values: string[]): string | null {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null
}

/** One photo each of `count` other people: sibling folders of the person's folder, chosen by the seed. */
function impostorPhotos(personDir: string, count: number, seed: number): Source[] {
  const parent = dirname(personDir)
  const people = readdirSync(parent, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && join(parent, e.name) !== personDir)
    .map((e) => e.name)
    .sort()
  const order = splitHoldout(people.length, 0, seed).gallery
  const out: Source[] = []
  for (const i of order) {
    if (out.length >= count) break
    const first = readdirSync(join(parent, people[i])).filter(isImageFile).sort()[0]
    if (first) out.push(fileSource(join(parent, people[i], first), `${people[i]}/${first}`, people[i]))
  }
  return out
}
