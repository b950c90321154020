// `npm run bench`: runs every benchmark and prints Markdown sections for docs/benchmarks.md.
import { encoderSpeed } from './encoder-speed'
import { pipelineThroughput } from './pipeline-throughput'
import { dfdQuality, gaQuality } from './reconstruction-quality'

const only = process.argv[2]
const benches: Record<string, () => Promise<string>> = { encoder: encoderSpeed, pipeline: pipelineThroughput, quality: gaQuality, dfd: dfdQuality }
const sections: string[] = []
for (const [name, run] of Object.entries(benches)) if (!only || only === name) sections.push(await run())
console.log(`\n${sections.join('\n\n')}\n`)
