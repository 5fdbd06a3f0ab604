/**
 * @module cli/main
 * The process entry: the only place that reads `process.argv` and ends the process.
 */
import { runCli } from './program.ts'

const controller = new AbortController()
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    controller.abort()
  })
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stopSignal: controller.signal,
})
process.exitCode = code
// Long-running commands resolve after the stop signal; everything else is done: leave no handles.
process.exit(code)
