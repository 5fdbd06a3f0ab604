/**
 * @module compose/live
 * The composition root of the live gateway, the only place that wires concrete adapters:
 * config → system clock, carbon source (fallback chain), intensity board, energy profiles, power
 * meters, undici upstreams, ledger (SQLite/PostgreSQL writer), budget watch, prom-client registry,
 * pino logger → fastify app.
 *
 * Every record the gateway produces (requests, idle energy, power samples, intensity values) goes
 * through one sink: `watchingSink(ledger.sink, budgetWatch)`, which feeds the production budget
 * watch and then the ledger's batch writer. `close()` (SIGTERM) stops accepting, drains in-flight
 * requests, writes idle energy, stops the watch, then closes the ledger (flush + seal).
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { promisify } from 'node:util'
import {
  resolveProfile,
  type Clock,
  type PowerMeter,
  type BudgetStatusSource,
  type DashboardLiveState,
} from '@wattline/core'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import { request as undiciRequest } from 'undici'
import { openCarbonSource } from '../adapters/carbon/open-carbon-source.ts'
import { createSystemClock } from '../adapters/clock/system-clock.ts'
import { createRequestTracing, tracingSink } from '../adapters/telemetry/request-tracing.ts'
import { createNvidiaSmiMeter } from '../adapters/power/nvidia-smi-meter.ts'
import { createPrometheusMeter } from '../adapters/power/prometheus-meter.ts'
import {
  openLedger,
  ledgerOptionsFromConfig,
  type Ledger,
} from '../adapters/storage/open-ledger.ts'
import { openDatabase } from '../adapters/storage/open-database.ts'
import { createOpenAiUpstream, type Upstream } from '../adapters/upstream/openai-upstream.ts'
import { createLinePlacements } from '../batch/line-placements.ts'
import { createBudgetWatch, watchingSink, type BudgetWatch } from '../budget-watch/budget-watch.ts'
import { readTenantTotals } from '../adapters/storage/ledger-tenant-totals.ts'
import { openRedisTenantTotals } from '../adapters/redis/redis-tenant-totals.ts'
import { createKyselyLedgerReader } from '../adapters/storage/kysely-ledger-reader.ts'
import { readActualReplicas } from '../adapters/scaling/prometheus-replicas.ts'
import { createTenantUsage, tenantSink, type TenantUsage } from '../tenant-usage/tenant-usage.ts'
import { createConfigCatalog } from '../config/catalog.ts'
import { loadConfig } from '../config/load-config.ts'
import type { BackendConfig, WattlineConfig } from '../config/parse-config.ts'
import { meterStaleAfterMs } from '../config/schema.ts'
import { backendReady } from '../http/backend-runtime.ts'
import { createGatewayApp } from '../http/app.ts'
import { createCryptoRandom } from '../http/crypto-random.ts'
import { createGateway, type Gateway } from '../http/gateway.ts'
import { createIntensityBoard } from '../http/intensity-board.ts'
import { createMeterFeed } from '../http/meter-feed.ts'
import { gatewayLiveState } from '../http/live-state.ts'
import { WATTLINE_VERSION } from '../version.ts'
import { batchClock, startBatchApi } from './batch-api.ts'
import { startClusterLoad, startSharedScalingLoad } from './cluster.ts'
import { startResponseCache } from './response-cache.ts'
import type { LiveWorker } from './worker-process.ts'
import { applyOthersOccupancy, fleetOccupancy } from './worker-occupancy.ts'
import { startAccountingLeader } from './accounting-leader.ts'
import { configuredBudgets, registerLiveDashboard } from '../http/api/register-dashboard.ts'
import { createGatewayMetrics } from '../http/metrics.ts'
import { createLiveScaler, scalingSink } from '../scaling/live-scaler.ts'
import { registerScalingRoutes } from '../scaling/scaling-routes.ts'

export interface LiveOptions {
  readonly configPath: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** Overrides `gateway.host` / `gateway.port` (CLI flags). */
  readonly host?: string
  readonly port?: number
  /**
   * The clock that decides which grid intensity is "now" (the demo passes a time-compressed one so
   * a day of intensity passes in minutes). Defaults to the system clock.
   */
  readonly intensityClock?: Clock
  /** Defaults to pino JSON on stdout at the config's level. */
  readonly logger?: Logger
  /**
   * Replacement backend URLs by backend id, decided from the loaded config before anything starts
   * (`serve --simulate` starts a simulated model server per backend here).
   */
  readonly backendUrls?: (config: WattlineConfig) => Promise<ReadonlyMap<string, string>>
  /**
   * Set in a `serve --workers N` worker (compose/worker-process.ts): ledger batches go to the
   * primary's one writer, `/metrics` is the whole gateway's, backend limits are this worker's share.
   */
  readonly worker?: LiveWorker
  /** Extra fastify plugins, e.g. the dashboard API. */
  readonly plugins?: readonly ((
    app: FastifyInstance,
    live: { gateway: Gateway; config: WattlineConfig; liveState: DashboardLiveState },
  ) => void | Promise<void>)[]
}

export interface LiveGateway {
  readonly app: FastifyInstance
  readonly gateway: Gateway
  readonly config: WattlineConfig
  /** Backends, zone intensities and recent decisions, for the dashboard API. */
  readonly liveState: DashboardLiveState
  /** `http://host:port` the gateway listens on. */
  readonly url: string
  /** The ledger every record is written to (opened from the config's `ledger:` section). */
  readonly ledger: Ledger
  /** The production budget watch (`wattline_budget_ratio{service}`, breach flags, webhooks). */
  readonly budgetWatch: BudgetWatch
  /**
   * Stops accepting, drains in-flight requests (bounded by `gateway.drain_timeout_ms`), accounts
   * idle energy, stops the budget watch, then closes the ledger: every buffered row is written and
   * the last block sealed and signed.
   */
  close(): Promise<void>
}

/** Loads the config and starts the gateway. */
export async function startLiveGateway(options: LiveOptions): Promise<LiveGateway> {
  const configPath = resolve(options.cwd, options.configPath)
  const baseDir = dirname(configPath)
  const loaded = await loadConfig(configPath, {
    readFile,
    env: options.env,
    catalog: createConfigCatalog(),
  })
  const urls = options.backendUrls === undefined ? null : await options.backendUrls(loaded)
  const configured = urls === null ? loaded : withBackendUrls(loaded, urls)
  const config = options.worker?.shareConfig(configured) ?? configured
  const logger = options.logger ?? pino({ level: config.gateway.log_level })
  const clock = createSystemClock()
  const registry = options.worker?.registry ?? new Registry()
  const metrics = createGatewayMetrics(registry)
  // grid time: the caller's (the demo's), else the batch scheduler's (sped up only in tests/demos)
  const gridClock = options.intensityClock ?? batchClock(config, clock)
  const source = openCarbonSource(config.carbon, {
    mode: 'live',
    clock: gridClock,
    env: options.env,
    baseDir,
    onWarning: (w) => logger.warn({ carbon: w }, 'carbon source warning'),
  })
  const ledger = await openLedger(config.ledger.url, {
    ...ledgerOptionsFromConfig(config.ledger, baseDir),
    // a worker forwards to the primary, which owns the writer and runs retention
    ...(options.worker === undefined
      ? {}
      : { backend: options.worker.ledgerBackend, retentionDays: null }),
    registry,
    // flushes (hashing, signing, INSERTs) run in the ledger writer thread, off the request loop
    writer: 'auto',
    onError: logLedgerError(logger),
  })
  const budgetWatch = createBudgetWatch(config.services, {
    registry,
    now: () => clock.now(),
    env: options.env,
    log: logger,
  })
  // Per-tenant counters and budgets (docs/budgets.md "Tenant budgets"), seeded from the ledger.
  const tenants = createTenantUsage({
    services: config.services,
    registry,
    now: () => clock.now(),
    log: logger,
  })
  await seedTenantUsage(tenants, config, baseDir)
  // In cluster mode the replicas share the tenant totals through Redis (undefined otherwise).
  const tenantSharing = await startTenantSharing(tenants, config, logger)
  // The one sink of the gateway: request records feed the budget watch and the tenant totals,
  // everything is written.
  const watched = tenantSink(watchingSink(ledger.sink, budgetWatch), tenants)
  // With a `telemetry:` section, each request record is also exported as OpenTelemetry spans.
  const tracing =
    config.telemetry === undefined
      ? undefined
      : createRequestTracing({
          endpoint: config.telemetry.otlp.endpoint,
          headers: config.secrets.telemetryHeaders ?? {},
          serviceName: config.telemetry.service_name,
          sampleRatio: config.telemetry.sample_ratio,
          backendUrls: new Map(config.backends.map((b) => [b.id, b.url])),
          version: WATTLINE_VERSION,
        })
  const traced = tracing === undefined ? watched : tracingSink(watched, tracing)
  // Backends with `scaling:` get a live replica recommendation from the load and intensity records
  // (with the cluster Redis: from every gateway replica's load, the same answer on each).
  const scalingShared = await startSharedScalingLoad(config, { logger })
  let scalingSharedDown = false
  const scaler = createLiveScaler({
    config,
    registry,
    readActual: readActualReplicas,
    ...(scalingShared === undefined
      ? {}
      : {
          shared: scalingShared,
          onSharedError: (err: unknown) => {
            if (!scalingSharedDown)
              logger.warn(
                { err },
                'scaling: shared load unavailable, deciding on this replica alone',
              )
            scalingSharedDown = true
          },
        }),
    nowMs: clock.now(),
    now: () => clock.now(),
    profileFor: (b) =>
      resolveProfile({
        model: b.canonical_models[b.models[0] as string] ?? (b.models[0] as string),
        hardware: b.hardware,
        precision: b.precision,
        ...(b.active_params_b === undefined ? {} : { activeParamsB: b.active_params_b }),
      }),
  })
  const sink = scaler.pools.length === 0 ? traced : scalingSink(traced, scaler)
  const intensity = createIntensityBoard({
    source,
    clock: gridClock,
    zones: config.backends.map((b) => b.zone),
    signal: config.carbon.signal,
    onValue: (p) => {
      metrics.intensity.set({ zone: p.zone, signal: p.signal }, p.intensity)
      metrics.intensityStale.set({ zone: p.zone, signal: p.signal }, p.stale ? 1 : 0)
      sink.append({
        kind: 'intensity',
        zone: p.zone,
        at_ms: p.at,
        intensity_g_per_kwh: p.intensity,
        signal: p.signal,
        source: p.source,
        forecast: p.forecast,
        stale: p.stale,
      })
    },
    onError: (zone, err) =>
      logger.warn({ zone, err }, 'intensity refresh failed; keeping the last value, marked stale'),
  })
  await intensity.refresh()
  const upstreams = new Map<string, Upstream>(
    config.backends.map((b) => [b.id, upstreamOf(b, config)]),
  )
  // Shared in-flight counts across replicas (the `cluster:` section); undefined without it.
  const cluster = await startClusterLoad(config, { registry, logger })
  // The response cache (services with `cache.enabled`); undefined when none enables it.
  const cache = await startResponseCache(config, { registry, logger })
  // Backend-wide records (idle energy, power samples) are written once: in cluster mode by the
  // replica holding the leader lease (compose/accounting-leader.ts), else by worker 0 of
  // `serve --workers N` (or this lone gateway).
  const leader = await startAccountingLeader(config, scalingShared, logger)
  const workerRecords = options.worker?.recordsBackendEnergy ?? true
  const recordsBackendEnergy = (): boolean => leader?.leads() ?? workerRecords
  const gateway = createGateway({
    config,
    clock,
    upstreams,
    profileFor: (b, model) =>
      resolveProfile({
        model: b.canonical_models[model] ?? model,
        hardware: b.hardware,
        precision: b.precision,
        ...(b.active_params_b === undefined ? {} : { activeParamsB: b.active_params_b }),
      }),
    intensity,
    ledger: sink,
    metrics,
    random: createCryptoRandom(),
    logger,
    ...(cluster === undefined ? {} : { cluster }),
    // Quality tiers' budget_pressure: the watch's verdict on its rolling window (over its limit).
    budgetPressure: (service) => budgetWatch.breached(service),
    recordsIdle: recordsBackendEnergy,
  })
  // The workers' trackers account each backend at its total occupancy (compose/worker-occupancy.ts);
  // in cluster mode the shared counts give it instead (every worker is a replica there).
  const stopSharing =
    cluster === undefined
      ? options.worker?.shareOccupancy(
          () => fleetOccupancy(gateway.backends, clock.now()),
          (others) => applyOthersOccupancy(gateway.backends, others, clock.now()),
        )
      : undefined
  const liveState = gatewayLiveState(gateway, intensity)
  // The Batch API (/v1/files, /v1/batches) and its scheduler, over the ledger's database. Lines
  // reach routing with their placement (zones, time-shift baseline) through the proxy route.
  const placements = createLinePlacements()
  const batch = await startBatchApi({
    config,
    baseDir,
    source,
    clock: gridClock,
    wallNow: () => clock.now(),
    logger,
    inflight: () => gateway.inflight(),
    placements,
    // The same test as /readyz: breaker not open and last probe not failed.
    backendUp: (id) => {
      const rt = gateway.backends.get(id)
      return rt === undefined || backendReady(rt)
    },
    registry,
  })
  let draining = false
  // Carbon sources are loaded above (the first intensity refresh is awaited); backends get their
  // first health probe now, while the port opens: until it settles, /readyz says warming.
  const warmup = gateway.probe()
  const app = await createGatewayApp({
    gateway,
    clock,
    logger,
    metrics,
    warmup,
    tenants,
    ...(cache === undefined ? {} : { cache }),
    placements,
    draining: () => draining,
    plugins: [
      async (a: FastifyInstance) => {
        // the dashboard reads the ledger on a connection of its own, closed with the app
        const opened = await openDatabase(config.ledger.url, { baseDir, poolSize: 2 })
        a.addHook('onClose', () => opened.db.destroy())
        await registerLiveDashboard(a, {
          config,
          ledger: createKyselyLedgerReader(opened),
          live: liveState,
          registry,
          now: () => clock.now(),
          budgets: budgetStatuses(budgetWatch, configuredBudgets(config)),
        })
      },
      (a: FastifyInstance) => batch.register(a),
      (a: FastifyInstance) =>
        registerScalingRoutes(a, {
          scaler,
          ...(config.secrets.metricsToken === undefined
            ? {}
            : { metricsToken: config.secrets.metricsToken }),
        }),
      ...(options.plugins ?? []).map(
        (p) => (a: FastifyInstance) => p(a, { gateway, config, liveState }),
      ),
    ],
  })
  const timers: NodeJS.Timeout[] = []
  const every = (periodMs: number, task: () => unknown): void => {
    const t = setInterval(() => {
      void Promise.resolve()
        .then(task)
        .catch((err: unknown) => logger.error({ err }, 'periodic task failed'))
    }, periodMs)
    t.unref()
    timers.push(t)
  }
  every(config.gateway.intensity_refresh_ms, () => intensity.refresh())
  every(config.gateway.health.interval_ms, () => gateway.probe())
  if (scaler.pools.length > 0) {
    every(scaler.tickMs, () => scaler.tick(clock.now()))
    // Actual replica counts (scaling.actual_replicas), twice per decision window.
    every(scaler.tickMs * 5, () =>
      scaler.refreshActual((pool, err) =>
        logger.warn({ pool, err }, 'actual replicas unreadable; planning from the recommendation'),
      ),
    )
  }
  if (config.cluster !== undefined) every(config.cluster.sync_interval_ms, () => gateway.syncLoad())
  if (config.cluster !== undefined && tenantSharing !== undefined)
    every(config.cluster.sync_interval_ms, () => tenantSharing.sync())
  every(config.gateway.accounting_interval_ms, () => {
    gateway.flushIdle()
    for (const rt of gateway.backends.values()) {
      if (rt.tracker.method === 'measured' || !recordsBackendEnergy()) continue
      const model = "modelled power of the in-flight models' profiles at the occupancy"
      sink.append({
        kind: 'power',
        backend: rt.config.id,
        at_ms: clock.now(),
        power_w: rt.tracker.powerW,
        method: 'modelled',
        source: rt.meterFallback ? `${rt.meterSource} stale, ${model}` : model,
      })
    }
  })
  for (const b of config.backends) {
    const meter = meterOf(b, clock.now)
    const rt = gateway.backends.get(b.id)
    const staleAfterMs = meterStaleAfterMs(b.meter)
    if (meter === undefined || b.meter.type === 'modelled' || rt === undefined) continue
    if (staleAfterMs === undefined) continue
    const feed = createMeterFeed({
      backend: rt,
      meter,
      clock,
      staleAfterMs,
      readTimeoutMs: b.meter.type === 'prometheus' ? b.meter.timeout_ms : NVIDIA_SMI_TIMEOUT_MS,
      metrics,
      logger,
      ledger: sink,
      writeSamples: recordsBackendEnergy,
    })
    every(b.meter.interval_ms, () => feed.poll())
  }
  budgetWatch.start(BUDGET_WATCH_EVERY_MS)
  if (config.ledger.retention_days !== null && options.worker === undefined) {
    // openLedger prunes hourly from now on; prune once at start too, so a gateway restarted more
    // often than hourly still applies retention.
    ledger.prune().catch((err: unknown) => logger.error({ err }, 'ledger retention failed'))
  }
  await app.listen({
    host: options.host ?? config.gateway.host,
    port: options.port ?? config.gateway.port,
  })
  const address = app.server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const loopback =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]' : host
  batch.start(`http://${loopback}:${address.port}`)
  let closed: Promise<void> | undefined
  return {
    app,
    gateway,
    config,
    liveState,
    url: `http://${host}:${address.port}`,
    ledger,
    budgetWatch,
    close: () =>
      (closed ??= (async () => {
        // batch lines in flight finish (or go back to pending) before the gateway stops
        await batch.close().catch((err: unknown) => logger.error({ err }, 'batch close failed'))
        draining = true
        for (const t of timers) clearInterval(t)
        const drained = app.close()
        // A keep-alive connection whose last response ends during the drain turns idle and would
        // hold close() until its keep-alive timeout: close such connections as they turn idle.
        const idleCloser = setInterval(() => app.server.closeIdleConnections(), DRAIN_POLL_MS)
        let timer: NodeJS.Timeout | undefined
        const deadline = new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), config.gateway.drain_timeout_ms)
        })
        const outcome = await Promise.race([drained, deadline])
        clearInterval(idleCloser)
        clearTimeout(timer)
        if (outcome === 'timeout') {
          logger.warn(
            { drain_timeout_ms: config.gateway.drain_timeout_ms },
            'drain timeout: closing the connections still open',
          )
          app.server.closeAllConnections()
        }
        gateway.flushIdle()
        stopSharing?.()
        await budgetWatch.stop()
        // The requests this replica accounted since its last sync join the fleet's tenant totals.
        await tenantSharing?.sync()
        try {
          await ledger.close()
        } finally {
          await tracing?.close()
          await Promise.all([...upstreams.values()].map((u) => u.close()))
          await leader?.close()
          await cluster?.close()
          await tenantSharing?.close()
          await scalingShared?.close()
          await cache?.close()
        }
      })()),
  }
}

/** The config with the backends' URLs replaced by id (`serve --simulate`); others unchanged. */
export function withBackendUrls(
  config: WattlineConfig,
  urls: ReadonlyMap<string, string>,
): WattlineConfig {
  return Object.freeze({
    ...config,
    backends: config.backends.map((b) => Object.freeze({ ...b, url: urls.get(b.id) ?? b.url })),
  })
}

function upstreamOf(b: BackendConfig, config: WattlineConfig): Upstream {
  const key = config.secrets.backendKeys.get(b.id)
  return createOpenAiUpstream({
    id: b.id,
    baseUrl: b.url,
    connections: b.connections,
    connectTimeoutMs: b.timeouts.connect_ms,
    headersTimeoutMs: b.timeouts.headers_ms,
    bodyTimeoutMs: b.timeouts.body_ms,
    headers: b.headers,
    ...(key === undefined ? {} : { apiKey: key }),
  })
}

/** How often idle connections are closed while draining, ms. */
const DRAIN_POLL_MS = 50
/** How often the budget watch evaluates its rolling windows, ms. */
const BUDGET_WATCH_EVERY_MS = 5000

/**
 * Budgets for the dashboard: the watch's live status for watched services, the configured targets
 * (no value yet) for services whose `budget.watch.enabled` is false.
 */
function budgetStatuses(watch: BudgetWatch, configured: BudgetStatusSource): BudgetStatusSource {
  return {
    budgets() {
      const watched = watch.budgets()
      const names = new Set(watched.map((b) => b.service))
      return [...watched, ...configured.budgets().filter((b) => !names.has(b.service))]
    },
  }
}

const execFileAsync = promisify(execFile)

/** Longest an `nvidia-smi` query may run before the read counts as failed (ms). */
const NVIDIA_SMI_TIMEOUT_MS = 5000

function meterOf(b: BackendConfig, now: () => number): PowerMeter | undefined {
  const m = b.meter
  if (m.type === 'nvidia-smi') {
    return createNvidiaSmiMeter({
      backend: b.id,
      command: m.command,
      args: m.args,
      ...(m.gpu_indices === undefined ? {} : { gpuIndices: m.gpu_indices }),
      run: async (command, args, signal) =>
        (await execFileAsync(command, [...args], { signal, encoding: 'utf8' })).stdout,
      now,
    })
  }
  if (m.type === 'prometheus') {
    return createPrometheusMeter({
      backend: b.id,
      url: m.url,
      metric: m.metric,
      labels: m.labels,
      fetchText: async (url, signal) => {
        const res = await undiciRequest(url, { signal: signal ?? null })
        if (res.statusCode !== 200) throw new Error(`scrape of ${url} answered ${res.statusCode}`)
        return res.body.text()
      },
      now,
    })
  }
  return undefined
}

/** Adds what the ledger already holds for each tenant budget's current period (none: no-op). */
async function seedTenantUsage(
  tenants: TenantUsage,
  config: WattlineConfig,
  baseDir: string,
): Promise<void> {
  const periods = tenants.periods()
  if (periods.length === 0) return
  const opened = await openDatabase(config.ledger.url, { baseDir, poolSize: 1 })
  try {
    tenants.seed(await readTenantTotals(opened, periods))
  } finally {
    await opened.db.destroy()
  }
}

/**
 * Cluster mode with tenant budgets: the replicas' tenant totals shared through the cluster's Redis
 * (synced now, then on the caller's timer). A failing Redis is logged once per outage; the replica
 * keeps counting alone meanwhile and sends its deltas when Redis answers again.
 */
async function startTenantSharing(
  tenants: TenantUsage,
  config: WattlineConfig,
  logger: Logger,
): Promise<{ sync(): Promise<void>; close(): Promise<void> } | undefined> {
  const c = config.cluster
  const url = config.secrets.redisUrl
  if (c === undefined || url === undefined || tenants.periods().length === 0) return undefined
  const store = openRedisTenantTotals({
    url,
    keyPrefix: c.key_prefix,
    commandTimeoutMs: c.command_timeout_ms,
  })
  let failing = false
  const sync = async (): Promise<void> => {
    const ok = await tenants.syncShared(store)
    if (ok === !failing) return
    failing = !ok
    if (failing)
      logger.warn(
        { redis_url_env: c.redis_url_env },
        'tenant budget totals: Redis unreachable; this replica counts its own requests until it answers',
      )
    else logger.info('tenant budget totals: shared through Redis again')
  }
  await sync()
  return { sync, close: () => store.close() }
}

/** The ledger writer's error handler for a gateway process: a tampered tail is named as such. */
export function logLedgerError(logger: Logger): (err: unknown) => void {
  return (err) =>
    logger.error(
      { err },
      (err as { code?: unknown }).code === 'WL_LEDGER_TAMPERED'
        ? 'ledger tail tampered: rows quarantined (run wattline verify)'
        : 'ledger write failed',
    )
}
