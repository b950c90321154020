// `npm run bench`: runs every benchmark and prints Markdown sections for docs/benchmarks.md.
import { encoderSpeed } from './encoder-speed'

const sections = [await encoderSpeed()]
console.log(`\n${sections.join('\n\n')}\n`)
