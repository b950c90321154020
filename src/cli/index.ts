import { auditCommand } from './commands/audit'
import { caseCommand } from './commands/case'
import { datasetCommand } from './commands/dataset'
import { demoCommand } from './commands/demo'
import { enrollCommand } from './commands/enroll'
import { evalCommand } from './commands/eval'
import { exportCommand } from './commands/export'
import { explainCommand } from './commands/explain'
import { modelsCommand } from './commands/models'
import { invertCommand } from './commands/invert'
import { priorCommand } from './commands/prior'
import { gradientsCommand } from './commands/gradients'
import { reportCommand } from './commands/report'
import { workerCommand } from './commands/worker'
import { UsageError, printable } from './cli-support'
import { commandHelp, overview } from './command-help'
import { softwareVersion } from '../core/workbench/workbench'

async function main(argv: string[]): Promise<number> {
  const [given, ...rest] = argv
  // 'enrol' is accepted for 'enroll' everywhere, help included.
  const command = given === 'enrol' ? 'enroll' : given
  if (command && command !== 'help' && (rest.includes('--help') || rest.includes('-h'))) {
    const sub = rest[0] && !rest[0].startsWith('-') ? rest[0] : undefined
    const page = commandHelp(command, sub)
    if (!page) throw new UsageError(`unknown command '${[command, sub].filter(Boolean).join(' ')}' (see unveil --help)`)
    console.log(page)
    return 0
  }
  switch (command) {
    case 'models':
      await modelsCommand(rest)
      return 0
    case 'enroll':
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
    case 'eval':
      await evalCommand(rest)
      return 0
    case 'report':
      await reportCommand(rest)
      return 0
    case 'explain':
      await explainCommand(rest)
      return 0
    case 'export':
      await exportCommand(rest)
      return 0
    case 'demo':
      await demoCommand(rest)
      return 0
    case 'worker':
      await workerCommand(rest)
      return 0
    case 'version':
    case '--version':
      console.log(softwareVersion())
      return 0
    case 'help': {
      const page = rest[0] ? commandHelp(rest[0], rest[1]) : overview(softwareVersion())
      if (!page) throw new UsageError(`unknown command '${rest.join(' ')}' (see unveil --help)`)
      console.log(page)
      return 0
    }
    case undefined:
    case '--help':
    case '-h':
      console.log(overview(softwareVersion()))
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
    process.stderr.write(`unveil: ${printable(err.message.split('\n')[0])}\n`)
    process.exitCode = err instanceof UsageError ? 2 : 1
  }
)
