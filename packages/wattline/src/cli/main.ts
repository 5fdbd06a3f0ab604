/**
 * @module cli/main
 * The process entry: the only place that reads `process.argv` and ends the process.
 */
import { runCli } from './program.ts'
import { stopOnSignals } from './stop-signals.ts'

const controller = new AbortController()
stopOnSignals(process, {
  controller,
  nowMs: () => performance.now(),
  forceExit: (signal, code) => {
    process.stderr.write(
      `wattline: ${signal} again: stopping at once (in-flight requests dropped, the ledger's open block left unsealed)\n`,
    )
    process.exit(code)
  },
})

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
