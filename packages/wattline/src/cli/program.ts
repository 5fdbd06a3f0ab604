/**
 * @module cli/program
 * Builds the `wattline` command tree. Each command lives in `commands/<name>.ts` and exports
 * `register(program, io, setExit)`; this file only lists them.
 */
import { Command } from 'commander'
import type { CliIo } from './io.ts'
import type { ExitCode } from './exit-codes.ts'

/** Each command module's shape. `run` results are reported through `setExit`. */
export type RegisterCommand = (
  program: Command,
  io: CliIo,
  setExit: (code: ExitCode) => void,
) => void

const COMMANDS: readonly (() => Promise<{ register: RegisterCommand }>)[] = [
  () => import('./commands/estimate.ts'),
  () => import('./commands/serve.ts'),
  () => import('./commands/profiles.ts'),
  () => import('./commands/simulate-backend.ts'),
  () => import('./commands/demo.ts'),
  () => import('./commands/verify.ts'),
  () => import('./commands/export.ts'),
  () => import('./commands/ledger.ts'),
  () => import('./commands/bench.ts'),
  () => import('./commands/gate.ts'),
  () => import('./commands/intensity.ts'),
  () => import('./commands/zones.ts'),
  () => import('./commands/replay.ts'),
  () => import('./commands/report.ts'),
  () => import('./commands/lifecycle.ts'),
]

/** Builds the program with output routed to `io`. */
export async function buildProgram(io: CliIo, setExit: (code: ExitCode) => void): Promise<Command> {
  const program = new Command('wattline')
    .description('Energy- and carbon-aware control plane for AI model serving')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
  for (const load of COMMANDS) {
    const mod = await load()
    mod.register(program, io, setExit)
  }
  for (const cmd of program.commands)
    cmd.exitOverride().showHelpAfterError('(run with --help for usage)')
  return program
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exit: ExitCode = 0
  const { toExit } = await import('./exit-codes.ts')
  const program = await buildProgram(io, (code) => {
    exit = code
  })
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return exit
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (
      code === 'commander.helpDisplayed' ||
      code === 'commander.version' ||
      code === 'commander.help'
    )
      return 0
    const mapped = toExit(error)
    if (mapped.message) io.stderr.write(`wattline: ${mapped.message}\n`)
    return mapped.code
  }
}
