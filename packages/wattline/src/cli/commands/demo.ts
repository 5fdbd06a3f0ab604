/**
 * @module cli/commands/demo
 * `wattline demo` (what `npm start` runs): simulated backends in three zones, the gateway in front,
 * trace-shaped traffic, a day of grid intensity in minutes; prints the URLs, a live summary and
 * client examples. See `compose/demo.ts` and docs/demo.md.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { createSystemClock } from '../../adapters/clock/system-clock.ts'
import { DEMO_MODEL, startDemo, type DemoSummary, type RunningDemo } from '../../compose/demo.ts'
import type { ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

interface DemoCliOptions {
  port: number
  durationS?: number
  speed: number
  traffic: boolean
  trafficRate: number
  dataDir?: string
  refreshS: number
  json?: boolean
}

const positive =
  (name: string, integer = false) =>
  (text: string): number => {
    const n = Number(text)
    if (
      text.trim() === '' ||
      !(n > 0) ||
      !Number.isFinite(n) ||
      (integer && !Number.isInteger(n))
    ) {
      throw new InvalidArgumentError(
        `${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`,
      )
    }
    return n
  }

const port = (text: string): number => {
  const n = Number(text)
  if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new InvalidArgumentError(`--port must be a port 0..65535, got "${text}"`)
  }
  return n
}

/** Registers `demo` on the program. */
export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('demo')
    .description(
      'Run the embedded demo: SIMULATED model servers in three grid zones, the gateway in front, Azure-trace traffic, a day of grid intensity in minutes',
    )
    .option('--port <n>', 'gateway port on 127.0.0.1 (0 = any free port)', port, 8080)
    .option(
      '--duration-s <s>',
      'stop after this many seconds (default: run until Ctrl-C)',
      positive('--duration-s'),
    )
    .option(
      '--speed <x>',
      'grid seconds per real second (360 = a day in 4 minutes)',
      positive('--speed'),
      360,
    )
    .option('--no-traffic', 'do not replay the trace; serve only what clients send')
    .option(
      '--traffic-rate <x>',
      'arrival rate relative to the shipped trace sample',
      positive('--traffic-rate'),
      4,
    )
    .option('--data-dir <dir>', 'keep the SQLite ledger here (default: a temp dir removed at exit)')
    .option('--refresh-s <s>', 'seconds between summary lines', positive('--refresh-s'), 5)
    .option('--json', 'print only the final summary, as JSON')
    .action(async (opts: DemoCliOptions) => {
      const clock = createSystemClock()
      const demo = await startDemo(
        {
          port: opts.port,
          speed: opts.speed,
          traffic: opts.traffic,
          trafficRate: opts.trafficRate,
          ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
        },
        { clock, env: io.env },
      )
      try {
        if (!opts.json) io.stdout.write(banner(demo, opts, await hasDashboard(demo.url)))
        const timer = opts.json
          ? undefined
          : setInterval(() => {
              void demo.summary().then(
                (s) => io.stdout.write(`${summaryLine(s, demo)}\n`),
                (e: unknown) => io.stderr.write(`summary unavailable: ${String(e)}\n`),
              )
            }, opts.refreshS * 1000)
        await new Promise<void>((resolve) => {
          const done = (): void => resolve()
          if (io.stopSignal.aborted) return resolve()
          io.stopSignal.addEventListener('abort', done, { once: true })
          if (opts.durationS !== undefined) {
            setTimeout(() => {
              io.stopSignal.removeEventListener('abort', done)
              resolve()
            }, opts.durationS * 1000).unref()
          }
        })
        if (timer !== undefined) clearInterval(timer)
        const final = await demo.summary()
        if (opts.json) io.stdout.write(`${JSON.stringify(toJson(final), null, 2)}\n`)
        else io.stdout.write(`\nfinal: ${summaryLine(final, demo)}\n${METHOD_NOTE}\n`)
      } finally {
        await demo.stop()
      }
      setExit(0)
    })
}

const METHOD_NOTE =
  'savings vs round-robin: for each answered request, modelled carbon on the backend that served it vs on the backend round-robin would have picked (profile energy at the batch each would have run × PUE × the zone’s intensity at that grid time); both sides modelled the same way (docs/demo.md).'

async function hasDashboard(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/dashboard`, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

function banner(demo: RunningDemo, opts: DemoCliOptions, dashboard: boolean): string {
  const start = new Date(demo.gridClock.now()).toISOString().slice(0, 16).replace('T', ' ')
  const dayMinutes = (24 * 60) / opts.speed
  const backends = demo.backends.map((b, i) => {
    const c = demo.config.backends[i]
    return `    ${(c?.id ?? b.name).padEnd(10)} ${b.zone.padEnd(3)} ${b.profile.hardware.padEnd(10)} PUE ${String(c?.pue ?? '?').padEnd(5)} max ${String(c?.max_concurrency ?? '?').padEnd(3)} ${b.url}`
  })
  return [
    'Wattline demo — SIMULATED model servers (no GPUs involved), the real gateway, Azure-trace-shaped traffic',
    '',
    `  gateway (OpenAI API)  ${demo.url}/v1`,
    `  metrics               ${demo.url}/metrics`,
    ...(dashboard ? [`  dashboard             ${demo.url}/dashboard`] : []),
    `  ledger                ${demo.ledgerUrl}`,
    ...(demo.logPath === null ? [] : [`  gateway log           ${demo.logPath}`]),
    `  grid time             starts ${start} UTC, runs ${String(opts.speed)}× (a day in ${dayMinutes.toFixed(1)} min); intensity: built-in static table`,
    `  traffic               ${opts.traffic ? `Azure LLM conversation trace 2023 (CC-BY 4.0), ${String(opts.trafficRate)}× the shipped 1-in-10 sample` : 'none (--no-traffic)'}`,
    '  simulated backends (latency and power from fitted ML.ENERGY profiles):',
    ...backends,
    '',
    'Try it:',
    `  curl -si ${demo.url}/v1/chat/completions -H 'content-type: application/json' \\`,
    `    -d '{"model":"${DEMO_MODEL}","messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'`,
    `  node --input-type=module -e "import OpenAI from 'openai'; const c = new OpenAI({ baseURL: '${demo.url}/v1', apiKey: 'unused' }); const r = await c.chat.completions.create({ model: '${DEMO_MODEL}', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 32 }); console.log(r.choices[0].message.content)"`,
    '',
    opts.durationS === undefined
      ? 'Ctrl-C to stop.'
      : `Stopping after ${String(opts.durationS)} s.`,
    '',
  ].join('\n')
}

function fmt(n: number, digits: number): string {
  return n.toFixed(digits)
}

/** One summary line: traffic, the gateway's accounting, savings vs round-robin, grid now. */
export function summaryLine(s: DemoSummary, demo: Pick<RunningDemo, 'config'>): string {
  const time = new Date(s.gridTime).toISOString().slice(11, 16)
  const split = demo.config.backends
    .map((b) => `${b.id} ${String(s.byBackend[b.id] ?? 0)}`)
    .join(' · ')
  const savings =
    s.shadow.savingsPct === null
      ? 'vs round-robin: n/a yet'
      : `vs round-robin: ${s.shadow.savingsPct >= 0 ? '−' : '+'}${fmt(Math.abs(s.shadow.savingsPct), 0)} % carbon (${fmt(s.shadow.servedG, 3)} g vs ${fmt(s.shadow.roundRobinG, 3)} g, modelled)`
  const grid = Object.entries(s.intensity)
    .map(([z, v]) => `${z} ${fmt(v, 0)}`)
    .join(' ')
  return `[grid ${time} UTC] answered ${String(s.answered)} (${split}), failed ${String(s.failed)} · gateway: ${fmt(s.gateway.requests, 0)} req, ${fmt(s.gateway.energyJ / 3600, 2)} Wh, ${fmt(s.gateway.carbonG, 3)} gCO2e, +${fmt(s.gateway.idleEnergyJ / 3600, 2)} Wh idle · ${savings} · grid g/kWh: ${grid}`
}

function toJson(s: DemoSummary): Record<string, unknown> {
  return {
    grid_time: new Date(s.gridTime).toISOString(),
    answered: s.answered,
    failed: s.failed,
    dropped: s.dropped,
    by_backend: s.byBackend,
    gateway: {
      requests: s.gateway.requests,
      energy_j: s.gateway.energyJ,
      carbon_g: s.gateway.carbonG,
      idle_energy_j: s.gateway.idleEnergyJ,
      method: 'modelled',
    },
    intensity_g_per_kwh: s.intensity,
    vs_round_robin: {
      method: 'modelled, same formula both sides (docs/demo.md)',
      served_energy_j: s.shadow.servedJ,
      served_carbon_g: s.shadow.servedG,
      round_robin_energy_j: s.shadow.roundRobinJ,
      round_robin_carbon_g: s.shadow.roundRobinG,
      savings_pct: s.shadow.savingsPct,
    },
  }
}
