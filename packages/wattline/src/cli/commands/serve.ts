/**
 * @module cli/commands/serve
 * `wattline serve --config wattline.yaml [--host H] [--port P] [--simulate]`: runs the gateway until
 * SIGINT or SIGTERM, then drains in-flight requests and flushes the ledger before exiting 0. With
 * `--simulate`, each configured backend is replaced by a SIMULATED model server on a free loopback
 * port (its model, hardware, precision and zone from the config), so the config can be tried
 * without GPUs; the simulated servers stop with the gateway.
 *
 * `--workers N` runs N gateway worker processes on the one port (node:cluster; `compose/workers.ts`
 * in this process, the primary, `compose/worker-process.ts` in each worker): one ledger writer in
 * the primary, `/metrics` merged across workers, backend limits shared through the cluster Redis or
 * split per worker. `--workers 1` (the default) is the single process it always was; `0` or `auto`
 * is one worker per CPU (`os.availableParallelism()`).
 */
import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { resolveProfile } from '@wattline/core'
import { startLiveGateway, type LiveGateway, type LiveOptions } from '../../compose/live.ts'
import { connectToPrimary, isServeWorker } from '../../compose/worker-process.ts'
import {
  MAX_WORKERS,
  WORKER_BACKEND_URLS_ENV,
  parseWorkerCount,
  startWorkerCluster,
} from '../../compose/workers.ts'
import { createConfigCatalog } from '../../config/catalog.ts'
import { loadConfig } from '../../config/load-config.ts'
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
  workers?: string
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
    .option(
      '--workers <n>',
      `gateway worker processes sharing the port (node:cluster): 1 = one process; 0 or auto = one per CPU; at most ${MAX_WORKERS}`,
      '1',
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

/** The live gateway's options from the command line, the same in one process and in a worker. */
function gatewayOptions(
  opts: ServeOptions,
  port: number | undefined,
  io: CliIo,
): Pick<LiveOptions, 'configPath' | 'env' | 'cwd' | 'host' | 'port'> {
  return {
    configPath: opts.config,
    env: io.env,
    cwd: io.cwd,
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(port === undefined ? {} : { port }),
  }
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
  const workers = parseWorkerCount(opts.workers ?? '1', availableParallelism())
  if (workers === undefined) {
    throw new ExitError(
      EXIT.badInput,
      `WL_INVALID_INPUT: --workers must be an integer in 1..${MAX_WORKERS}, 0 or auto (one per CPU), got "${opts.workers ?? ''}"`,
    )
  }
  if (isServeWorker(io.env)) return serveWorker(opts, port, io)
  const simulated: SimulatedBackend[] = []
  const stopSimulated = async (): Promise<void> => {
    await Promise.all(simulated.splice(0).map((s) => s.close()))
  }
  if (workers > 1) return servePrimary(opts, port, workers, io, simulated, stopSimulated)
  let live
  try {
    live = await startLiveGateway({
      ...gatewayOptions(opts, port, io),
      ...(opts.simulate === true
        ? { backendUrls: (config: WattlineConfig) => startSimulated(config, simulated) }
        : {}),
    })
  } catch (error) {
    await stopSimulated()
    throw error
  }
  writeBanner(io, live.config, live.url, opts.simulate === true, 1)
  await stopped(io.stopSignal)
  io.stderr.write('wattline: draining in-flight requests and flushing the ledger…\n')
  try {
    await live.close()
  } finally {
    await stopSimulated()
  }
  return EXIT.ok
}

/** Prints where the gateway listens. */
function writeBanner(
  io: CliIo,
  config: WattlineConfig,
  url: string,
  simulate: boolean,
  workers: number,
): void {
  const backends = config.backends
    .map((b) => `${b.id}@${b.zone}${simulate ? ` (simulated, ${b.url})` : ''}`)
    .join(', ')
  io.stderr.write(
    `wattline gateway on ${url}/v1 (${workers > 1 ? `${workers} workers; ` : ''}services: ${config.services.map((s) => s.name).join(', ')}; backends: ${backends})\n` +
      `  metrics ${url}/metrics · health ${url}/healthz\n` +
      `  dashboard ${url}/dashboard/${isDashboardBuilt() ? '' : ` (not built yet: run ${DASHBOARD_BUILD_COMMAND})`}\n`,
  )
}

/** Resolves once `signal` aborts. */
async function stopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }))
}

/** `--workers N` > 1: starts the workers (this process is their primary) and runs until stopped. */
async function servePrimary(
  opts: ServeOptions,
  port: number | undefined,
  workers: number,
  io: CliIo,
  simulated: SimulatedBackend[],
  stopSimulated: () => Promise<void>,
): Promise<ExitCode> {
  const configPath = resolve(io.cwd, opts.config)
  let workerCluster
  try {
    const backendUrls =
      opts.simulate === true
        ? await startSimulated(await loadServeConfig(configPath, io), simulated)
        : undefined
    workerCluster = await startWorkerCluster({
      count: workers,
      configPath,
      args: [
        'serve',
        '--config',
        configPath,
        ...(opts.host === undefined ? [] : ['--host', opts.host]),
        ...(port === undefined ? [] : ['--port', String(port)]),
        '--workers',
        String(workers),
      ],
      env: io.env,
      cwd: io.cwd,
      ...(backendUrls === undefined ? {} : { backendUrls }),
    })
  } catch (error) {
    await stopSimulated()
    throw error
  }
  writeBanner(io, workerCluster.config, workerCluster.url, opts.simulate === true, workers)
  await stopped(io.stopSignal)
  io.stderr.write(
    `wattline: draining ${workers} workers' in-flight requests and flushing the ledger…\n`,
  )
  try {
    await workerCluster.stop()
  } finally {
    await stopSimulated()
  }
  return EXIT.ok
}

/** In a worker the primary forked: the live gateway until the primary (or a signal) stops it. */
async function serveWorker(
  opts: ServeOptions,
  port: number | undefined,
  io: CliIo,
): Promise<ExitCode> {
  const link = connectToPrimary(io.env)
  const urlsJson = io.env[WORKER_BACKEND_URLS_ENV]
  const urls =
    urlsJson === undefined
      ? undefined
      : new Map(Object.entries(JSON.parse(urlsJson) as Record<string, string>))
  let live: LiveGateway
  try {
    live = await startLiveGateway({
      ...gatewayOptions(opts, port, io),
      ...(urls === undefined ? {} : { backendUrls: () => Promise.resolve(urls) }),
      worker: link,
    })
  } catch (error) {
    link.close()
    throw error
  }
  link.listening(live.url)
  await stopped(AbortSignal.any([io.stopSignal, link.stopSignal]))
  try {
    await live.close()
  } finally {
    link.close()
  }
  return EXIT.ok
}

/** The config, loaded as the gateway loads it (for `--simulate` in the primary). */
async function loadServeConfig(configPath: string, io: CliIo): Promise<WattlineConfig> {
  return loadConfig(configPath, { readFile, env: io.env, catalog: createConfigCatalog() })
}
