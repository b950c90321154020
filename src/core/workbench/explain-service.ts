import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import {
  EXPLAIN_RESULT_KIND,
  type AggregationRecord,
  type AttributesRecord,
  type CentroidsRecord,
  type EquivarianceRecord,
  type ExplainAttributesInput,
  type ExplainEquivarianceInput,
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
import { ATTRIBUTES, moveAlong, readAlong, type AttributeName } from '../explain/attributes'
import { decodeTemplates } from '../explain/decoding'
import type { ExplainArtefacts } from '../explain/explain-artefacts'
import { parseTransform, transformCrop, transformName } from '../explain/geometric'
import { mapTemplate } from '../explain/linear-map'
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
/** Attribute steps: years for age, the male→female gap for gender. */
const DEFAULT_STEPS: Record<AttributeName, number[]> = { age: [-30, -15, 0, 15, 30], gender: [-1, -0.5, 0, 0.5, 1] }
const STEP_LIMIT: Record<AttributeName, number> = { age: 100, gender: 5 }

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
 * keeps): aggregation, centroids, occlusion, equivariance, attribute directions. Each is checked in full before anything is
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
    private readonly version: string,
    private readonly artefacts: ExplainArtefacts
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
    const { template, encoderId } = this.faceInput(store, input, 'occlusion')
    const models = this.models(encoderId, template?.vector.length ?? null)
    const manifest = this.registry.get(encoderId).manifest
    const [width, height] = manifest.alignment?.size ?? [112, 112]
    const boxes = patchGrid(width, height, input.patch, input.stride)
    const points = manifest.alignment?.points ?? ARCFACE_112
    const parameters = { templateId: input.templateId, photo: input.photo?.name ?? null, patch: input.patch, stride: input.stride, fill: 'grey 128' }
    return this.submit(store, 'occlusion', parameters, input.seed, models, template?.id ?? null, boxes.length + 4, async (ctx) => {
      const crop = await this.cropOf(store, template, input.photo, encoderId, ctx)
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

  /**
   * The perturbation undone: the aligned crop rotated, shifted or scaled, its template decoded
   * as it is and after the transform's equivariance map, next to the unperturbed crop's.
   */
  equivariance(input: ExplainEquivarianceInput): RunRecord {
    const store = this.cases.store(input.caseId)
    const { template, encoderId } = this.faceInput(store, input, 'equivariance')
    const models = this.models(encoderId, template?.vector.length ?? null)
    const encoder = { id: encoderId, sha256: template?.encoderSha256 ?? models.encoderSha256 }
    const names = input.transforms
      ? [...new Set(input.transforms.map((t) => transformName(parseTransform(t))))]
      : this.artefacts.maps(encoderId).map((m) => m.transform)
    if (names.length === 0)
      throw new ValidationError(`no equivariance maps are fitted for encoder ${encoderId}; fit them with unveil explain equivariance --fit --encoder ${encoderId} --data DIR`)
    // Every map is loaded (and checked against the encoder) before anything is queued.
    const maps = names.map((n) => this.artefacts.loadMap(encoder, n))
    const parameters = { templateId: input.templateId, photo: input.photo?.name ?? null, transforms: names.join(' ') }
    return this.submit(store, 'equivariance', parameters, input.seed, models, template?.id ?? null, names.length + 4, async (ctx) => {
      const crop = await this.cropOf(store, template, input.photo, encoderId, ctx)
      const transforms = names.map(parseTransform)
      const perturbedCrops = transforms.map((t) => transformCrop(crop, t))
      const [original, ...perturbed] = await encodeAlignedFaces(this.engine, await this.loader.prepare(encoderId), [crop, ...perturbedCrops], {
        signal: ctx.signal,
        onBatch: (done) => ctx.progress({ step: 1 + Math.min(done, names.length), message: 'perturbed crops encoded' })
      })
      const mapped = perturbed.map((p, i) => mapTemplate(maps[i].map, p))
      const decoded = await this.decode(ctx, models, [original, ...perturbed, ...mapped])
      const n = names.length
      const rows = names.map((name, i) => ({
        name,
        perturbedCosine: cosine(perturbed[i], original),
        mappedCosine: cosine(mapped[i], original),
        perturbed: { image: decoded.images[1 + i], fidelity: decoded.fidelity[1 + i] },
        mapped: { image: decoded.images[1 + n + i], fidelity: decoded.fidelity[1 + n + i] }
      }))
      const sheet = await compareGrid({
        title: `Equivariance · ${template?.label ?? input.photo!.name} · ${models.encoderId}`,
        subtitle: `each perturbed crop's template decoded by ${models.decoderId} as it is and after the transform's linear map (perturbed → original); cos = cosine to the unperturbed crop's template`,
        columns: n > 1 ? 6 : 3,
        cells: [
          { image: crop, title: 'aligned crop', lines: [] },
          { image: decoded.images[0], title: 'decoded: original', lines: [{ text: `decoded face cos ${f3(decoded.fidelity[0])}`, tone: 'muted' }] },
          { image: null, title: '', lines: [] },
          ...rows.flatMap((r, i): GridCell[] => [
            { image: perturbedCrops[i], title: `${r.name} crop`, lines: [{ text: `cos to original ${f3(r.perturbedCosine)}` }] },
            { image: r.perturbed.image, title: `decoded: ${r.name}`, lines: [{ text: `decoded face cos ${f3(r.perturbed.fidelity)}`, tone: 'muted' }] },
            {
              image: r.mapped.image,
              title: `decoded: ${r.name} mapped`,
              lines: [
                { text: `cos to original ${f3(r.mappedCosine)}`, tone: r.mappedCosine > r.perturbedCosine ? 'pass' : 'fail' },
                { text: `decoded face cos ${f3(r.mapped.fidelity)}`, tone: 'muted' }
              ]
            }
          ])
        ]
      })
      return {
        sheet,
        images: [...decoded.images, crop, ...perturbedCrops],
        record: (provenance, shas): EquivarianceRecord => ({
          ...provenance,
          kind: 'equivariance',
          templateId: template?.id ?? null,
          cropSha256: shas[1 + 2 * n],
          original: { fidelity: decoded.fidelity[0], imageSha256: shas[0] },
          transforms: rows.map((r, i) => ({
            transform: r.name,
            map: { weightsSha256: maps[i].record.weights.sha256, fittedAt: maps[i].record.createdAt, validationMapped: maps[i].record.fit.validation.mapped },
            perturbedCosine: r.perturbedCosine,
            mappedCosine: r.mappedCosine,
            perturbedCropSha256: shas[2 + 2 * n + i],
            perturbed: { fidelity: r.perturbed.fidelity, imageSha256: shas[1 + i] },
            mapped: { fidelity: r.mapped.fidelity, imageSha256: shas[1 + n + i] }
          }))
        })
      }
    })
  }

  /** A case template moved in steps along the fitted age and gender directions, each decoded with its identity similarity to the original. */
  attributes(input: ExplainAttributesInput): RunRecord {
    const store = this.cases.store(input.caseId)
    const template = store.getTemplate(input.templateId)
    if (!template) throw new ValidationError(`no template ${input.templateId} in this case`)
    const models = this.models(template.encoderId, template.vector.length)
    const { record: fitted, directions } = this.artefacts.loadAttributes({ id: template.encoderId, sha256: template.encoderSha256 })
    const wanted = input.attributes ?? ATTRIBUTES.filter((a) => directions.has(a))
    const plan = [...new Set(wanted)].map((attribute) => {
      const direction = directions.get(attribute)
      if (!direction) throw new ValidationError(`no ${attribute} direction is fitted for encoder ${template.encoderId}`)
      const steps = (attribute === 'age' ? input.ageSteps : input.genderSteps) ?? DEFAULT_STEPS[attribute]
      if (steps.length < 1 || steps.length > 9 || steps.some((x) => !Number.isFinite(x) || Math.abs(x) > STEP_LIMIT[attribute]))
        throw new ValidationError(`${attribute} steps: give 1 to 9 offsets within ±${STEP_LIMIT[attribute]} (${direction.stepUnit})`)
      return { attribute, direction, steps }
    })
    const parameters = {
      templateId: template.id,
      attributes: plan.map((p) => p.attribute).join(' '),
      ...Object.fromEntries(plan.map((p) => [`${p.attribute}Steps`, p.steps.join(' ')]))
    }
    return this.submit(store, 'attributes', parameters, input.seed, models, template.id, 2, async (ctx) => {
      const moved = plan.flatMap((p) => p.steps.map((s) => moveAlong(template.vector, p.direction, s)))
      const decoded = await this.decode(ctx, models, moved)
      let k = 0
      const rows = plan.map((p) => ({
        ...p,
        cells: p.steps.map((offset) => {
          const i = k++
          return {
            offset,
            i,
            templateCosine: cosine(moved[i], template.vector),
            identityCosine: cosine(decoded.templates[i], template.vector),
            decodedReading: readAlong(decoded.templates[i], p.direction)
          }
        })
      }))
      const reading = (attribute: AttributeName, x: number): string => (attribute === 'age' ? `reads as age ${x.toFixed(0)}` : `gender score ${x.toFixed(2)}`)
      const sheet = await compareGrid({
        title: `Attribute directions · ${template.label} · ${models.encoderId}`,
        subtitle: `template moved along each direction (fitted on ${basename(fitted.data.dir)}, ${fitted.counts.train} photos), decoded by ${models.decoderId}; identity cos = decoded face's template vs the original template`,
        columns: Math.max(...plan.map((p) => p.steps.length)),
        cells: rows.flatMap((r) =>
          r.cells.map(
            (c): GridCell => ({
              image: decoded.images[c.i],
              title: `${r.attribute} ${c.offset > 0 ? '+' : ''}${c.offset} ${r.attribute === 'age' ? 'years' : 'gap'}`,
              lines: [
                { text: `identity cos ${f3(c.identityCosine)}` },
                { text: reading(r.attribute, c.decodedReading), tone: 'muted' },
                { text: `moved template cos ${f3(c.templateCosine)}`, tone: 'muted' }
              ]
            })
          )
        )
      })
      return {
        sheet,
        images: decoded.images,
        record: (provenance, shas): AttributesRecord => ({
          ...provenance,
          kind: 'attributes',
          templateId: template.id,
          directionsFittedAt: fitted.createdAt,
          attributes: rows.map((r) => ({
            attribute: r.attribute,
            stepUnit: r.direction.stepUnit,
            steps: r.cells.map((c) => ({
              offset: c.offset,
              templateCosine: c.templateCosine,
              identityCosine: c.identityCosine,
              decodedReading: c.decodedReading,
              fidelity: decoded.fidelity[c.i],
              imageSha256: shas[c.i]
            }))
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

  /** A case template enrolled from a photo, or a photo: checked before anything is queued. */
  private faceInput(
    store: CaseStore,
    input: { templateId: string | null; photo: { name: string } | null; encoderId: string | null },
    what: string
  ): { template: TemplateRecord | null; encoderId: string } {
    if (!input.templateId === !input.photo) throw new ValidationError(`${what}: give a template of the case or a photo, not both or neither`)
    if (!input.templateId) return { template: null, encoderId: input.encoderId ?? this.registry.defaults().encoder }
    const template = store.getTemplate(input.templateId)
    if (!template) throw new ValidationError(`no template ${input.templateId} in this case`)
    if (!template.imageSha256) throw new ValidationError(`${what} needs the photo a template was enrolled from; template ${template.label} was imported without one`)
    return { template, encoderId: template.encoderId }
  }

  private async cropOf(store: CaseStore, template: TemplateRecord | null, photo: { name: string; bytes: Uint8Array } | null, encoderId: string, ctx: JobContext): Promise<RgbImage> {
    const crop = template ? (await this.runs.groundTruthCrop(store, template))! : await this.faces.alignedFace(photo!.bytes, photo!.name, encoderId, 0, ctx.signal)
    ctx.progress({ step: 1, message: 'aligned' })
    return crop
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
