// Attribute directions (in the spirit of Križaj et al., Fig. 17): where age and gender lie in an
// embedding space, measured from labelled photos, and a template moved along them.
import { normalEquations, solveRidge } from './linear-map'
import { dot, normalise } from '../templates/vector-math'

export type AttributeName = 'age' | 'gender'
export const ATTRIBUTES: AttributeName[] = ['age', 'gender']

export interface AttributeLabels {
  age: number
  /** UTKFace's coding: 0 male, 1 female. */
  gender: 0 | 1
}

/** Age and gender from a UTKFace file name (`age_gender_race_date.jpg`, possibly under folders); null when it has none. */
export function utkfaceLabels(path: string): AttributeLabels | null {
  const m = /^(\d{1,3})_([01])_/.exec(path.split('/').pop() ?? '')
  if (!m) return null
  const age = Number(m[1])
  return age >= 1 && age <= 116 ? { age, gender: Number(m[2]) as 0 | 1 } : null
}

export interface AttributeDirection {
  attribute: AttributeName
  /** Unit direction in the space of unit templates. */
  direction: Float32Array
  /**
   * How far one step unit is along the direction: for age the distance that raises the
   * predicted age by one year; for gender the distance between the male and female means.
   */
  unit: number
  /** Reading of a unit template x along the direction: base + (x·direction − origin) / unit (predicted age; 0 male mean, 1 female mean). */
  origin: number
  base: number
  /** Unit name of a step: 'years' or 'male→female gap'. */
  stepUnit: string
  /** Measured on the validation split: Pearson r of predicted and true age, or the share classified right by the midpoint. */
  validation: { photos: number; metric: 'pearson-r' | 'accuracy'; value: number }
}

const PEARSON = (a: number[], b: number[]): number => {
  const ma = a.reduce((s, x) => s + x, 0) / a.length
  const mb = b.reduce((s, x) => s + x, 0) / b.length
  let sab = 0,
    saa = 0,
    sbb = 0
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb)
    saa += (a[i] - ma) ** 2
    sbb += (b[i] - mb) ** 2
  }
  return sab / Math.sqrt(saa * sbb)
}

function centred(vectors: Float32Array[]): { rows: Float32Array[]; mean: Float64Array } {
  const d = vectors[0].length
  const mean = new Float64Array(d)
  for (const v of vectors) for (let i = 0; i < d; i++) mean[i] += v[i] / vectors.length
  return { rows: vectors.map((v) => v.map((x, i) => x - mean[i])), mean }
}

/** Ridge regression (λ = ridge · photos) of a label on the centred unit templates: the weights, and the means it centred with. */
function regression(train: Float32Array[], labels: number[], ridge: number): { w: Float64Array; mean: Float64Array; meanLabel: number } {
  const { rows, mean } = centred(train)
  const meanLabel = labels.reduce((s, a) => s + a, 0) / labels.length
  const { xtx, xty } = normalEquations(
    rows,
    labels.map((a) => [a - meanLabel]),
    1
  )
  return { w: solveRidge(xtx, train[0].length, ridge * train.length, xty, 1), mean, meanLabel }
}

/** Age: the direction of the age regression's weights; one year is 1/‖w‖ along it. */
export function ageDirection(train: Float32Array[], ages: number[], val: Float32Array[], valAges: number[], ridge = 0.01): AttributeDirection {
  const { w, mean, meanLabel } = regression(train, ages, ridge)
  const predict = (v: Float32Array): number => meanLabel + v.reduce((s, x, i) => s + (x - mean[i]) * w[i], 0)
  const direction = normalise(w)
  return {
    attribute: 'age',
    direction,
    unit: 1 / Math.sqrt(dot(w, w)),
    origin: dot(mean, direction),
    base: meanLabel,
    stepUnit: 'years',
    validation: { photos: val.length, metric: 'pearson-r', value: PEARSON(val.map(predict), valAges) }
  }
}

/**
 * Gender: the direction of the regression of the 0/1 label (it weighs the templates' spread,
 * which the plain difference of class means does not); a step of 1 crosses from the male
 * mean's projection to the female mean's.
 */
export function genderDirection(train: Float32Array[], genders: (0 | 1)[], val: Float32Array[], valGenders: (0 | 1)[], ridge = 0.01): AttributeDirection {
  const counts = [genders.filter((g) => g === 0).length, genders.filter((g) => g === 1).length]
  if (counts[0] === 0 || counts[1] === 0) throw new RangeError('the gender direction needs photos of both genders')
  const direction = normalise(regression(train, genders, ridge).w)
  const projected = [0, 0]
  train.forEach((v, n) => (projected[genders[n]] += dot(v, direction) / counts[genders[n]]))
  const mid = (projected[0] + projected[1]) / 2
  const right = val.filter((v, n) => (dot(v, direction) > mid ? 1 : 0) === valGenders[n]).length
  return {
    attribute: 'gender',
    direction,
    unit: projected[1] - projected[0],
    origin: projected[0],
    base: 0,
    stepUnit: 'male→female gap',
    validation: { photos: val.length, metric: 'accuracy', value: right / val.length }
  }
}

/** What the direction reads from a template (predicted age in years; gender score, 0 at the male mean, 1 at the female mean). */
export function readAlong(template: ArrayLike<number>, d: AttributeDirection): number {
  return d.base + (dot(normalise(template), d.direction) - d.origin) / d.unit
}

/** The template moved `steps` units along the direction (in unit-template space), back at its own norm. */
export function moveAlong(template: ArrayLike<number>, d: AttributeDirection, steps: number): Float32Array {
  let n = 0
  for (let i = 0; i < template.length; i++) n += template[i] * template[i]
  const unit = normalise(template)
  const moved = normalise(unit.map((x, i) => x + steps * d.unit * d.direction[i]))
  return moved.map((v) => v * Math.sqrt(n))
}
