import { describe, expect, it } from 'vitest'
import { planGreenestSlots, type SlotIntensity } from './greenest-slots.ts'
import { seasonalNaiveForecast } from './seasonal-forecast.ts'
import { batchLineBudget } from './throttle.ts'
import { timeShiftSaving } from './time-shift-saving.ts'
import { zoneOrder } from './zone-order.ts'

const H = 3_600_000
const T0 = Date.UTC(2023, 5, 1)
const series = (values: number[], from = T0): SlotIntensity[] =>
  values.map((v, i) => ({ at_ms: from + i * H, intensity_g_per_kwh: v }))

describe('planGreenestSlots', () => {
  it('picks the cheapest slots before the deadline, not necessarily contiguous, and runs now only when now is one of them', () => {
    const plan = planGreenestSlots({
      now_ms: T0 + 10 * 60_000,
      deadline_ms: T0 + 8 * H,
      slots_needed: 2,
      slot_ms: H,
      forecast: new Map([['DE', series([300, 100, 400, 50, 500, 60, 20, 10])]]),
      margin_slots: 1,
    })
    // the last slot (10 g) lies inside the 1-slot margin: 20 and 50 are the cheapest usable
    expect(plan.slots.map((s) => (s.start_ms - T0) / H)).toEqual([3, 6])
    expect(plan.run_now).toBe(false)
    expect(plan.mean_intensity_g_per_kwh).toBe(35)
    expect(plan.forced).toBe(false)
  })

  it('chooses the greenest zone per slot among the allowed zones', () => {
    const plan = planGreenestSlots({
      now_ms: T0,
      deadline_ms: T0 + 4 * H,
      slots_needed: 1,
      slot_ms: H,
      forecast: new Map([
        ['DE', series([90, 300, 300, 300])],
        ['FR', series([200, 200, 200, 200])],
      ]),
      margin_slots: 0,
    })
    expect(plan).toMatchObject({ run_now: true, zone_now: 'DE', forced: false })
  })

  it('runs at once (forced) when the work left fills every remaining slot, margin or not', () => {
    const plan = planGreenestSlots({
      now_ms: T0,
      deadline_ms: T0 + 3 * H,
      slots_needed: 2.2, // a started slot is spent: 3 slots
      slot_ms: H,
      forecast: new Map([['DE', series([900, 10, 10])]]),
      margin_slots: 1,
    })
    expect(plan.forced).toBe(true)
    expect(plan.run_now).toBe(true)
    expect(plan.slots).toHaveLength(3)
  })

  it('ranks slots without a forecast last and still plans (earliest first on ties)', () => {
    const plan = planGreenestSlots({
      now_ms: T0,
      deadline_ms: T0 + 5 * H,
      slots_needed: 1,
      slot_ms: H,
      forecast: new Map([['DE', []]]),
      margin_slots: 0,
    })
    expect(plan.run_now).toBe(true)
    expect(Number.isNaN(plan.mean_intensity_g_per_kwh)).toBe(true)
  })

  it('needs nothing when no work is left', () => {
    const plan = planGreenestSlots({
      now_ms: T0,
      deadline_ms: T0 + 5 * H,
      slots_needed: 0,
      slot_ms: H,
      forecast: new Map([['DE', series([1, 2, 3, 4, 5])]]),
    })
    expect(plan).toMatchObject({ run_now: false, forced: false, slots: [] })
  })
})

describe('seasonalNaiveForecast', () => {
  it('averages the same hour over the previous days and never reads the present or future', () => {
    // 3 days of history: hour h on day d = 100·d + h; then a future spike that must not leak
    const history: SlotIntensity[] = []
    for (let d = 0; d < 3; d++)
      for (let h = 0; h < 24; h++)
        history.push({ at_ms: T0 + (d * 24 + h) * H, intensity_g_per_kwh: 100 * d + h })
    const now = T0 + 3 * 24 * H
    history.push(
      { at_ms: now, intensity_g_per_kwh: 1e6 },
      { at_ms: now + H, intensity_g_per_kwh: 1e6 },
    )
    const f = seasonalNaiveForecast({
      history,
      now_ms: now,
      until_ms: now + 3 * H,
      slot_ms: H,
      days: 2,
    })
    // hour 0: days 2 and 1 → (200 + 100) / 2; hour 1: (201 + 101) / 2
    expect(f.map((p) => p.intensity_g_per_kwh)).toEqual([150, 151, 152])
    const f1 = seasonalNaiveForecast({
      history,
      now_ms: now,
      until_ms: now + H,
      slot_ms: H,
      days: 1,
    })
    expect(f1[0]!.intensity_g_per_kwh).toBe(200)
  })

  it('forecasts slots more than a day ahead from complete days only', () => {
    const history = series(Array.from({ length: 48 }, (_, i) => i))
    const now = T0 + 48 * H
    const f = seasonalNaiveForecast({
      history,
      now_ms: now,
      until_ms: now + 30 * H,
      slot_ms: H,
      days: 1,
    })
    expect(f).toHaveLength(30)
    expect(f[0]!.intensity_g_per_kwh).toBe(24) // same hour yesterday
    expect(f[25]!.intensity_g_per_kwh).toBe(25) // tomorrow 01:00: 'yesterday' is still future: 2 days back
  })
})

describe('batchLineBudget', () => {
  it('caps batch lines by share, by the configured maximum, and by what interactive traffic leaves', () => {
    const base = { capacity: 16, max_share: 0.5, max_concurrent_lines: 6 }
    expect(batchLineBudget({ ...base, interactive_in_flight: 0 })).toBe(6)
    expect(batchLineBudget({ ...base, max_concurrent_lines: 100, interactive_in_flight: 0 })).toBe(
      8,
    )
    expect(batchLineBudget({ ...base, interactive_in_flight: 13 })).toBe(3)
    expect(batchLineBudget({ ...base, interactive_in_flight: 20 })).toBe(0)
  })
})

describe('zoneOrder', () => {
  const forecast = new Map([
    ['DE', series([400, 50])],
    ['FR', series([60, 300])],
    ['PL', series([700, 700])],
    ['XX', []],
  ])
  it('puts the planned zone first, then the others greenest first for the current slot, unknown last', () => {
    expect(zoneOrder({ planned: 'DE', now_ms: T0 + 5, slot_ms: H, forecast })).toEqual([
      'DE',
      'FR',
      'PL',
      'XX',
    ])
    expect(zoneOrder({ planned: undefined, now_ms: T0 + H, slot_ms: H, forecast })).toEqual([
      'DE',
      'FR',
      'PL',
      'XX',
    ])
    expect(zoneOrder({ planned: undefined, now_ms: T0, slot_ms: H, forecast })).toEqual([
      'FR',
      'DE',
      'PL',
      'XX',
    ])
  })
})

describe('timeShiftSaving', () => {
  it('is facility energy × (intensity at submission − intensity ran at), 0 J saved, estimated counterfactual', () => {
    // 3.6 MJ = 1 kWh: from 400 to 40 g/kWh saves 360 g
    expect(
      timeShiftSaving({
        facility_energy_j: 3_600_000,
        ran_intensity_g_per_kwh: 40,
        counterfactual_intensity_g_per_kwh: 400,
      }),
    ).toEqual({
      lever: 'time-shift',
      energy_saved_j: 0,
      energy_saved_low_j: 0,
      energy_saved_high_j: 0,
      carbon_saved_g: 360,
      basis: 'estimated-counterfactual',
    })
    // dirtier later: negative
    expect(
      timeShiftSaving({
        facility_energy_j: 1_800_000,
        ran_intensity_g_per_kwh: 300,
        counterfactual_intensity_g_per_kwh: 100,
      })?.carbon_saved_g,
    ).toBe(-100)
    expect(
      timeShiftSaving({
        facility_energy_j: 1,
        ran_intensity_g_per_kwh: 1,
        counterfactual_intensity_g_per_kwh: Infinity,
      }),
    ).toBeUndefined()
  })
})
