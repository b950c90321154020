// `npm run bench`: runs every benchmark and prints Markdown sections for docs/benchmarks.md.
import { alsuvAblation } from './alsuv-ablation'
import { caseVerify } from './case-verify'
import { encoderSpeed } from './encoder-speed'
import { equivariance } from './equivariance'
import { fuzz } from './fuzz'
import { gradientSpeed } from './gradient-speed'
import { pipelineThroughput } from './pipeline-throughput'
import { priorSamples } from './prior-samples'
import { queueThroughput } from './queue-throughput'
import { remoteEngine } from './remote-engine'
import { dfdQuality, gaPriorQuality, gaQuality } from './reconstruction-quality'
import { vec2faceAblation } from './vec2face-ablation'

const only = process.argv[2]
const benches: Record<string, () => Promise<string>> = { encoder: encoderSpeed, pipeline: pipelineThroughput, quality: gaQuality, dfd: dfdQuality, prior: priorSamples, 'prior-ga': gaPriorQuality, gradients: gradientSpeed, alsuv: alsuvAblation, 'case-verify': caseVerify, fuzz, remote: remoteEngine, equivariance, queue: queueThroughput, vec2face: vec2faceAblation }
if (only && !(only in benches)) {
  console.error(`unknown benchmark '${only}'; one of: ${Object.keys(benches).join(', ')}`)
  process.exit(2)
}
const sections: string[] = []
for (const [name, run] of Object.entries(benches)) if (!only || only === name) sections.push(await run())
console.log(`\n${sections.join('\n\n')}\n`)
