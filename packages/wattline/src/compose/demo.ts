/**
 * @module compose/demo
 * The embedded default (`wattline demo`, `npm start`): three SIMULATED model servers in different
 * grid zones, the real gateway in front of them (built by the live composition root from a
 * generated config: static built-in carbon source, carbon-aware routing, SQLite ledger), and traffic
 * replayed from the shipped Azure conversation trace sample. HTTP runs in real time; the carbon
 * intensity lookups run on a scaled clock so that a day of grid intensity passes in minutes.
 *
 * The summary's "savings vs round-robin" is computed by `sim/round-robin-shadow.ts`: for each
 * answered request, the modelled carbon on the backend that served it against the modelled carbon
 * on the backend round-robin would have picked, by the same formula (see that module).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  BUILTIN_INTENSITY,
  builtinIntensityAt,
  instant,
  resolveProfile,
  type Clock,
  type GramsPerKwh,
  type Instant,
  type Precision,
} from '@wattline/core'
import { pino, type Logger } from 'pino'
import { createScaledClock, type ScaledClock } from '../adapters/clock/scaled-clock.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { startDemoTraffic, type DemoTraffic } from '../sim/demo-traffic.ts'
import { createRoundRobinShadow, type ShadowTotals } from '../sim/round-robin-shadow.ts'
import { startSimulatedBackend, type SimulatedBackend } from '../sim/simulated-backend.ts'
import { loadDemoTrace } from '../sim/trace-sample.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

/** The model every demo backend serves. */
export const DEMO_MODEL = 'llama-3.1-8b-instruct'

export interface DemoBackendSpec {
  readonly id: string
  readonly zone: string
  readonly hardware: string
  readonly precision: Precision
  /** Omitted: the gateway's default PUE applies. */
  readonly pue?: number
  readonly maxConcurrency: number
}

/**
 * The demo fleet, after the issue's example config: Paris (FR, low-carbon nuclear and hydro),
 * Frankfurt (DE, mixed) and Warsaw (PL, coal-heavy, on older A100s). Paris takes 8 requests at a
 * time so that traffic peaks spill over to the next greenest backend, as they would in production.
 */
export const DEMO_FLEET: readonly DemoBackendSpec[] = [
  { id: 'paris', zone: 'FR', hardware: 'H100-SXM', precision: 'bf16', pue: 1.2, maxConcurrency: 8 },
  { id: 'frankfurt', zone: 'DE', hardware: 'H100-SXM', precision: 'bf16', maxConcurrency: 32 },
  { id: 'warsaw', zone: 'PL', hardware: 'A100-80GB', precision: 'bf16', maxConcurrency: 32 },
]

export interface DemoOptions {
  /** Gateway port on 127.0.0.1 (0 = any free port). */
  readonly port: number
  /** Simulated seconds of grid time per real second (360 = a day in 4 minutes). */
  readonly speed: number
  /** Replay the trace against the gateway (false: serve only what clients send). */
  readonly traffic: boolean
  /** Arrival rate relative to the shipped sample (1 = a tenth of the original trace's rate). */
  readonly trafficRate: number
  /** Where the SQLite ledger goes; omitted = a temp dir removed at stop. */
  readonly dataDir?: string
  /** Grid time at start (default: 00:00 UTC of the current day). */
  readonly virtualStart?: Instant
  /** Every k-th demo request streams (default 4). */
  readonly streamEvery?: number
}

export interface DemoDeps {
  /** Real time (the system clock). */
  readonly clock: Clock
  readonly env: Readonly<Record<string, string | undefined>>
  /** The gateway's logger (default: pino JSON, level `warn`, into `gateway.log` in the data dir). */
  readonly logger?: Logger
}

export interface DemoSummary {
  /** Grid (scaled) time now. */
  readonly gridTime: Instant
  /** Requests the demo's traffic sent and got answers for, by serving backend. */
  readonly answered: number
  readonly failed: number
  readonly dropped: number
  readonly byBackend: Readonly<Record<string, number>>
  /** The gateway's own accounting, from its /metrics (all clients). */
  readonly gateway: {
    readonly requests: number
    /** Request energy, facility level as accounted (J, modelled). */
    readonly energyJ: number
    readonly carbonG: number
    readonly idleEnergyJ: number
  }
  /** Intensity now per backend zone (g/kWh, static built-in table at grid time). */
  readonly intensity: Readonly<Record<string, number>>
  /** Served vs round-robin, same formula both sides (modelled). */
  readonly shadow: ShadowTotals
}

export interface RunningDemo {
  /** The gateway's origin, e.g. `http://127.0.0.1:8080`; the OpenAI base URL is `${url}/v1`. */
  readonly url: string
  readonly backends: readonly SimulatedBackend[]
  readonly config: WattlineConfig
  readonly gridClock: ScaledClock
  /** The generated config (YAML), for display. */
  readonly configText: string
  /** Where the ledger is written. */
  readonly ledgerUrl: string
  /** The gateway's log file, when the demo made its own logger. */
  readonly logPath: string | null
  summary(): Promise<DemoSummary>
  /** Stops traffic, gateway and backends (in that order); idempotent. */
  stop(): Promise<void>
}

/** Midnight UTC of the day containing `t`. */
export function startOfUtcDay(t: number): Instant {
  const d = new Date(t)
  return instant(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
}

/** The gateway config the demo runs (YAML), for backends already listening. */
export function demoConfigText(
  backends: readonly { spec: DemoBackendSpec; url: string }[],
  ledgerUrl: string,
  keyPath: string,
): string {
  const lines = [
    '# generated by `wattline demo`: simulated backends, static built-in carbon table',
    'gateway:',
    '  log_level: warn',
    '  # grid time runs fast in the demo: refresh intensities every real second',
    '  intensity_refresh_ms: 1000',
    '  # write idle energy every 5 s so the live summary shows it within a short demo',
    '  accounting_interval_ms: 5000',
    '  health:',
    '    interval_ms: 2000',
    'carbon:',
    '  signal: average',
    '  sources:',
    '    - type: static',
    'ledger:',
    `  url: ${JSON.stringify(ledgerUrl)}`,
    `  signing_key_path: ${JSON.stringify(keyPath)}`,
    'services:',
    '  - name: chat',
    '    default: true',
    '    routing: carbon-aware',
    '    slo:',
    '      p95_latency_ms: 20000',
    '    # concurrent /v1/embeddings requests merged into one upstream call (docs/gateway.md)',
    '    embeddings_batching:',
    '      enabled: true',
    'backends:',
  ]
  for (const { spec, url } of backends) {
    lines.push(
      `  - id: ${spec.id}`,
      `    url: ${url}`,
      `    zone: ${spec.zone}`,
      `    hardware: ${spec.hardware}`,
      `    precision: ${spec.precision}`,
      `    models: [${DEMO_MODEL}]`,
      `    max_concurrency: ${String(spec.maxConcurrency)}`,
      ...(spec.pue === undefined ? [] : [`    pue: ${String(spec.pue)}`]),
    )
  }
  return `${lines.join('\n')}\n`
}

/** Starts backends, gateway and traffic; resolves once the gateway is listening. */
export async function startDemo(options: DemoOptions, deps: DemoDeps): Promise<RunningDemo> {
  const tempDir = options.dataDir === undefined
  const dataDir =
    options.dataDir === undefined
      ? mkdtempSync(join(tmpdir(), 'wattline-demo-'))
      : resolve(options.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const ledgerUrl = `sqlite:${join(dataDir, `demo-${String(deps.clock.now())}.db`)}`
  const keyPath = join(dataDir, 'demo-ledger.key')
  const logPath = join(dataDir, 'gateway.log')
  const gridClock = createScaledClock({
    base: deps.clock,
    origin: options.virtualStart ?? startOfUtcDay(deps.clock.now()),
    speed: options.speed,
  })
  const stack: (() => Promise<void>)[] = []
  const unwind = async (): Promise<void> => {
    for (const f of stack.splice(0).reverse()) await f()
    if (tempDir) rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const backends: SimulatedBackend[] = []
    for (const spec of DEMO_FLEET) {
      const b = await startSimulatedBackend({
        model: DEMO_MODEL,
        profile: resolveProfile({
          model: DEMO_MODEL,
          hardware: spec.hardware,
          precision: spec.precision,
        }),
        zone: spec.zone,
        name: spec.id,
      })
      backends.push(b)
      stack.push(() => b.close())
    }
    const configText = demoConfigText(
      DEMO_FLEET.map((spec, i) => ({ spec, url: backends[i]?.url ?? '' })),
      ledgerUrl,
      keyPath,
    )
    const configPath = join(dataDir, 'wattline-demo.yaml')
    const logger =
      deps.logger ?? pino({ level: 'warn' }, pino.destination({ dest: logPath, sync: true }))
    writeFileSync(configPath, configText)
    const gateway: LiveGateway = await startLiveGateway({
      configPath,
      cwd: dataDir,
      env: deps.env,
      host: '127.0.0.1',
      port: options.port,
      intensityClock: gridClock,
      logger,
    })
    const config = gateway.config
    stack.push(() => gateway.close())
    const url = gateway.url

    // Savings vs round-robin: served vs round-robin's pick, same formula, per answered request.
    const shadow = createRoundRobinShadow(
      config.backends.map((b, i) => ({
        id: b.id,
        zone: b.zone,
        pue: b.pue,
        profile:
          backends[i]?.profile ?? resolveProfile({ model: DEMO_MODEL, hardware: b.hardware }),
      })),
      (zone, at): GramsPerKwh => builtinIntensityAt(BUILTIN_INTENSITY, zone, at).intensity,
    )
    const byBackend: Record<string, number> = {}
    const atSend = new Map<number, { running: Record<string, number>; at: Instant }>()
    let answered = 0
    let failed = 0
    let traffic: DemoTraffic | undefined
    const stopTraffic = new AbortController()
    if (options.traffic) {
      traffic = startDemoTraffic({
        url: `${url}/v1`,
        model: DEMO_MODEL,
        trace: loadDemoTrace(),
        rateMultiplier: options.trafficRate,
        streamEvery: options.streamEvery ?? 4,
        maxInflight: 256,
        maxInputTokens: 8192,
        signal: stopTraffic.signal,
        graceMs: 3_000,
        onSend: (index) => {
          const running: Record<string, number> = {}
          for (const [i, b] of backends.entries()) {
            const id = config.backends[i]?.id
            if (id !== undefined) running[id] = b.stats().running
          }
          atSend.set(index, { running, at: gridClock.now() })
        },
        onResult: (r) => {
          const sent = atSend.get(r.index)
          atSend.delete(r.index)
          if (r.error !== null || r.backend === null || sent === undefined) {
            failed += 1
            return
          }
          answered += 1
          byBackend[r.backend] = (byBackend[r.backend] ?? 0) + 1
          shadow.add({
            index: r.index,
            backend: r.backend,
            inputTokens: r.inputTokens,
            outputTokens: r.outputTokens,
            at: sent.at,
            running: sent.running,
          })
        },
      })
      const t = traffic
      stack.push(async () => {
        stopTraffic.abort()
        await t.done
      })
    }

    let stopped: Promise<void> | undefined
    return {
      url,
      backends,
      config,
      gridClock,
      configText,
      ledgerUrl,
      logPath: deps.logger === undefined ? logPath : null,
      async summary(): Promise<DemoSummary> {
        const gridTime = gridClock.now()
        const intensity: Record<string, number> = {}
        for (const b of config.backends) {
          intensity[b.zone] = builtinIntensityAt(BUILTIN_INTENSITY, b.zone, gridTime).intensity
        }
        // One consistent snapshot of the counters before the scrape awaits (requests keep finishing).
        const counted = {
          answered,
          failed,
          dropped: traffic?.stats().dropped ?? 0,
          byBackend: { ...byBackend },
          shadow: shadow.totals(),
        }
        return { gridTime, ...counted, gateway: await scrapeGateway(url), intensity }
      },
      stop(): Promise<void> {
        stopped ??= unwind()
        return stopped
      },
    }
  } catch (error) {
    await unwind()
    throw error
  }
}

/** Sums the gateway's accounting counters from its Prometheus text. */
async function scrapeGateway(url: string): Promise<DemoSummary['gateway']> {
  const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) =>
    r.text(),
  )
  return {
    requests: sumMetric(
      text,
      'wattline_requests_total',
      (labels) => !labels.includes('backend="none"'),
    ),
    energyJ: sumMetric(text, 'wattline_energy_joules_total'),
    carbonG: sumMetric(text, 'wattline_carbon_grams_total'),
    idleEnergyJ: sumMetric(text, 'wattline_idle_energy_joules_total'),
  }
}

/** Sums every sample of one metric in Prometheus text exposition format. */
export function sumMetric(
  text: string,
  name: string,
  keep: (labels: string) => boolean = () => true,
): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    const labels = rest[0] === '{' ? rest.slice(0, rest.indexOf('}') + 1) : ''
    if (!keep(labels)) continue
    const value = Number(rest.slice(labels.length).trim().split(' ')[0])
    if (Number.isFinite(value)) total += value
  }
  return total
}
