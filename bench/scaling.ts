/**
 * `npm run bench:scaling`: right-sizing policies against the fleet provisioned for the peak
 * (`static-peak`, the baseline, run side by side in the same process on the same trace).
 *
 * Traces (../shared/data, read only): the Azure LLM inference conversation trace (one hour) and the
 * Mooncake FAST'25 synthetic trace (17 minutes), each stretched over two days by `buildDiurnalDay`
 * (the trace's own gaps time-rescaled to BurstGPT's published hourly shape; docs/scaling.md). Day 1
 * warms the forecasts (seasonal-naive needs a day of history); day 2 is measured. Several service
 * sizes: the trace's rate multiplied so that the peak needs a few to a few dozen replicas.
 * Pool: Llama-3.1-70B-Instruct on 4 × H100-SXM (fitted profile, modelled), 128 slots per replica,
 * cold start 60 s at idle power (assumption, docs/scaling.md), PUE 1.2, p95 SLO 25 s, windows of
 * 60 s. Carbon: Electricity Maps hourly direct intensity of DE-LU, 2023-07-01 and 02 (measured grid
 * data); `energy-optimal+defer` is energy-optimal with a 20 % deferral budget while the grid is
 * above its daily median; `energy-optimal, hold 300 s` holds scale-downs for the HPA's default
 * stabilisation window instead of the ski-rental break-even (fewer cold starts, fewer misses in
 * bursts, more energy). `static-peak` replicas: the fewest constant replicas meeting the SLO in
 * every measured window by the same steady-state model (`peakReplicas`).
 *
 * Target (issue 14): energy-optimal ≥ 30 % less energy than static-peak, SLO misses no higher than
 * static-peak's + 0.5 % of requests. Options: `-- --quick` (one size per trace), `--trace azure|mooncake`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  buildDiurnalDay,
  createScalingPolicy,
  peakReplicas,
  resolveProfile,
  simulateFleet,
  windowLoads,
  type FleetSimulation,
  type ScalingPool,
} from '@wattline/core'
import { loadTrace } from '../packages/wattline/src/sim/trace-reader.ts'

const data = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data')
const quick = process.argv.includes('--quick')
const only = process.argv.includes('--trace')
  ? process.argv[process.argv.indexOf('--trace') + 1]
  : undefined
const DAY_MS = 86_400_000
const start = Date.UTC(2023, 6, 1)
const windowMs = 60_000
const sloP95Ms = 25_000

const traces = [
  {
    name: 'Azure conv',
    file: join(data, 'azure-llm-inference-2023', 'AzureLLMInferenceTrace_conv.csv'),
    // time scale: 1/scale = the rate multiplier
    scales: quick ? [0.03] : [0.3, 0.1, 0.03],
  },
  {
    name: 'Mooncake',
    file: join(data, 'mooncake-fast25', 'synthetic_trace.jsonl'),
    scales: quick ? [0.3] : [1, 0.3, 0.1],
  },
]

/** Hourly direct intensity of a zone (Electricity Maps CSV), by hour start (epoch ms). */
function hourlyIntensity(file: string): Map<number, number> {
  const out = new Map<number, number>()
  const lines = readFileSync(file, 'utf8').split('\n')
  const header = (lines[0] ?? '').split(',')
  const col = header.findIndex((h) => h.includes('(direct)'))
  for (const line of lines.slice(1)) {
    const f = line.split(',')
    if (f.length <= col) continue
    out.set(Date.parse(`${f[0]?.replace(' ', 'T')}Z`), Number(f[col]))
  }
  return out
}

const intensityFile = join(data, 'electricitymaps-hourly', '2023', 'DE-LU_2023_hourly.csv')
if (!existsSync(intensityFile)) {
  console.log(`bench:scaling skipped: ${intensityFile} is absent (../shared/data not present)`)
  process.exit(0)
}
const hourly = hourlyIntensity(intensityFile)
const intensityAt = (ms: number): number =>
  hourly.get(Math.floor(ms / 3_600_000) * 3_600_000) ?? Number.NaN
const dayMedianAt = (ms: number): number => {
  const d = Math.floor(ms / DAY_MS) * DAY_MS
  const xs = Array.from({ length: 24 }, (_, h) => intensityAt(d + h * 3_600_000)).sort(
    (a, b) => a - b,
  )
  return ((xs[11] as number) + (xs[12] as number)) / 2
}

const profile = resolveProfile({ model: 'llama-3.1-70b-instruct', hardware: 'H100-SXM', gpus: 4 })
const basePool: ScalingPool = {
  id: 'llama-70b',
  zone: 'DE',
  profile,
  slotsPerReplica: 128,
  minReplicas: 1,
  maxReplicas: 200,
  coldStartMs: 60_000,
  coldStartPowerW: profile.idlePower,
  pue: 1.2,
}
const kwh = (j: number): string => (j / 3.6e6).toFixed(1)
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`

console.log(
  `bench:scaling — ${profile.model} on ${profile.gpus} × ${profile.hardware} (${profile.basis}), ` +
    `128 slots/replica, p95 SLO ${sloP95Ms / 1000} s, window ${windowMs / 1000} s, cold start 60 s; ` +
    `day 2 of a 2-day diurnal stretch measured; carbon: DE-LU 2023-07-01/02 hourly (Electricity Maps)\n`,
)
const summary: string[] = []
for (const t of traces) {
  if (only !== undefined && !t.name.toLowerCase().startsWith(only.toLowerCase())) continue
  if (!existsSync(t.file)) {
    console.log(`${t.name}: skipped, ${t.file} is absent`)
    continue
  }
  for (const scale of t.scales) {
    const src = await loadTrace(t.file, { start, timeScale: scale })
    const day = buildDiurnalDay(
      { arrivalMs: src.arrival, inputTokens: src.inputTokens, outputTokens: src.outputTokens },
      start,
      2,
    )
    const measureFromMs = start + DAY_MS
    const staticN = peakReplicas(basePool, windowLoads(day, windowMs, measureFromMs), sloP95Ms)
    const pool = basePool
    const run = (
      label: string,
      name: string,
      extra: { deferralPct?: number; stabilisationMs?: number } = {},
    ): { label: string; r: FleetSimulation; ms: number } => {
      const t0 = performance.now()
      const r = simulateFleet({
        pool,
        policy: createScalingPolicy(name, {
          staticReplicas: staticN,
          ...(extra.stabilisationMs === undefined
            ? {}
            : { stabilisationMs: extra.stabilisationMs }),
        }),
        trace: day,
        sloP95Ms,
        windowMs,
        measureFromMs,
        intensityAt,
        dayMedianAt,
        ...(extra.deferralPct === undefined ? {} : { deferralPct: extra.deferralPct }),
      })
      return { label, r, ms: performance.now() - t0 }
    }
    const rows = [
      run('static-peak', 'static-peak'),
      run('reactive', 'reactive'),
      run('predictive', 'predictive'),
      run('energy-optimal', 'energy-optimal'),
      run('energy-optimal+defer', 'energy-optimal', { deferralPct: 20 }),
      run('energy-optimal, hold 300 s', 'energy-optimal', { stabilisationMs: 300_000 }),
    ]
    const base = rows[0]!.r.totals
    console.log(
      `${t.name} ×${(1 / scale).toFixed(1)} rate — ${(base.requests / 1e6).toFixed(2)} M requests on day 2, ` +
        `static-peak ${staticN} replicas`,
    )
    console.log(
      '| policy | energy kWh | vs static-peak | idle share | prefill share | carbon kg | replica-h | cold starts | SLO misses | p95 s | sim s |',
    )
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const { label, r, ms } of rows) {
      const x = r.totals
      console.log(
        `| ${label} | ${kwh(x.energyJ)} | ${label === 'static-peak' ? '—' : pct(x.energyJ / base.energyJ - 1)} | ` +
          `${pct(x.idleEnergyJ / x.energyJ)} | ${pct(x.prefillEnergyJ / x.energyJ)} | ${(x.carbonG / 1000).toFixed(1)} | ` +
          `${x.replicaHours.toFixed(1)} | ${x.coldStarts} | ${pct(x.sloMisses / x.requests)} | ` +
          `${(x.p95LatencyMs / 1000).toFixed(1)} | ${(ms / 1000).toFixed(1)} |`,
      )
    }
    const opt = rows[3]!.r.totals
    const saving = 1 - opt.energyJ / base.energyJ
    const missDelta = opt.sloMisses / opt.requests - base.sloMisses / base.requests
    const met = saving >= 0.3 && missDelta <= 0.005
    const line = `${t.name} ×${(1 / scale).toFixed(1)}: energy-optimal ${pct(saving)} less energy than static-peak (target ≥ 30 %), misses ${missDelta >= 0 ? '+' : ''}${(missDelta * 100).toFixed(2)} pp (limit +0.5) → ${met ? 'met' : 'NOT met'}`
    summary.push(line)
    console.log(`\n${line}\n`)
  }
}
console.log('Summary')
for (const s of summary) console.log(`- ${s}`)
