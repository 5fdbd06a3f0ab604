/**
 * @module cli/commands/serve
 * `wattline serve --config wattline.yaml [--host H] [--port P] [--simulate]`: runs the gateway until
 * SIGINT or SIGTERM, then drains in-flight requests and flushes the ledger before exiting 0. With
 * `--simulate`, each configured backend is replaced by a SIMULATED model server on a free loopback
 * port (its model, hardware, precision and zone from the config), so the config can be tried
 * without GPUs; the simulated servers stop with the gateway.
 */
import type { Command } from 'commander'
import { resolveProfile } from '@wattline/core'
import { startLiveGateway } from '../../compose/live.ts'
import type { WattlineConfig } from '../../config/parse-config.ts'
import { DASHBOARD_BUILD_COMMAND, isDashboardBuilt } from '../../http/dashboard-static.ts'
import { startSimulatedBackend, type SimulatedBackend } from '../../sim/simulated-backend.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

interface ServeOptions {
  config: string
  host?: string
  port?: string
  simulate?: boolean
}

/** Registers `serve`. */
export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('serve')
    .description(
      'Run the OpenAI-compatible, carbon-aware gateway in front of the configured backends',
    )
    .option('--config <file>', 'config file (YAML)', 'wattline.yaml')
    .option('--host <host>', 'listen address (overrides gateway.host)')
    .option('--port <port>', 'listen port, 0 for any free port (overrides gateway.port)')
    .option(
      '--simulate',
      'replace each configured backend by a SIMULATED model server on loopback (no GPUs needed)',
    )
    .action(async (opts: ServeOptions) => {
      setExit(await serve(opts, io))
    })
}

/** Starts one simulated model server per configured backend; returns their URLs by backend id. */
async function startSimulated(
  config: WattlineConfig,
  started: SimulatedBackend[],
): Promise<ReadonlyMap<string, string>> {
  const urls = new Map<string, string>()
  for (const b of config.backends) {
    const model = b.models[0] as string
    const sim = await startSimulatedBackend({
      model,
      profile: resolveProfile({ model, hardware: b.hardware, precision: b.precision }),
      zone: b.zone,
      name: b.id,
    })
    started.push(sim)
    urls.set(b.id, sim.url)
  }
  return urls
}

/** Runs the gateway until `io.stopSignal` aborts. */
export async function serve(opts: ServeOptions, io: CliIo): Promise<ExitCode> {
  const port = opts.port === undefined ? undefined : Number(opts.port)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new ExitError(
      EXIT.badInput,
      `WL_INVALID_INPUT: --port must be an integer in 0..65535, got "${opts.port}"`,
    )
  }
  const simulated: SimulatedBackend[] = []
  const stopSimulated = async (): Promise<void> => {
    await Promise.all(simulated.splice(0).map((s) => s.close()))
  }
  let live
  try {
    live = await startLiveGateway({
      configPath: opts.config,
      env: io.env,
      cwd: io.cwd,
      ...(opts.host === undefined ? {} : { host: opts.host }),
      ...(port === undefined ? {} : { port }),
      ...(opts.simulate === true
        ? { backendUrls: (config: WattlineConfig) => startSimulated(config, simulated) }
        : {}),
    })
  } catch (error) {
    await stopSimulated()
    throw error
  }
  const backends = live.config.backends
    .map((b) => `${b.id}@${b.zone}${opts.simulate === true ? ` (simulated, ${b.url})` : ''}`)
    .join(', ')
  io.stderr.write(
    `wattline gateway on ${live.url}/v1 (services: ${live.config.services.map((s) => s.name).join(', ')}; backends: ${backends})\n` +
      `  metrics ${live.url}/metrics · health ${live.url}/healthz\n` +
      `  dashboard ${live.url}/dashboard/${isDashboardBuilt() ? '' : ` (not built yet: run ${DASHBOARD_BUILD_COMMAND})`}\n`,
  )
  if (!io.stopSignal.aborted) {
    await new Promise<void>((r) =>
      io.stopSignal.addEventListener('abort', () => r(), { once: true }),
    )
  }
  io.stderr.write('wattline: draining in-flight requests and flushing the ledger…\n')
  try {
    await live.close()
  } finally {
    await stopSimulated()
  }
  return EXIT.ok
}
