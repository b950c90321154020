import { auditCommand } from './commands/audit'
import { caseCommand } from './commands/case'
import { datasetCommand } from './commands/dataset'
import { enrollCommand } from './commands/enroll'
import { modelsCommand } from './commands/models'
import { invertCommand } from './commands/invert'
import { priorCommand } from './commands/prior'
import { gradientsCommand } from './commands/gradients'
import { UsageError } from './cli-support'
import { softwareVersion } from '../core/env/software-version'

const HELP = `unveil — face template inversion workbench (${softwareVersion()})

  unveil models list [--json]
  unveil models register --model FILE.onnx --manifest FILE.json
  unveil models verify --model ID [--pairs N]         LFW verification accuracy (needs UNVEIL_DATA)
  unveil models thresholds [--model ID]…              FAR 1e-2/1e-3/1e-4 thresholds from LFW impostor pairs
  unveil enroll --image FILE [--encoder ID] [--face N] [--case DIR] [--label TEXT] [--subject NAME] --out FILE.json
  unveil case create --dir DIR --name NAME [--number N] [--examiner NAME] [--notes TEXT]
  unveil case list [--json] | unveil case show --case DIR [--json]
  unveil case import --case DIR --file FILE [--encoder ID]
  unveil case export --case DIR --template ID [--format json|npy] --out FILE
  unveil audit verify --case DIR                       exit 0 intact, 3 broken
  unveil prior build --data DIR[,DIR] [--components K] --out DIR   eigenface prior from aligned datasets
  unveil prior inspect --generator ID [--samples N] [--sheet FILE]  face rate and contact sheet of a generator
  unveil invert --template FILE --method ga|random|dfd [--encoder ID] [--generator ID] [--decoder ID] [--population N
         --generations N --patience N --threads N --budget N] --seed N [--truth PHOTO]
         [--same-person PHOTO]… --out DIR                 writes best.png, trace.csv, result.json
  unveil invert --template FILE --method alsuv [--generator ID] [--validation-encoder ID | --no-validation] [--latents N]
         [--steps N] [--avg-window K] [--top-k K] [--flip] [--gradients exact|zo] [--queries-per-step Q] [--budget N] --seed N --out DIR
  unveil dataset align --in DIR --out DIR [--limit N] [--workers N]   ArcFace 112x112 crops + manifest.json
  unveil gradients check --model FILE.onnx|ID [--input NAME] [--directions K] [--seed S]   gradient graph vs finite differences

Environment: UNVEIL_HOME (library folder), UNVEIL_DATA (research data), UNVEIL_PROVIDERS (e.g. cpu),
UNVEIL_THREADS (ONNX Runtime threads; default one per core).`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'models':
      await modelsCommand(rest)
      return 0
    case 'enroll':
    case 'enrol':
      await enrollCommand(rest)
      return 0
    case 'case':
      await caseCommand(rest)
      return 0
    case 'invert':
      await invertCommand(rest)
      return 0
    case 'prior':
      await priorCommand(rest)
      return 0
    case 'audit':
      return auditCommand(rest)
    case 'dataset':
      await datasetCommand(rest)
      return 0
    case 'gradients':
      return gradientsCommand(rest)
    case 'version':
    case '--version':
      console.log(softwareVersion())
      return 0
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP)
      return 0
    default:
      throw new UsageError(`unknown command '${command}' (see unveil --help)`)
  }
}

// `unveil … | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: Error) => {
    process.stderr.write(`unveil: ${err.message.split('\n')[0]}\n`)
    process.exitCode = err instanceof UsageError ? 2 : 1
  }
)
