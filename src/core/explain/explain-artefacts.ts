// What the Explain fits produce, kept as model artefacts next to the registry
// (<library>/models/explain/<encoder id>/): each equivariance map as its float32 weights, a JSON
// record and a Markdown model card; the attribute directions as one record and card. The
// record names the encoder by id and sha256, so a map is never applied to another encoder's
// templates.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { AttributeArtefact, EquivarianceMapArtefact } from '../../shared/explain-types'
import { ValidationError } from '../../shared/validation'
import { writeFileAtomic } from '../fs/atomic-write'
import { sha256Hex } from '../fs/sha256'
import type { AttributeDirection, AttributeName } from './attributes'
import { STANDARD_TRANSFORMS, transformName } from './geometric'
import type { LinearMap } from './linear-map'

/** The terms a fit inherits from its data, by the dataset folder's name (the shared README's table). */
const DATASET_TERMS: [RegExp, string][] = [
  [/celeba/i, 'CelebA: non-commercial research only'],
  [/utk/i, 'UTKFace: non-commercial research only'],
  [/lfw/i, 'LFW: research benchmark; photos belong to their owners']
]

export function datasetTerms(dir: string): string {
  return DATASET_TERMS.find(([re]) => re.test(dir))?.[1] ?? 'the terms of the photos it was fitted on'
}

const fileStem = (transform: string): string => transform.replace(':', '_')

export class ExplainArtefacts {
  private readonly root: string

  constructor(libraryDir: string) {
    this.root = join(libraryDir, 'models', 'explain')
  }

  private dir(encoderId: string, ...sub: string[]): string {
    return join(this.root, encoderId, ...sub)
  }

  /** Where an encoder's maps and their cards are. */
  mapFolder(encoderId: string): string {
    return this.dir(encoderId, 'equivariance')
  }

  saveMap(record: Omit<EquivarianceMapArtefact, 'weights'>, map: LinearMap): EquivarianceMapArtefact {
    const dir = this.dir(record.encoder.id, 'equivariance')
    mkdirSync(dir, { recursive: true })
    const bytes = new Uint8Array(map.weights.buffer, map.weights.byteOffset, map.weights.byteLength)
    const file = `${fileStem(record.transform)}.f32`
    const full: EquivarianceMapArtefact = { ...record, weights: { file, sha256: sha256Hex(bytes), dtype: 'float32', shape: [map.dim, map.dim] } }
    // Weights first: a record is only ever written next to the weights it names.
    writeFileAtomic(join(dir, file), bytes)
    writeFileAtomic(join(dir, `${fileStem(record.transform)}.json`), JSON.stringify(full, null, 2))
    writeFileAtomic(join(dir, `${fileStem(record.transform)}.md`), mapCard(full))
    return full
  }

  /** The maps fitted for an encoder, in the order of the paper's transforms (others after, by name). */
  maps(encoderId: string): EquivarianceMapArtefact[] {
    const dir = this.dir(encoderId, 'equivariance')
    if (!existsSync(dir)) return []
    const order = STANDARD_TRANSFORMS.map(transformName)
    const rank = (t: string): number => (order.includes(t) ? order.indexOf(t) : order.length)
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as EquivarianceMapArtefact)
      .sort((a, b) => rank(a.transform) - rank(b.transform) || a.transform.localeCompare(b.transform))
  }

  /** Encoders that have at least one map. */
  encodersWithMaps(): string[] {
    if (!existsSync(this.root)) return []
    return readdirSync(this.root).filter((e) => this.maps(e).length > 0)
  }

  /**
   * The map for this encoder and transform, its weights checked against the record; refused in
   * one line when it is missing or was fitted for another encoder (naming both).
   */
  loadMap(encoder: { id: string; sha256: string }, transform: string): { record: EquivarianceMapArtefact; map: LinearMap } {
    const record = this.maps(encoder.id).find((m) => m.transform === transform)
    if (!record) {
      const others = this.encodersWithMaps().filter((e) => e !== encoder.id && this.maps(e).some((m) => m.transform === transform))
      throw new ValidationError(
        `no ${transform} equivariance map for encoder ${encoder.id}${others.length ? ` (the ${transform} map was fitted for ${others.join(', ')})` : ''}; fit one with unveil explain equivariance --fit --encoder ${encoder.id} --data DIR`
      )
    }
    if (record.encoder.sha256 !== encoder.sha256)
      throw new ValidationError(
        `the ${transform} map was fitted for encoder ${record.encoder.id} sha256 ${record.encoder.sha256.slice(0, 12)}…, the template is from ${encoder.id} sha256 ${encoder.sha256.slice(0, 12)}…; fit it again`
      )
    const bytes = new Uint8Array(readFileSync(this.dir(encoder.id, 'equivariance', record.weights.file)))
    if (sha256Hex(bytes) !== record.weights.sha256)
      throw new ValidationError(`the weights of the ${transform} map of ${encoder.id} have changed since it was fitted; fit it again`)
    const weights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    return { record, map: { dim: record.weights.shape[0], weights } }
  }

  saveAttributes(record: AttributeArtefact): AttributeArtefact {
    const dir = this.dir(record.encoder.id)
    mkdirSync(dir, { recursive: true })
    writeFileAtomic(join(dir, 'attributes.json'), JSON.stringify(record, null, 2))
    writeFileAtomic(join(dir, 'attributes.md'), attributeCard(record))
    return record
  }

  /** The encoder's attribute directions as stored, or null. */
  attributes(encoderId: string): AttributeArtefact | null {
    const file = this.dir(encoderId, 'attributes.json')
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AttributeArtefact) : null
  }

  /** The encoder's attribute directions; refused in one line when none were fitted or they are another encoder's. */
  loadAttributes(encoder: { id: string; sha256: string }): { record: AttributeArtefact; directions: Map<AttributeName, AttributeDirection> } {
    const record = this.attributes(encoder.id)
    if (!record) {
      const others = existsSync(this.root) ? readdirSync(this.root).filter((e) => e !== encoder.id && this.attributes(e)) : []
      throw new ValidationError(
        `no attribute directions for encoder ${encoder.id}${others.length ? ` (they are fitted for ${others.join(', ')})` : ''}; fit them with unveil explain attributes --fit --encoder ${encoder.id} --data DIR`
      )
    }
    if (record.encoder.sha256 !== encoder.sha256)
      throw new ValidationError(
        `the attribute directions were fitted for encoder ${record.encoder.id} sha256 ${record.encoder.sha256.slice(0, 12)}…, the template is from ${encoder.id} sha256 ${encoder.sha256.slice(0, 12)}…; fit them again`
      )
    return {
      record,
      directions: new Map(record.directions.map((d) => [d.attribute, { ...d, direction: Float32Array.from(d.direction) }]))
    }
  }
}

const f4 = (x: number): string => x.toFixed(4)

function mapCard(m: EquivarianceMapArtefact): string {
  return `# Equivariance map ${m.transform} for ${m.encoder.id}

A linear map in the encoder's embedding space from the template of a crop under
\`${m.transform}\` to the template of the unperturbed crop (${m.direction}): applied to a perturbed photo's
template, it gives the template the encoder would have produced had the crop been aligned.

| | |
|---|---|
| encoder | ${m.encoder.id}, sha256 \`${m.encoder.sha256}\` |
| transform | ${m.transform} about the crop centre (rotate: degrees counter-clockwise; translate: fraction of the width, to the right; scale: factor); pixels from outside the crop black |
| model | W (${m.weights.shape.join(' x ')}, float32, \`${m.weights.file}\`, sha256 \`${m.weights.sha256}\`), mapped = normalise(unit(t) W) · ‖t‖ |
| fit | ridge least squares towards the identity, min ‖XW − Y‖² + λ‖W − I‖², on unit templates; λ = ${m.ridge.relative} × ${m.counts.train + m.counts.validation} pairs = ${m.ridge.lambda}, chosen from ${m.ridge.grid.join(', ')} on the validation split |
| data | ${m.data.dir} (aligned-dataset manifest sha256 \`${m.data.manifestSha256}\`), ${m.data.available} crops, ${m.counts.train + m.counts.validation} used (seed ${m.seed}): ${m.counts.train} to fit, ${m.counts.validation} held out to choose λ, then all to refit |
| fit error | training mean squared residual ${f4(m.fit.trainMse)} per pair; validation mean cosine perturbed→original ${f4(m.fit.validation.identity)} without the map, ${f4(m.fit.validation.mapped)} with it |
| terms | inherits ${datasetTerms(m.data.dir)} |
| made by | ${m.softwareVersion}, ${m.createdAt} |
`
}

function attributeCard(a: AttributeArtefact): string {
  const rows = a.directions
    .map(
      (d) =>
        `| ${d.attribute} | ${d.stepUnit} = ${f4(d.unit)} along the direction | ${d.validation.metric} ${f4(d.validation.value)} on ${d.validation.photos} held-out photos |`
    )
    .join('\n')
  return `# Attribute directions for ${a.encoder.id}

Directions in the encoder's space of unit templates along which age and gender change, measured on
labelled photos (UTKFace file names: \`age_gender_race_date\`): the direction of the weights of a ridge
regression (λ = ${a.ridge} × photos) of the age, and of the gender (0 male, 1 female; adults of 18 or more only, a child's face shows it too
little), on the templates.

| attribute | step | held-out check |
|---|---|---|
${rows}

| | |
|---|---|
| encoder | ${a.encoder.id}, sha256 \`${a.encoder.sha256}\` |
| data | ${a.data.dir} (aligned-dataset manifest sha256 \`${a.data.manifestSha256}\`), ${a.data.available} labelled crops, ${a.counts.train} used to fit and ${a.counts.validation} held out (seed ${a.seed}) |
| terms | inherits ${datasetTerms(a.data.dir)} |
| made by | ${a.softwareVersion}, ${a.createdAt} |
`
}
