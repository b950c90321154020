import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AttributeArtefact, AttributeFitInput, EquivarianceFitInput, EquivarianceMapArtefact, ExplainFits } from '../../shared/explain-types'
import { ValidationError } from '../../shared/validation'
import type { InferenceEngine } from '../engine/inference-engine'
import { splitHoldout } from '../explain/aggregation'
import { ageDirection, genderDirection, utkfaceLabels, type AttributeDirection } from '../explain/attributes'
import { ExplainArtefacts } from '../explain/explain-artefacts'
import { STANDARD_TRANSFORMS, parseTransform, transformCrop, transformName, type GeometricTransform } from '../explain/geometric'
import { fitMap, mapTemplate, RIDGE_GRID } from '../explain/linear-map'
import { alignedDataset } from '../evaluation/evaluation-plan'
import { encodeAlignedFaces } from '../faces/face-encoder'
import { decodeImage, type RgbImage } from '../imaging/image-io'
import type { JobContext, JobHandle, JobQueue } from '../jobs/job-queue'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import { exportTemplatesJson, parseTemplateFile } from '../templates/template-codec'
import { cosine, normalise } from '../templates/vector-math'

const DEFAULT_FIT_LIMIT = 2000
/** Share of the fit crops held out to choose the ridge strength (and report the fit error). */
const VALIDATION_SHARE = 0.2
/** Ridge strength (× photos) of the age and gender regressions. */
const ATTRIBUTE_RIDGE = 0.01
const MIN_FIT_CROPS = 20
const ADULT_AGE = 18

export interface MappedTemplateFile {
  json: string
  transform: string
  encoderId: string
  map: EquivarianceMapArtefact
  /** Cosine of the mapped template to the one given (how far the map moved it). */
  movedCosine: number
}

/**
 * Fitting the Explain artefacts on aligned datasets (library-wide jobs, no case): the
 * equivariance maps of an encoder and its attribute directions; and applying a map to a
 * template file.
 */
export class ExplainFitService {
  readonly artefacts: ExplainArtefacts

  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly jobs: JobQueue,
    private readonly version: string,
    libraryDir: string
  ) {
    this.artefacts = new ExplainArtefacts(libraryDir)
  }

  /** Fits one map per transform (perturbed crop's template → original's) on a seeded sample of the dataset's crops. */
  fitEquivariance(input: EquivarianceFitInput): JobHandle<{ maps: EquivarianceMapArtefact[] }> {
    const encoder = this.registry.getWithRole(input.encoderId, 'encoder').manifest
    const transforms = input.transforms ? unique(input.transforms.map(parseTransform)) : STANDARD_TRANSFORMS
    const data = alignedDataset(input.datasetDir)
    const crops = sample(
      data.manifest.items.map((i) => join(data.dir, i.file)),
      input.limit ?? DEFAULT_FIT_LIMIT,
      input.seed
    )
    if (crops.length < MIN_FIT_CROPS) throw new ValidationError(`fitting a map needs at least ${MIN_FIT_CROPS} aligned crops, ${data.dir} has ${crops.length}`)
    const validation = Math.max(1, Math.round(crops.length * VALIDATION_SHARE))
    const steps = crops.length * (2 + transforms.length) + transforms.length
    return this.jobs.submit({
      caseStore: null,
      method: 'explain-fit-equivariance',
      parameters: { encoderId: encoder.id, datasetDir: data.dir, transforms: transforms.map(transformName).join(' '), crops: crops.length },
      seed: input.seed,
      modelSha256s: { encoder: encoder.sha256 },
      softwareVersion: this.version,
      totalSteps: steps,
      run: async (ctx) => {
        const model = await this.loader.prepare(encoder.id)
        const faces = await readCrops(crops, ctx)
        let done = crops.length
        const encode = async (images: RgbImage[], what: string): Promise<Float32Array[]> => {
          const start = done
          const out = await encodeAlignedFaces(this.engine, model, images, {
            signal: ctx.signal,
            onBatch: (n) => ctx.progress({ step: start + n, message: what })
          })
          done += images.length
          return out.map((v) => normalise(v))
        }
        const originals = await encode(faces, 'original crops encoded')
        const maps: EquivarianceMapArtefact[] = []
        for (const t of transforms) {
          const name = transformName(t)
          const perturbed = await encode(
            faces.map((f) => transformCrop(f, t)),
            `${name} crops encoded`
          )
          const fit = fitMap(perturbed, originals, validation)
          done++
          ctx.progress({
            step: done,
            message: `${name} map fitted (validation cosine ${fit.validation.identity.toFixed(3)} → ${fit.validation.mapped.toFixed(3)})`
          })
          maps.push(
            this.artefacts.saveMap(
              {
                format: 'unveil-equivariance-map',
                version: 1,
                transform: name,
                direction: 'perturbed → original',
                encoder: { id: encoder.id, sha256: encoder.sha256 },
                data: { dir: data.dir, manifestSha256: data.sha256, available: data.manifest.items.length },
                counts: { train: crops.length - validation, validation },
                seed: input.seed,
                ridge: { relative: fit.ridge, lambda: fit.lambda, grid: RIDGE_GRID },
                fit: { trainMse: fit.trainMse, validation: fit.validation },
                softwareVersion: this.version,
                createdAt: new Date().toISOString()
              },
              fit.map
            )
          )
        }
        return { maps }
      }
    })
  }

  /** Age and gender directions from an aligned UTKFace folder (labels in the source file names). */
  fitAttributes(input: AttributeFitInput): JobHandle<AttributeArtefact> {
    const encoder = this.registry.getWithRole(input.encoderId, 'encoder').manifest
    const data = alignedDataset(input.datasetDir)
    const labelled = data.manifest.items.flatMap((i) => {
      const labels = utkfaceLabels(i.source)
      return labels ? [{ file: join(data.dir, i.file), labels }] : []
    })
    const chosen = sample(labelled, input.limit ?? DEFAULT_FIT_LIMIT, input.seed)
    if (chosen.length < MIN_FIT_CROPS)
      throw new ValidationError(
        `attribute directions need at least ${MIN_FIT_CROPS} crops labelled age_gender_… (UTKFace file names), ${data.dir} has ${labelled.length}`
      )
    const validation = Math.max(1, Math.round(chosen.length * VALIDATION_SHARE))
    const grown = chosen.slice(0, chosen.length - validation).filter((c) => c.labels.age >= ADULT_AGE)
    const women = grown.filter((c) => c.labels.gender === 1).length
    if (women === 0 || women === grown.length)
      throw new ValidationError(
        `the gender direction needs photos of adults (${ADULT_AGE}+) of both genders; the ${chosen.length - validation} crops it would fit on have ${grown.length - women} men and ${women} women (raise --limit or use a folder with both)`
      )
    return this.jobs.submit({
      caseStore: null,
      method: 'explain-fit-attributes',
      parameters: { encoderId: encoder.id, datasetDir: data.dir, crops: chosen.length },
      seed: input.seed,
      modelSha256s: { encoder: encoder.sha256 },
      softwareVersion: this.version,
      totalSteps: chosen.length * 2 + 1,
      run: async (ctx) => {
        const model = await this.loader.prepare(encoder.id)
        const faces = await readCrops(
          chosen.map((c) => c.file),
          ctx
        )
        const vectors = (
          await encodeAlignedFaces(this.engine, model, faces, {
            signal: ctx.signal,
            onBatch: (n) => ctx.progress({ step: chosen.length + n, message: 'crops encoded' })
          })
        ).map((v) => normalise(v))
        const cut = chosen.length - validation
        const [train, val] = [vectors.slice(0, cut), vectors.slice(cut)]
        const [trainLabels, valLabels] = [chosen.slice(0, cut).map((c) => c.labels), chosen.slice(cut).map((c) => c.labels)]
        const directions: AttributeDirection[] = [
          ageDirection(
            train,
            trainLabels.map((l) => l.age),
            val,
            valLabels.map((l) => l.age),
            ATTRIBUTE_RIDGE
          ),
          genderDirection(...adults(train, trainLabels), ...adults(val, valLabels), ATTRIBUTE_RIDGE)
        ]
        const record = this.artefacts.saveAttributes({
          format: 'unveil-attribute-directions',
          version: 1,
          encoder: { id: encoder.id, sha256: encoder.sha256 },
          data: { dir: data.dir, manifestSha256: data.sha256, available: labelled.length },
          counts: { train: cut, validation },
          seed: input.seed,
          ridge: ATTRIBUTE_RIDGE,
          directions: directions.map((d) => ({ ...d, direction: Array.from(d.direction) })),
          softwareVersion: this.version,
          createdAt: new Date().toISOString()
        })
        ctx.progress({ step: chosen.length * 2 + 1, message: 'directions stored' })
        return record
      }
    })
  }

  /** The maps and attribute directions fitted for an encoder. */
  fits(encoderId: string): ExplainFits {
    this.registry.getWithRole(encoderId, 'encoder')
    const attributes = this.artefacts.attributes(encoderId)
    return {
      encoderId,
      maps: this.artefacts.maps(encoderId).map((m) => ({
        transform: m.transform,
        fittedAt: m.createdAt,
        crops: m.counts.train + m.counts.validation,
        validation: { identity: m.fit.validation.identity, mapped: m.fit.validation.mapped }
      })),
      attributes: attributes && {
        fittedAt: attributes.createdAt,
        crops: attributes.counts.train + attributes.counts.validation,
        attributes: attributes.directions.map((d) => d.attribute)
      }
    }
  }

  /** The map for a transform applied to the (first) template of a template file, as a new JSON template file. */
  mapTemplateFile(bytes: Uint8Array, name: string, transformText: string, encoderId: string | null): MappedTemplateFile {
    const transform = transformName(parseTransform(transformText))
    const parsed = parseTemplateFile(bytes, { fileName: name })
    const id = parsed.encoderId ?? encoderId
    if (!id) throw new ValidationError(`${name} does not say which encoder made it; give --encoder ID`)
    if (encoderId && parsed.encoderId && encoderId !== parsed.encoderId)
      throw new ValidationError(`${name} is a template of encoder ${parsed.encoderId}, not ${encoderId}`)
    const encoder = this.registry.getWithRole(id, 'encoder').manifest
    const { record, map } = this.artefacts.loadMap({ id: encoder.id, sha256: parsed.encoderSha256 ?? encoder.sha256 }, transform)
    const vector = parsed.vectors[0]
    if (vector.length !== map.dim)
      throw new ValidationError(`${name} holds ${vector.length}-d templates, the ${transform} map of ${encoder.id} takes ${map.dim}-d ones`)
    const mapped = mapTemplate(map, vector)
    const json = exportTemplatesJson([
      {
        label: `${parsed.labels[0] ?? name} mapped (${transform} undone)`,
        vector: mapped,
        encoderId: encoder.id,
        encoderSha256: encoder.sha256,
        provenance: { mappedFrom: name, transform, mapWeightsSha256: record.weights.sha256, mapFittedAt: record.createdAt, softwareVersion: this.version }
      }
    ])
    return { json, transform, encoderId: encoder.id, map: record, movedCosine: cosine(mapped, vector) }
  }
}

/** Adults' templates and genders: a child's face shows its gender too little to point the direction. */
function adults(vectors: Float32Array[], labels: { age: number; gender: 0 | 1 }[]): [Float32Array[], (0 | 1)[]] {
  const keep = labels.flatMap((l, i) => (l.age >= ADULT_AGE ? [i] : []))
  return [keep.map((i) => vectors[i]), keep.map((i) => labels[i].gender)]
}

function unique(ts: GeometricTransform[]): GeometricTransform[] {
  return [...new Map(ts.map((t) => [transformName(t), t])).values()]
}

/** A seeded sample of `limit` of the items, in the sample's order (so the validation split is random too). */
function sample<T>(items: T[], limit: number, seed: number): T[] {
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('the crop limit must be a whole number ≥ 1')
  return splitHoldout(items.length, 0, seed)
    .gallery.slice(0, limit)
    .map((i) => items[i])
}

async function readCrops(files: string[], ctx: JobContext): Promise<RgbImage[]> {
  const out: RgbImage[] = []
  for (const f of files) {
    ctx.signal.throwIfAborted()
    out.push(await decodeImage(new Uint8Array(readFileSync(f)), f))
    if (out.length % 50 === 0 || out.length === files.length) ctx.progress({ step: out.length, message: `read ${out.length}/${files.length} crops` })
  }
  return out
}
