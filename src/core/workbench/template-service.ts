import { randomUUID } from 'node:crypto'
import type { TemplateRecord } from '../../shared/types'
import type { EnrolOptions } from '../../shared/ipc-contract'
import { printable } from '../../shared/printable'
import { ValidationError } from '../../shared/validation'
import { sha256Hex } from '../fs/sha256'
import type { TargetTemplate } from '../methods/reconstruction-method'
import type { ModelRegistry } from '../models/model-registry'
import { exportTemplatesJson, exportTemplatesNpy, parseTemplateFile } from '../templates/template-codec'
import { l2norm } from '../templates/vector-math'
import { validateTemplate } from '../cases/template-validation'
import type { CaseService } from './case-service'
import type { FaceService } from './face-service'

/** A template computed from a photo outside any case, as the CLI writes it to a file. */
export interface EnrolledTemplateFile {
  json: string
  vector: Float32Array
  norm: number
  encoderId: string
  faceIndex: number
  faces: number
}

/** Templates: enrolment from photos, import and export in every format, and template files. */
export class TemplateService {
  constructor(
    private readonly cases: CaseService,
    private readonly faces: FaceService,
    private readonly registry: ModelRegistry
  ) {}

  /**
   * Enrols one face of a photo; the photo is stored as the template's ground truth. The
   * template is checked before anything is written, and photo, model reference and template
   * are stored in one transaction.
   */
  async enrolFromPhoto(caseId: string, bytes: Uint8Array, name: string, options: EnrolOptions): Promise<TemplateRecord> {
    const store = this.cases.store(caseId)
    const e = await this.faces.enrol(bytes, name, options.encoderId, options.faceIndex)
    const encoder = this.registry.get(options.encoderId).manifest
    const photoSha256 = sha256Hex(bytes)
    const template: TemplateRecord = {
      id: randomUUID(),
      label: options.label?.trim() || `${name} #${e.faceIndex + 1}`,
      encoderId: encoder.id,
      encoderSha256: encoder.sha256,
      dimension: e.vector.length,
      norm: e.norm,
      vector: Array.from(e.vector),
      origin: 'enrolment',
      format: null,
      sourceFileSha256: photoSha256,
      sourceFileName: name,
      imageSha256: photoSha256,
      face: { index: e.faceIndex, box: e.face.box, score: e.face.score },
      subject: options.subject?.trim() || null,
      createdAt: new Date().toISOString()
    }
    // An encoder that yields NaN or a zero vector must leave no photo behind.
    validateTemplate(template)
    return store.atomically(() => {
      store.addImage(bytes, { mime: e.photo.mime, width: e.photo.width, height: e.photo.height, originalName: name })
      store.addModelRef(encoder)
      return store.addTemplate(template)
    })
  }

  /** Imports every template of a file; all are validated before anything is stored. */
  import(caseId: string, bytes: Uint8Array, fileName: string, encoderId: string): TemplateRecord[] {
    const store = this.cases.store(caseId)
    // The name as messages and default labels show it: a file name may hold terminal escapes.
    const name = printable(fileName)
    const encoder = this.registry.getWithRole(encoderId, 'encoder')
    const parsed = parseTemplateFile(bytes, { fileName: name, expectedDim: encoder.manifest.embeddingDim, expectedEncoder: encoderId })
    if (parsed.encoderSha256 && parsed.encoderSha256 !== encoder.manifest.sha256) {
      throw new ValidationError(
        `${name} records encoder sha256 ${parsed.encoderSha256.slice(0, 12)}…, but '${encoderId}' is ${encoder.manifest.sha256.slice(0, 12)}…`
      )
    }
    if (!parsed.encoderSha256 && parsed.encoderId && parsed.encoderId !== encoderId) {
      throw new ValidationError(
        `${name} names encoder '${parsed.encoderId}', not '${encoderId}': import it for '${parsed.encoderId}' (register it first if needed)`
      )
    }
    const fileSha = sha256Hex(bytes)
    const earlier = store.listTemplates().filter((t) => t.origin === 'import' && t.sourceFileSha256 === fileSha)
    if (earlier.length > 0) {
      throw new ValidationError(
        `${name} was already imported into this case (sha256 ${fileSha.slice(0, 12)}…, ${earlier.length} template${earlier.length === 1 ? '' : 's'} on ${earlier[0].createdAt.slice(0, 10)})`
      )
    }
    // All templates of the file, or none: a crash or a bad vector midway leaves no partial import.
    return store.atomically(() => {
      store.addModelRef(encoder.manifest)
      return parsed.vectors.map((v, i) =>
        store.addTemplate({
          id: randomUUID(),
          label: parsed.labels[i] ?? (parsed.vectors.length > 1 ? `${name} [${i + 1}]` : name),
          encoderId,
          encoderSha256: encoder.manifest.sha256,
          dimension: v.length,
          norm: l2norm(v),
          vector: Array.from(v),
          origin: 'import',
          format: parsed.format,
          sourceFileSha256: fileSha,
          sourceFileName: fileName,
          imageSha256: null,
          face: null,
          createdAt: new Date().toISOString()
        })
      )
    })
  }

  export(caseId: string, templateId: string, format: 'json' | 'npy'): { name: string; bytes: Uint8Array } {
    const t = this.get(caseId, templateId)
    const stem = t.label.replace(/[^\w.-]+/g, '_').replace(/\.(jpe?g|png|json|npy|csv|bin)$/i, '') || 'template'
    if (format === 'npy') return { name: `${stem}.npy`, bytes: exportTemplatesNpy([t.vector]) }
    const json = exportTemplatesJson([
      {
        id: t.id,
        label: t.label,
        vector: t.vector,
        encoderId: t.encoderId,
        encoderSha256: t.encoderSha256,
        provenance: {
          origin: t.origin,
          sourceFileSha256: t.sourceFileSha256,
          sourceFileName: t.sourceFileName,
          imageSha256: t.imageSha256,
          createdAt: t.createdAt
        }
      }
    ])
    return { name: `${stem}.json`, bytes: new TextEncoder().encode(json) }
  }

  get(caseId: string, templateId: string): TemplateRecord {
    const t = this.cases.store(caseId).getTemplate(templateId)
    if (!t) throw new ValidationError(`no template ${templateId} in this case`)
    return t
  }

  delete(caseId: string, templateId: string): void {
    this.cases.store(caseId).deleteTemplate(templateId)
  }

  /**
   * The one template of a template file, for the encoder named, else the one the file records
   * (by id or sha256) when it is registered, else the registry's default encoder.
   */
  readTarget(bytes: Uint8Array, name: string, encoderId?: string): TargetTemplate {
    const id = encoderId ?? this.recordedEncoder(bytes, name) ?? this.registry.defaults().encoder
    const encoder = this.registry.getWithRole(id, 'encoder').manifest
    const parsed = parseTemplateFile(bytes, { fileName: name, expectedDim: encoder.embeddingDim, expectedEncoder: id })
    if (parsed.vectors.length !== 1) throw new ValidationError(`${name} holds ${parsed.vectors.length} templates; invert one at a time`)
    if (parsed.encoderSha256 && parsed.encoderSha256 !== encoder.sha256) throw new ValidationError(`${name} was made by a different model than '${id}'`)
    return { vector: Array.from(parsed.vectors[0]), encoderId: id, encoderSha256: encoder.sha256 }
  }

  /** The registered encoder a template file names (id or sha256), if any. */
  private recordedEncoder(bytes: Uint8Array, name: string): string | null {
    const parsed = parseTemplateFile(bytes, { fileName: name })
    const encoders = this.registry.byRole('encoder').map((e) => e.manifest)
    const match = encoders.find((m) => (parsed.encoderSha256 ? m.sha256 === parsed.encoderSha256 : m.id === parsed.encoderId))
    return match?.id ?? null
  }

  /** Enrols one face of a photo outside any case, as a JSON template file with its provenance. */
  async enrolToFile(
    bytes: Uint8Array,
    name: string,
    options: { encoderId?: string; faceIndex: number; label: string; id?: string }
  ): Promise<EnrolledTemplateFile> {
    const encoderId = options.encoderId ?? this.registry.defaults().encoder
    const e = await this.faces.enrol(bytes, name, encoderId, options.faceIndex)
    return { ...this.templateFile(Array.from(e.vector), bytes, name, { ...options, encoderId }), faces: e.faces.length }
  }

  /** A JSON template file of an image that already is an aligned crop (encoded without detection). */
  async enrolAlignedToFile(bytes: Uint8Array, name: string, options: { encoderId?: string; label: string }): Promise<Omit<EnrolledTemplateFile, 'faces'>> {
    const encoderId = options.encoderId ?? this.registry.defaults().encoder
    const vector = await this.faces.encodeAligned(bytes, name, encoderId)
    return this.templateFile(Array.from(vector), bytes, name, { encoderId, faceIndex: 0, label: options.label })
  }

  /** A JSON template file for a vector computed from a photo (e.g. one just enrolled into a case). */
  templateFile(
    vector: number[],
    photo: Uint8Array,
    name: string,
    options: { encoderId: string; faceIndex: number; label: string; id?: string }
  ): Omit<EnrolledTemplateFile, 'faces'> {
    const encoder = this.registry.get(options.encoderId).manifest
    const json = exportTemplatesJson([
      {
        id: options.id,
        label: options.label,
        vector,
        encoderId: options.encoderId,
        encoderSha256: encoder.sha256,
        provenance: { sourceFileName: name, sourceFileSha256: sha256Hex(photo), faceIndex: options.faceIndex }
      }
    ])
    return { json, vector: Float32Array.from(vector), norm: l2norm(vector), encoderId: options.encoderId, faceIndex: options.faceIndex }
  }
}
