import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { VerificationRunSummary } from '../../shared/types'
import { jsonErrorMessage } from '../../shared/validation'
import { UsageError, followJob, inputFile, inputPath, integer, parse, printJson, progressBar, required, withWorkbench } from '../cli-support'

/** Below this, an encoder's manifest most likely has the wrong colour order or normalisation. */
const SUSPICIOUS_ACCURACY = 0.9

function printVerification(id: string, s: VerificationRunSummary | null): void {
  if (!s) return
  console.log(
    `${id}: LFW verification accuracy ${(s.accuracy * 100).toFixed(2)}% on ${s.pairs} pairs ` +
      `(genuine mean ${s.genuineMean.toFixed(3)}, impostor mean ${s.impostorMean.toFixed(3)}, threshold ${s.threshold.toFixed(3)}, ` +
      `${s.undetected} images without a detected face, ${s.seconds.toFixed(1)} s)`
  )
  if (s.accuracy < SUSPICIOUS_ACCURACY) {
    console.error(`warning: ${id} verifies poorly; check its manifest's colour order and normalisation`)
  }
}

export async function modelsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'list': {
      const v = parse(rest, { json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const models = wb.models.list()
        if (v.json) return printJson(models)
        for (const m of models) {
          const acc = m.verification ? ` LFW ${(m.verification.accuracy * 100).toFixed(2)}%` : ''
          const dim = m.manifest.embeddingDim ? ` ${m.manifest.embeddingDim}-d` : ''
          const origin = m.bundled ? 'bundled' : m.manifest.remote ? `remote ${m.path}` : 'user'
          console.log(`${m.manifest.id.padEnd(28)} ${m.manifest.role.padEnd(10)}${dim}${acc}  sha256 ${m.manifest.sha256.slice(0, 16)}…  ${origin}`)
        }
      })
      return
    }
    case 'register':
    case 'add-remote': {
      // add-remote: an encoder behind a KServe v2 server, its manifest's `remote` block says where.
      const remote = sub === 'add-remote'
      const v = parse(rest, { ...(remote ? {} : { model: { type: 'string' as const } }), manifest: { type: 'string' }, json: { type: 'boolean' }, 'no-verify': { type: 'boolean' } })
      const manifestFile = required(v, 'manifest')
      const modelFile = remote ? null : inputPath(v, 'model')
      let manifest: unknown
      try {
        manifest = JSON.parse(new TextDecoder().decode(inputFile(v, 'manifest', manifestFile)))
      } catch (err) {
        if (err instanceof UsageError) throw err
        throw new UsageError(`--manifest: ${manifestFile} is not valid JSON: ${jsonErrorMessage(err)}`)
      }
      await withWorkbench(async (wb) => {
        const { entry, verification, thresholds } = await wb.models.register(modelFile, manifest, { verify: !v['no-verify'] })
        const where = entry.manifest.remote ? `remote ${entry.path}, probe fingerprint` : 'sha256'
        if (!v.json) console.log(`registered ${entry.manifest.id} (${entry.manifest.role}, ${where} ${entry.manifest.sha256})`)
        if (verification) {
          const summary = await followJob(wb, verification, `checking ${entry.manifest.id} on LFW`, 'LFW check')
          if (!v.json) printVerification(entry.manifest.id, summary)
        }
        if (thresholds) {
          const measured = await followJob(wb, thresholds, `measuring ${entry.manifest.id} FAR thresholds`, 'threshold measurement')
          const t = measured?.[entry.manifest.id]
          if (!v.json && t) console.log(`${entry.manifest.id}: thresholds ${t.fars.map((f) => `FAR ${f.far}: ${f.threshold.toFixed(4)}`).join(', ')} (${t.impostorPairs} impostor pairs)`)
        } else if (!v.json && entry.manifest.role === 'encoder' && !wb.models.get(entry.manifest.id).thresholds) {
          console.error(`note: ${entry.manifest.id} has no FAR thresholds (LFW data absent or --no-verify): its scores carry no pass/fail`)
        }
        if (v.json) printJson(wb.models.get(entry.manifest.id))
      })
      return
    }
    case 'verify': {
      const v = parse(rest, { model: { type: 'string' }, pairs: { type: 'string' }, json: { type: 'boolean' } })
      const id = required(v, 'model')
      await withWorkbench(async (wb) => {
        const summary = await followJob(wb, wb.models.verify(id, { pairs: integer(v, 'pairs') }), `verifying ${id}`, 'verification')
        if (v.json) return printJson(summary)
        printVerification(id, summary)
      })
      return
    }
    case 'thresholds': {
      const v = parse(rest, { model: { type: 'string', multiple: true }, remeasure: { type: 'boolean' }, out: { type: 'string' }, json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const ids = (v.model as string[] | undefined) ?? wb.models.ids('encoder')
        // One bar per phase (align, then encode per encoder), so each has its own ETA.
        const bars = new Map<string, ReturnType<typeof progressBar>>()
        const onProgress = (done: number, total: number, phase: string): void => {
          if (!bars.has(phase)) bars.set(phase, progressBar(`thresholds: ${phase}`))
          bars.get(phase)!(done, total)
        }
        const records = Object.fromEntries(await wb.models.ensureThresholds(ids, { remeasure: v.remeasure === true, onProgress }))
        if (v.out) {
          // One file per encoder, the form resources/thresholds ships them in.
          mkdirSync(v.out as string, { recursive: true })
          for (const [id, t] of Object.entries(records)) if (t) writeFileSync(join(v.out as string, `${id}.json`), `${JSON.stringify(t, null, 2)}\n`)
        }
        if (v.json) return printJson(records)
        for (const [id, t] of Object.entries(records)) {
          if (!t) console.log(`${id}: no thresholds (the LFW data folder is not available)`)
          else console.log(`${id}: ${t.fars.map((f) => `FAR ${f.far}: ${f.threshold.toFixed(4)}`).join(', ')} (${t.impostorPairs} impostor pairs, ${t.images} images, ${t.identities} people)`)
        }
      })
      return
    }
    case 'unregister': {
      const v = parse(rest, { model: { type: 'string' } })
      await withWorkbench(async (wb) => wb.models.unregister(required(v, 'model')))
      return
    }
    default:
      throw new UsageError('usage: unveil models list|register|add-remote|verify|thresholds|unregister')
  }
}
