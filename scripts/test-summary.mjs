// Prints the closing "N passed, N failed, N skipped" line from vitest's JSON report and exits
// non-zero when anything failed or the test command itself failed (type errors, build).
import { existsSync, readFileSync } from 'node:fs'

const [report, status] = process.argv.slice(2)
if (!report || !existsSync(report)) {
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const r = JSON.parse(readFileSync(report, 'utf8'))
const passed = r.numPassedTests ?? 0
// A file that failed without a failing test (an import or hook error) counts once; a failing
// test counts once, not again for each suite around it.
const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length
const failed = (r.numFailedTests ?? 0) + brokenFiles
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
const commandFailed = status !== '0' && failed === 0
console.log(`${passed} passed, ${failed + (commandFailed ? 1 : 0)} failed, ${skipped} skipped`)
process.exit(failed > 0 || commandFailed || passed === 0 ? 1 : 0)
