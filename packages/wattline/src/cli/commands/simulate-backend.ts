/**
 * @module cli/commands/simulate-backend
 * `wattline simulate-backend`: runs one SIMULATED OpenAI-compatible model server on loopback until
 * SIGINT/SIGTERM. Its latency and power follow the (model, hardware, precision) energy profile at
 * its batch occupancy; see `sim/simulated-backend.ts` for what is modelled and on which data.
 */
import { InvalidArgumentError, Option, type Command } from 'commander'
import {
  BUILTIN_INTENSITY,
  PRECISIONS,
  requireBuiltinZone,
  resolveProfile,
  type Precision,
} from '@wattline/core'
import { startSimulatedBackend } from '../../sim/simulated-backend.ts'
import type { ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

interface SimulateOptions {
  model: string
  hardware: string
  zone: string
  port: number
  host: string
  precision?: Precision
  timeScale: number
  failRate: number
  maxBatch?: number
  seed: number
  json?: boolean
}

const number =
  (name: string, test: (n: number) => boolean, what: string) =>
  (text: string): number => {
    const n = Number(text)
    if (text.trim() === '' || !test(n)) {
      throw new InvalidArgumentError(`${name} must be ${what}, got "${text}"`)
    }
    return n
  }

/** Registers `simulate-backend` on the program. */
export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('simulate-backend')
    .description(
      'Run one SIMULATED OpenAI-compatible model server (latency and power from the fitted energy profile) until interrupted',
    )
    .requiredOption('--model <id>', 'model id it serves, e.g. llama-3.1-8b-instruct')
    .requiredOption('--hardware <id>', 'hardware catalogue id, e.g. H100-SXM')
    .requiredOption('--zone <zone>', 'grid zone for labels, e.g. FR')
    .option(
      '--port <n>',
      'TCP port on 127.0.0.1 (0 = any free port)',
      number('--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65_535, 'a port 0..65535'),
      0,
    )
    .addOption(
      new Option('--host <host>', 'loopback address to listen on')
        .choices(['127.0.0.1', '::1', 'localhost'])
        .default('127.0.0.1'),
    )
    .addOption(new Option('--precision <p>', 'numeric precision').choices(PRECISIONS))
    .option(
      '--time-scale <x>',
      'model milliseconds per real millisecond (10 = ten times faster than real hardware)',
      number('--time-scale', (n) => n > 0 && Number.isFinite(n), 'a positive number'),
      1,
    )
    .option(
      '--fail-rate <r>',
      'share of requests answered with HTTP 500 (0..1), for failure drills',
      number('--fail-rate', (n) => n >= 0 && n <= 1, 'a number in 0..1'),
      0,
    )
    .option(
      '--max-batch <n>',
      'largest running batch (default: the profile’s fitted maximum)',
      number('--max-batch', (n) => Number.isInteger(n) && n >= 1, 'a positive integer'),
    )
    .option(
      '--seed <n>',
      'seed of the failure draws',
      number('--seed', (n) => Number.isInteger(n), 'an integer'),
      1,
    )
    .option('--json', 'print the listening address as one JSON line')
    .action(async (opts: SimulateOptions) => {
      const zone = requireBuiltinZone(BUILTIN_INTENSITY, opts.zone)
      const profile = resolveProfile({
        model: opts.model,
        hardware: opts.hardware,
        ...(opts.precision === undefined ? {} : { precision: opts.precision }),
      })
      const backend = await startSimulatedBackend({
        model: opts.model,
        profile,
        zone,
        host: opts.host,
        port: opts.port,
        timeScale: opts.timeScale,
        failRate: opts.failRate,
        seed: opts.seed,
        ...(opts.maxBatch === undefined ? {} : { maxBatch: opts.maxBatch }),
      })
      if (opts.json) {
        io.stdout.write(
          `${JSON.stringify({
            url: backend.url,
            metrics_url: `${backend.origin}/metrics`,
            model: backend.model,
            hardware: profile.hardware,
            precision: profile.precision,
            zone,
            simulated: true,
            profile_source: profile.source,
          })}\n`,
        )
      } else {
        io.stdout.write(
          [
            `SIMULATED backend (not a real model) serving ${backend.model} as ${profile.hardware}/${profile.precision} in zone ${zone}`,
            `  OpenAI API:  ${backend.url}`,
            `  power (DCGM format, modelled): ${backend.origin}/metrics`,
            `  profile:     ${profile.basis}, ${profile.source}`,
            `  time scale:  ${String(opts.timeScale)}×${opts.failRate > 0 ? `, fail rate ${String(opts.failRate)}` : ''}`,
            '  Ctrl-C to stop.',
            '',
          ].join('\n'),
        )
      }
      await new Promise<void>((resolve) => {
        if (io.stopSignal.aborted) resolve()
        else io.stopSignal.addEventListener('abort', () => resolve(), { once: true })
      })
      await backend.close()
      const s = backend.stats()
      io.stderr.write(
        `simulated backend stopped: ${String(s.completed)} requests completed, ${String(s.outputTokens)} tokens, ${(s.energyJ / 3600).toFixed(3)} Wh modelled\n`,
      )
      setExit(0)
    })
}
