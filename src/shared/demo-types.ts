// The guided demo (a tour trainers run offline): its steps and what each stored, as they cross IPC.

export const DEMO_STEP_IDS = ['enrol', 'dfd', 'ga', 'compare', 'explain', 'report'] as const
export type DemoStepId = (typeof DEMO_STEP_IDS)[number]

/** One encoder's verdict on one reconstruction of the demo template. */
export interface DemoEngineScore {
  encoderId: string
  /** Cosine to the ground-truth photo's template under this encoder (type I), or to the target when that is all there is. */
  cosine: number | null
  /** Accepted at FAR 1e-3 by this encoder; null without a threshold there. */
  acceptedAt1e3: boolean | null
  /** 'seen': the encoder the attack queried; null: an engine the attack never saw (transfer). */
  usedInSearch: 'seen' | 'validation' | null
}

export type DemoStepResult =
  | {
      step: 'enrol'
      templateId: string
      templates: number
      encoderId: string
      /** The enrolled photos, the target's first. */
      imageSha256s: string[]
      /** The target's aligned crop (what the encoder saw). */
      targetCropSha256: string
    }
  | { step: 'dfd'; runId: string; imageSha256: string; similarity: number | null; seconds: number }
  | { step: 'ga'; runId: string; imageSha256: string; similarity: number | null; queries: number | null; seconds: number }
  | { step: 'compare'; imageSha256: string; runs: { runId: string; method: string; scores: DemoEngineScore[] }[] }
  | { step: 'explain'; runId: string; sheetSha256: string; eyesCosine: number; mouthCosine: number }
  | { step: 'report'; path: string; sha256: string; bytes: number }

export interface DemoStepView {
  id: DemoStepId
  title: string
  /** What the step shows and why, in two or three sentences. */
  explanation: string
  /** What the step computes, at its demo budget. */
  computes: string
  /** Stored once the step's computation finished; null before. */
  result: DemoStepResult | null
}

export interface DemoStatus {
  /** The running demo, or null when none was started (or it was reset). */
  demo: { caseId: string; dir: string; startedAt: string } | null
  /** The step shown, 0-based. */
  current: number
  steps: DemoStepView[]
  /** The step whose computation is running in this process, if any. */
  busy: number | null
}

const f3 = (x: number | null): string => (x === null ? '—' : x.toFixed(3))

/** What a step computed, in a few lines of text (the tour's captions and the CLI's output). */
export function demoResultLines(r: DemoStepResult): string[] {
  switch (r.step) {
    case 'enrol':
      return [`${r.templates} templates enrolled with ${r.encoderId}; the first one is the target of the next steps`]
    case 'dfd':
      return [`DFD reconstruction: cosine to the target template ${f3(r.similarity)} (${r.seconds.toFixed(1)} s)`]
    case 'ga':
      return [`GA reconstruction: cosine to the target template ${f3(r.similarity)} after ${r.queries ?? '—'} queries (${r.seconds.toFixed(1)} s)`]
    case 'compare':
      return [
        ...r.runs.map(
          (run) =>
            `${run.method} (decisions at FAR 1e-3): ` +
            run.scores
              .map(
                (s) =>
                  `${s.encoderId}${s.usedInSearch === 'seen' ? ' (attacked)' : ''} cos ${f3(s.cosine)} ${s.acceptedAt1e3 === null ? 'no threshold' : s.acceptedAt1e3 ? 'accepted' : 'rejected'}`
              )
              .join(', ')
        ),
        ...(r.runs.every((run) => run.scores.length <= 1)
          ? [
              'only one engine is registered: register another encoder (Models page, or unveil models register) to see whether the reconstructions transfer to it'
            ]
          : [])
      ]
    case 'explain':
      return [`eyes occluded: cosine ${f3(r.eyesCosine)} to the unoccluded template; mouth occluded: ${f3(r.mouthCosine)}`]
    case 'report':
      return [`report written to ${r.path} (${r.bytes} bytes, sha256 ${r.sha256.slice(0, 16)}…), recorded in the audit log`]
  }
}
