import { readFileSync } from 'node:fs'
import { UsageError, integer, parse, printJson, required, withWorkbench } from '../cli-support'

const USAGE = 'usage: unveil gradients check --model FILE.onnx|ID [--input NAME] [--directions K] [--seed S] [--batch B] [--manifest FILE.json] [--json]'

function fmt(x: number): string {
  return (x >= 0 ? ' ' : '') + x.toExponential(4)
}

/** `unveil gradients check`: exit 0 when every direction is within tolerance, 1 otherwise. */
export async function gradientsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'check') throw new UsageError(USAGE)
  const v = parse(rest, {
    model: { type: 'string' },
    input: { type: 'string' },
    directions: { type: 'string' },
    seed: { type: 'string' },
    batch: { type: 'string' },
    manifest: { type: 'string' },
    json: { type: 'boolean' }
  })
  const model = required(v, 'model')
  const directions = integer(v, 'directions', 4)!
  const seed = integer(v, 'seed', 1)!
  const batch = integer(v, 'batch', 2)!
  if (directions < 1 || directions > 1000) throw new UsageError('--directions must be between 1 and 1000')
  if (batch < 1 || batch > 256) throw new UsageError('--batch must be between 1 and 256')
  let manifest: unknown
  if (typeof v.manifest === 'string') {
    try {
      manifest = JSON.parse(readFileSync(v.manifest, 'utf8'))
    } catch (err) {
      throw new UsageError(`cannot read manifest ${v.manifest}: ${(err as Error).message}`)
    }
  }
  return withWorkbench(async (wb) => {
    const r = await wb.gradients.check({ model, input: typeof v.input === 'string' ? v.input : undefined, directions, seed, batch, manifest })
    if (v.json) {
      printJson(r)
      return r.passed ? 0 : 1
    }
    console.log(`${r.model} (sha256 ${r.sha256.slice(0, 16)}…), input ${r.input} [${r.inputDims.join(',')}], ${r.forwardNodes} forward + ${r.backwardNodes} backward nodes, derived in ${r.deriveSeconds.toFixed(1)} s`)
    console.log(`input values: ${r.manifest ? `from ${r.manifest}` : 'no manifest (uniform 0..1 images, normal otherwise)'}; ops differentiated: ${r.ops.join(', ')}`)
    for (const output of r.outputs) {
      console.log(`\noutput ${output}: directional derivative along ${r.directions} random directions (seed ${r.seed}, batch ${r.batch}, step ${r.step.toExponential(1)})`)
      console.log('  dir   graph (at x)   graph (step mean)   finite difference   rel. error')
      for (const row of r.rows.filter((x) => x.output === output)) {
        console.log(`  ${String(row.direction).padStart(3)}   ${fmt(row.atX).padStart(12)}   ${fmt(row.analytic).padStart(17)}   ${fmt(row.numeric).padStart(17)}   ${row.relError.toExponential(2)}`)
      }
    }
    console.log(`\nworst relative error ${r.worst.toExponential(2)} (tolerance ${r.tolerance}): ${r.passed ? 'PASS' : 'FAIL'} in ${r.seconds.toFixed(1)} s`)
    return r.passed ? 0 : 1
  })
}
