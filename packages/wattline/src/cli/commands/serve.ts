/**
 * @module cli/commands/serve
 * `wattline serve --config wattline.yaml [--host H] [--port P]`: runs the gateway until SIGINT or
 * SIGTERM, then drains in-flight requests and flushes the ledger before exiting 0.
 */
import type { Command } from 'commander'
import { startLiveGateway } from '../../compose/live.ts'
import { DASHBOARD_BUILD_COMMAND, isDashboardBuilt } from '../../http/dashboard-static.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

interface ServeOptions {
  config: string
  host?: string
  port?: string
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
    .action(async (opts: ServeOptions) => {
      setExit(await serve(opts, io))
    })
}

/** Runs the gateway until `io.stopSignal` aborts. */
export async function serve(opts: ServeOptions, io: CliIo): Promise<ExitCode> {
  const port = opts.port === undefined ? undefined : Number(opts.port)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new ExitError(EXIT.badInput, `--port must be an integer in 0..65535, got "${opts.port}"`)
  }
  const live = await startLiveGateway({
    configPath: opts.config,
    env: io.env,
    cwd: io.cwd,
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(port === undefined ? {} : { port }),
  })
  io.stderr.write(
    `wattline gateway on ${live.url}/v1 (services: ${live.config.services.map((s) => s.name).join(', ')}; backends: ${live.config.backends.map((b) => `${b.id}@${b.zone}`).join(', ')})\n` +
      `  metrics ${live.url}/metrics · health ${live.url}/healthz\n` +
      `  dashboard ${live.url}/dashboard/${isDashboardBuilt() ? '' : ` (not built yet: run ${DASHBOARD_BUILD_COMMAND})`}\n`,
  )
  if (!io.stopSignal.aborted) {
    await new Promise<void>((r) =>
      io.stopSignal.addEventListener('abort', () => r(), { once: true }),
    )
  }
  io.stderr.write('wattline: draining in-flight requests and flushing the ledger…\n')
  await live.close()
  return EXIT.ok
}
