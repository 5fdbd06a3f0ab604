/**
 * bench:batch — time-shifting of Batch API work over a year of real hourly grid intensity.
 *
 * Data (../shared/data, read only): Electricity Maps hourly average intensity (direct), 2022 (as
 * history only) and 2023, several zones (`electricitymaps-hourly/SOURCE.md`; ODbL, via
 * HewlettPackard/green-dcc).
 *
 * Workload: every day of 2023 (1 Jan – 30 Dec, so every deadline falls inside the data), one batch
 * is submitted at each hour of the day with `completion_window` 24 h; batch sizes cycle through
 * 1, 2, 3, 4, 6 hours of work at the throttled rate (a day of submissions: 24 batches, 80 h of work).
 * Every hour of work draws the same energy (same model and hardware, whichever slot or zone), so
 * carbon is proportional to the sum of the intensities of the hours it runs in.
 *
 * Policies, side by side on the same submissions:
 * - `run-now`: starts at submission and runs its hours back to back (for a service allowed several
 *   zones: in the zone with the lowest intensity in the submission hour, as carbon-aware routing
 *   already does — so the multi-zone saving is time-shifting's own, not routing's);
 * - `scheduled`: the Batch scheduler (`planGreenestSlots`), re-planning every hour with an honest
 *   forecast — seasonal-naive, the mean of the same hour over the previous 7 days, built only from
 *   hours before the current one (`seasonalNaiveForecast`); 1 slot kept as deadline margin;
 * - `perfect-foresight`: the same planner given the actual intensities (the optimum; never
 *   achievable live), to show what fraction of the possible saving the forecast captures.
 *
 * Method: modelled (intensity × equal energy per hour); source: the CSVs above. Prints a table and
 * JSON; docs/benchmarks.md holds the figures.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  planGreenestSlots,
  seasonalNaiveForecast,
  type SlotIntensity,
} from '../packages/core/src/index.ts'

const HOUR = 3_600_000
const here = dirname(fileURLToPath(import.meta.url))
const data = join(here, '..', '..', 'shared', 'data', 'electricitymaps-hourly')

/** Scenarios: the zones a service's backends allow. */
const SCENARIOS: readonly (readonly string[])[] = [
  ['DE-LU'],
  ['GB'],
  ['US-CAL-CISO'],
  ['US-TEX-ERCO'],
  ['AU-NSW'],
  ['CA-ON'],
  ['DE-LU', 'GB'],
  ['US-CAL-CISO', 'US-TEX-ERCO'],
]
const SIZES_H = [1, 2, 3, 4, 6]
const WINDOW_H = 24
const SEASONAL_DAYS = Number(process.env['BENCH_BATCH_SEASONAL_DAYS'] ?? 7)

function loadZone(zone: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const year of [2022, 2023]) {
    const file = join(data, String(year), `${zone}_${year}_hourly.csv`)
    const lines = readFileSync(file, 'utf8').split('\n').slice(1)
    for (const line of lines) {
      if (line.trim() === '') continue
      const cols = line.split(',')
      const at = Date.parse(`${cols[0]!.replace(' ', 'T')}Z`)
      const v = Number(cols[4])
      if (!Number.isFinite(at) || !Number.isFinite(v)) throw new Error(`${file}: bad row ${line}`)
      out.set(at, v)
    }
  }
  return out
}

interface Totals {
  carbon: number
  missed: number
  batches: number
  hours: number
}

function main(): void {
  if (!existsSync(data)) {
    console.log(`bench:batch skipped: ${data} is absent (../shared/data not present)`)
    return
  }
  const zonesNeeded = [...new Set(SCENARIOS.flat())]
  const series = new Map(zonesNeeded.map((z) => [z, loadZone(z)]))
  const start = Date.UTC(2023, 0, 1)
  const end = Date.UTC(2023, 11, 31) // last submission day: 30 Dec (deadline inside 2023)
  const rows: Record<string, unknown>[] = []
  const started = performance.now()
  for (const zones of SCENARIOS) {
    const actual = (z: string, t: number): number => {
      const v = series.get(z)!.get(t)
      if (v === undefined) throw new Error(`no intensity for ${z} at ${new Date(t).toISOString()}`)
      return v
    }
    const history = new Map(
      zones.map((z) => [
        z,
        [...series.get(z)!.entries()].map(([at_ms, intensity_g_per_kwh]): SlotIntensity => ({
          at_ms,
          intensity_g_per_kwh,
        })),
      ]),
    )
    // forecasts made at hour t (same for every batch planning at t), cached
    const forecastCache = new Map<number, Map<string, SlotIntensity[]>>()
    const forecastAt = (t: number): Map<string, SlotIntensity[]> => {
      let f = forecastCache.get(t)
      if (f === undefined) {
        f = new Map(
          zones.map((z) => {
            const h = history
              .get(z)!
              .filter((p) => p.at_ms < t && p.at_ms >= t - (SEASONAL_DAYS + 1) * 86_400_000)
            return [
              z,
              seasonalNaiveForecast({
                history: h,
                now_ms: t,
                until_ms: t + (WINDOW_H + 1) * HOUR,
                slot_ms: HOUR,
                days: SEASONAL_DAYS,
              }),
            ]
          }),
        )
        forecastCache.set(t, f)
        forecastCache.delete(t - 2 * WINDOW_H * HOUR)
      }
      return f
    }
    const truthFrom = (t: number, until: number): Map<string, SlotIntensity[]> =>
      new Map(
        zones.map((z) => {
          const pts: SlotIntensity[] = []
          for (let s = t; s < until; s += HOUR)
            pts.push({ at_ms: s, intensity_g_per_kwh: actual(z, s) })
          return [z, pts]
        }),
      )
    const totals: Record<'run-now' | 'scheduled' | 'perfect-foresight', Totals> = {
      'run-now': { carbon: 0, missed: 0, batches: 0, hours: 0 },
      scheduled: { carbon: 0, missed: 0, batches: 0, hours: 0 },
      'perfect-foresight': { carbon: 0, missed: 0, batches: 0, hours: 0 },
    }
    let i = 0
    for (let submit = start; submit < end; submit += HOUR, i++) {
      const size = SIZES_H[i % SIZES_H.length]!
      const deadline = submit + WINDOW_H * HOUR
      // run-now: back to back from submission, in the greenest zone of the submission hour
      const home = [...zones].sort((a, b) => actual(a, submit) - actual(b, submit))[0]!
      let c = 0
      for (let h = 0; h < size; h++) c += actual(home, submit + h * HOUR)
      totals['run-now'].carbon += c
      // scheduled: re-plan every hour with the forecast made then; run when the plan says so
      for (const [name, forecastOf] of [
        ['scheduled', forecastAt],
        ['perfect-foresight', (t: number) => truthFrom(t, deadline)],
      ] as const) {
        let left = size
        let carbon = 0
        for (let t = submit; t < deadline && left > 0; t += HOUR) {
          const plan = planGreenestSlots({
            now_ms: t,
            deadline_ms: deadline,
            slots_needed: left,
            slot_ms: HOUR,
            forecast: forecastOf(t),
            margin_slots: name === 'perfect-foresight' ? 0 : 1,
          })
          if (plan.run_now && plan.zone_now !== undefined) {
            carbon += actual(plan.zone_now, t)
            left -= 1
          }
        }
        const tot = totals[name]
        tot.carbon += carbon
        if (left > 0) tot.missed += 1
        tot.batches += 1
        tot.hours += size - left
      }
      totals['run-now'].batches += 1
      totals['run-now'].hours += size
    }
    const base = totals['run-now'].carbon
    const sched = totals.scheduled.carbon
    const opt = totals['perfect-foresight'].carbon
    rows.push({
      zones: zones.join('+'),
      batches: totals.scheduled.batches,
      work_hours: totals['run-now'].hours,
      run_now_mean_g_per_kwh: round(base / totals['run-now'].hours),
      scheduled_mean_g_per_kwh: round(sched / totals.scheduled.hours),
      perfect_mean_g_per_kwh: round(opt / totals['perfect-foresight'].hours),
      scheduled_saving_pct: round((100 * (base - sched)) / base),
      perfect_saving_pct: round((100 * (base - opt)) / base),
      share_of_optimum_pct: round((100 * (base - sched)) / (base - opt)),
      deadlines_missed: totals.scheduled.missed,
      perfect_missed: totals['perfect-foresight'].missed,
    })
  }
  const elapsed = (performance.now() - started) / 1000
  console.log(
    `bench:batch — 2023, one batch per hour (sizes ${SIZES_H.join('/')} h cycling), completion_window ${WINDOW_H} h; forecast: seasonal-naive mean of the previous ${SEASONAL_DAYS} days; baseline run-now measured side by side`,
  )
  console.table(rows)
  const sum = (k: string): number => rows.reduce((s, r) => s + (r[k] as number), 0)
  console.log(
    `mean saving vs run-now: scheduled ${round(sum('scheduled_saving_pct') / rows.length)} %, perfect foresight ${round(sum('perfect_saving_pct') / rows.length)} %; deadlines missed ${sum('deadlines_missed')} (${elapsed.toFixed(1)} s)`,
  )
  console.log(JSON.stringify({ bench: 'batch', seasonal_days: SEASONAL_DAYS, rows }))
}

const round = (n: number): number => Math.round(n * 10) / 10

main()
