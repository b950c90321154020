// What the Explain analyses take and what they store (the case keeps each as a run whose one
// result, of kind EXPLAIN_RESULT_KIND, carries this record and the sheet PNG).

export type ExplainKind = 'aggregation' | 'centroids' | 'occlusion' | 'equivariance' | 'attributes'

/** The `results.kind` of a stored Explain analysis. */
export const EXPLAIN_RESULT_KIND = 'explain'

export interface ExplainAggregationInput {
  caseId: string
  /** The case's templates of this subject; or null with `personDir`. */
  subject: string | null
  /** A folder of one person's photos (e.g. an LFW person folder); impostors come from its sibling folders. */
  personDir: string | null
  /** Encoder for photos from a folder (default: the registry's default encoder). */
  encoderId: string | null
  /** Photos held out as verification probes (default a quarter, at least one). */
  holdout: number | null
  /** Impostor photos from other people (folder: one photo each of that many sibling folders; case: every other subject's). */
  impostors: number | null
  seed: number
}

export interface ExplainCentroidsInput {
  caseId: string
  /** A photo folder (identities from an LFW-style or identity.txt layout); null: the case's templates. */
  datasetDir: string | null
  encoderId: string | null
  k: number
  /** Photos read from the folder at most (in walk order). */
  limit: number | null
  seed: number
}

export interface ExplainOcclusionInput {
  caseId: string
  /** A case template enrolled from a photo; or null with `photo`. */
  templateId: string | null
  photo: { name: string; bytes: Uint8Array } | null
  encoderId: string | null
  patch: number
  stride: number
  seed: number
}

/** The perturbed crop decoded with and without the equivariance map. */
export interface ExplainEquivarianceInput {
  caseId: string
  /** A case template enrolled from a photo; or null with `photo`. */
  templateId: string | null
  photo: { name: string; bytes: Uint8Array } | null
  encoderId: string | null
  /** Transform names (`rotate:30`, …); null: every transform the encoder has a map for. */
  transforms: string[] | null
  seed: number
}

/** A template moved along the fitted attribute directions and decoded. */
export interface ExplainAttributesInput {
  caseId: string
  templateId: string
  /** Null: every attribute the encoder has a direction for. */
  attributes: ('age' | 'gender')[] | null
  /** Step offsets in each attribute's unit (years for age, the male→female gap for gender); null: the defaults. */
  ageSteps: number[] | null
  genderSteps: number[] | null
  seed: number
}

/** What the library holds for one encoder, as the Explain panel offers it. */
export interface ExplainFits {
  encoderId: string
  maps: { transform: string; fittedAt: string; crops: number; validation: { identity: number; mapped: number } }[]
  attributes: { fittedAt: string; crops: number; attributes: ('age' | 'gender')[] } | null
}

/** Fitting equivariance maps on an aligned dataset (manifest.json), one per transform. */
export interface EquivarianceFitInput {
  encoderId: string
  datasetDir: string
  /** Null: the paper's eleven transforms. */
  transforms: string[] | null
  /** Crops used at most (a seeded sample of the dataset). */
  limit: number | null
  seed: number
}

export interface AttributeFitInput {
  encoderId: string
  /** An aligned UTKFace folder (manifest.json; labels from the source file names). */
  datasetDir: string
  limit: number | null
  seed: number
}

interface FitData {
  dir: string
  manifestSha256: string
  /** Crops the dataset holds (labelled ones, for attributes). */
  available: number
}

/** One equivariance map as the library stores it (record next to its weights and card). */
export interface EquivarianceMapArtefact {
  format: 'unveil-equivariance-map'
  version: 1
  transform: string
  direction: 'perturbed → original'
  encoder: { id: string; sha256: string }
  data: FitData
  counts: { train: number; validation: number }
  seed: number
  ridge: { relative: number; lambda: number; grid: number[] }
  fit: { trainMse: number; validation: { pairs: number; identity: number; mapped: number } }
  weights: { file: string; sha256: string; dtype: 'float32'; shape: [number, number] }
  softwareVersion: string
  createdAt: string
}

export interface AttributeArtefact {
  format: 'unveil-attribute-directions'
  version: 1
  encoder: { id: string; sha256: string }
  data: FitData
  counts: { train: number; validation: number }
  seed: number
  ridge: number
  directions: {
    attribute: 'age' | 'gender'
    direction: number[]
    unit: number
    origin: number
    base: number
    stepUnit: string
    validation: { photos: number; metric: 'pearson-r' | 'accuracy'; value: number }
  }[]
  softwareVersion: string
  createdAt: string
}

export interface Acceptance {
  accepted: number
  trials: number
  rate: number | null
}

/** Everything needed to reproduce an Explain run and to check which models made it. */
export interface ExplainProvenance {
  kind: ExplainKind
  parameters: Record<string, number | string | null>
  seed: number
  softwareVersion: string
  modelSha256s: Record<string, string>
  models: Record<string, { id: string; sha256: string }>
  executionProvider: string
  startedAt: string
  finishedAt: string
}

export interface ExplainPhoto {
  /** Template id, or the photo's path relative to the folder. */
  id: string
  identity: string | null
}

export interface AggregationRecord extends ExplainProvenance {
  kind: 'aggregation'
  subject: string
  gallery: ExplainPhoto[]
  heldOut: ExplainPhoto[]
  impostors: number
  threshold: { far: number; value: number; dataset: string }
  levels: { photos: number; meanGenuine: number; tar: Acceptance; impostors: Acceptance; fidelity: number; imageSha256: string }[]
}

export interface CentroidsRecord extends ExplainProvenance {
  kind: 'centroids'
  templates: number
  k: number
  /** Share of templates in a cluster whose majority identity is theirs (null without identities). */
  purity: number | null
  clusters: { index: number; size: number; members: string[]; majority: { identity: string; count: number } | null; fidelity: number; imageSha256: string }[]
}

export interface OcclusionRecord extends ExplainProvenance {
  kind: 'occlusion'
  templateId: string | null
  patch: number
  stride: number
  /** Patches in row-major order with their cosine change (1 − cosine to the unoccluded template). */
  patches: { x: number; y: number; change: number }[]
  /** Cosine of the template of the crop (recomputed) to the stored template, when there is one. */
  storedCosine: number | null
  cropSha256: string
  overlaySha256: string
  original: { fidelity: number; imageSha256: string }
  occluded: {
    part: 'eyes' | 'mouth'
    box: { x: number; y: number; width: number; height: number }
    cosine: number
    fidelity: number
    maskedSha256: string
    imageSha256: string
  }[]
}

export interface EquivarianceRecord extends ExplainProvenance {
  kind: 'equivariance'
  templateId: string | null
  cropSha256: string
  original: { fidelity: number; imageSha256: string }
  transforms: {
    transform: string
    /** Which fitted map was applied: its weights' sha256, when it was fitted, and its validation cosine. */
    map: { weightsSha256: string; fittedAt: string; validationMapped: number }
    /** Cosine to the unperturbed crop's template: the perturbed crop's, and the map's output. */
    perturbedCosine: number
    mappedCosine: number
    perturbedCropSha256: string
    perturbed: { fidelity: number; imageSha256: string }
    mapped: { fidelity: number; imageSha256: string }
  }[]
}

export interface AttributesRecord extends ExplainProvenance {
  kind: 'attributes'
  templateId: string
  directionsFittedAt: string
  attributes: {
    attribute: 'age' | 'gender'
    stepUnit: string
    steps: {
      offset: number
      /** Cosine of the moved template to the original one. */
      templateCosine: number
      /** Identity similarity: cosine of the decoded face's template to the original template. */
      identityCosine: number
      /** The decoded face's template read along the direction: predicted age, or gender score (0 male mean, 1 female mean). */
      decodedReading: number
      fidelity: number
      imageSha256: string
    }[]
  }[]
}

export type ExplainRecord = AggregationRecord | CentroidsRecord | OcclusionRecord | EquivarianceRecord | AttributesRecord

/** A stored Explain run as the case page lists it. */
export interface ExplainRun {
  runId: string
  kind: ExplainKind
  createdAt: string
  sheetSha256: string
  record: ExplainRecord
}
