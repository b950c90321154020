import { DEMO_STEP_IDS, type DemoStepId } from '../../shared/demo-types'

/** The demo case's folder name under the case root, and its case number: together they mark the demo. */
export const DEMO_FOLDER = 'Unveil demo'
export const DEMO_CASE_NUMBER = 'UNVEIL-DEMO'
export const DEMO_SEED = 1

/** Budgets that finish in seconds on a laptop CPU: the point is the picture, not the best attack. */
export const DEMO_GA = { population: 24, threads: 1, generations: 8, patience: 8 } as const
export const DEMO_OCCLUSION = { patch: 16, stride: 12 } as const

export interface DemoStepText {
  title: string
  explanation: string
  computes: string
}

export const DEMO_STEPS: Record<DemoStepId, DemoStepText> = {
  enrol: {
    title: 'Enrol photos into templates',
    explanation:
      'A face-recognition system does not keep your photo: it keeps a template, a vector of 512 numbers its encoder computed from the aligned face. ' +
      'Here the six sample photos are detected, aligned and encoded by the bundled encoder, exactly as a deployed system would enrol them.',
    computes: 'face detection, 68 landmarks, alignment to 112x112 and encoding of the six sample photos'
  },
  dfd: {
    title: 'Reconstruct a face from the template (DFD)',
    explanation:
      'Is the template anonymous? A decoder trained on the encoder (Deep Face Decoder, Križaj et al.) turns the first template straight back into a face. ' +
      'It needs the vector only, never the photo; the similarity is the cosine between the reconstruction’s template and the stolen one.',
    computes: 'one pass of the bundled DFD decoder, then scoring under every registered encoder'
  },
  ga: {
    title: 'A black-box attack (short genetic search)',
    explanation:
      'Without any decoder, an attacker who may only query the system for templates can still search a face generator’s latent space for a face the system accepts. ' +
      `This is a deliberately short search (${DEMO_GA.population} faces per generation, ${DEMO_GA.generations} generations): real attacks run far longer and get closer.`,
    computes: `genetic search over the bundled face generator: population ${DEMO_GA.population}, at most ${DEMO_GA.generations} generations`
  },
  compare: {
    title: 'Compare under several engines',
    explanation:
      'The photo, the decoder’s face and the searched face side by side, each scored by every registered encoder against the real photo: ' +
      '✓ means that engine would accept the reconstruction as the person at FAR 1e-2 / 1e-3 / 1e-4. Engines the attack never queried show whether it transfers.',
    computes: 'the compare grid of the first template, its two reconstructions and their scores per encoder'
  },
  explain: {
    title: 'What the template encodes (Explain)',
    explanation:
      'The decoder can also show what the template keeps. A grey square is swept over the face and the template’s change measured: warm areas matter most. ' +
      'The eyes and the mouth are then masked and the templates decoded: what survives the mask is what the engine relies on elsewhere.',
    computes: `occlusion sensitivity (${DEMO_OCCLUSION.patch}-pixel patches every ${DEMO_OCCLUSION.stride} px) and the decoded eye- and mouth-occluded templates`
  },
  report: {
    title: 'The case report',
    explanation:
      'Every step above is stored in the demo case with its seeds, parameters, model sha256s and software version, under a hash-chained audit log. ' +
      'The report prints it as a PDF an examiner could file; its own sha256 goes into the audit log.',
    computes: 'the case report PDF of the two reconstructions, written into the demo case’s folder'
  }
}

export const DEMO_STEP_COUNT = DEMO_STEP_IDS.length
