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
  | { step: 'enrol'; templateId: string; templates: number; encoderId: string; imageSha256s: string[] }
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
