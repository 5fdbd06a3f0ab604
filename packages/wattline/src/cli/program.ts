/**
 * @module cli/program
 * Builds the `wattline` command tree. Each command lives in `commands/<name>.ts` and exports
 * `register(program, io, setExit)`; this file only lists them.
 */
import { Command } from 'commander'
import type { CliIo } from './io.ts'
import type { ExitCode } from './exit-codes.ts'
import { WATTLINE_VERSION } from '../version.ts'

/** Each command module's shape. `run` results are reported through `setExit`. */
export type RegisterCommand = (
  program: Command,
  io: CliIo,
  setExit: (code: ExitCode) => void,
) => void

/**
 * Every command, by name: `commands/<name>.ts` registers the command `<name>`. Only the invoked
 * command's module is loaded (some pull in a browser driver or chart renderer); top-level help and
 * unknown names load them all.
 */
const COMMANDS = {
  estimate: () => import('./commands/estimate.ts'),
  advise: () => import('./commands/advise.ts'),
  profiles: () => import('./commands/profiles.ts'),
  intensity: () => import('./commands/intensity.ts'),
  zones: () => import('./commands/zones.ts'),
  serve: () => import('./commands/serve.ts'),
  demo: () => import('./commands/demo.ts'),
  'simulate-backend': () => import('./commands/simulate-backend.ts'),
  bench: () => import('./commands/bench.ts'),
  gate: () => import('./commands/gate.ts'),
  verify: () => import('./commands/verify.ts'),
  export: () => import('./commands/export.ts'),
  ledger: () => import('./commands/ledger.ts'),
  replay: () => import('./commands/replay.ts'),
  report: () => import('./commands/report.ts'),
  lifecycle: () => import('./commands/lifecycle.ts'),
  keys: () => import('./commands/keys.ts'),
} satisfies Record<string, () => Promise<{ register: RegisterCommand }>>

/** The names of every command, in help order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS)

const isCommandName = (name: string | undefined): name is keyof typeof COMMANDS =>
  name !== undefined && Object.hasOwn(COMMANDS, name)

/**
 * Builds the program with output routed to `io`. With `only`, just that command is registered
 * (what `runCli` does for `wattline <command> …`); without it, every command.
 */
export async function buildProgram(
  io: CliIo,
  setExit: (code: ExitCode) => void,
  only?: string,
): Promise<Command> {
  const program = new Command('wattline')
    .description('Energy- and carbon-aware control plane for AI model serving')
    .version(WATTLINE_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(withUsageCode(s)),
    })
  const names = isCommandName(only) ? [only] : (Object.keys(COMMANDS) as (keyof typeof COMMANDS)[])
  const modules = await Promise.all(names.map((name) => COMMANDS[name]()))
  for (const mod of modules) mod.register(program, io, setExit)
  for (const cmd of program.commands)
    cmd.exitOverride().showHelpAfterError('(run with --help for usage)')
  return program
}

/**
 * Commander's own usage errors (unknown command or option, missing or invalid argument) are bad
 * input like any other: they read `wattline: WL_INVALID_INPUT: …` and exit 2.
 */
function withUsageCode(text: string): string {
  return text.startsWith('error: ')
    ? `wattline: WL_INVALID_INPUT: ${text.slice('error: '.length)}`
    : text
}

/** The catalogued code a CLI error without one gets, by exit code (docs/errors.md). */
const CODE_FOR_EXIT: Readonly<Record<ExitCode, string>> = {
  0: 'WL_INTERNAL',
  1: 'WL_BUDGET_EXCEEDED',
  2: 'WL_INVALID_INPUT',
  3: 'WL_INTERNAL',
}

/** Every error the CLI prints starts with a `WL_` code. */
export function withErrorCode(code: ExitCode, message: string): string {
  return /^WL_[A-Z_]+:/.test(message) ? message : `${CODE_FOR_EXIT[code]}: ${message}`
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exit: ExitCode = 0
  const { toExit } = await import('./exit-codes.ts')
  const program = await buildProgram(
    io,
    (code) => {
      exit = code
    },
    argv[0],
  )
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
    if (mapped.message) io.stderr.write(`wattline: ${withErrorCode(mapped.code, mapped.message)}\n`)
    return mapped.code
  }
}
