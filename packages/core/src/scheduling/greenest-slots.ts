/**
 * @module scheduling/greenest-slots
 * Time-shifting of deferrable work (the Batch API): which hourly slots, and in which zone, a batch
 * should run in so that it finishes before its deadline with the least carbon, given an intensity
 * forecast per allowed zone. Pure: time arrives as data (`now_ms`), forecasts as arrays.
 *
 * Model: the batch needs `slots_needed` slots of work (its lines at the throttled rate); in each
 * slot it runs in one zone. Energy per slot is the same wherever it runs (same model, same
 * hardware class), so the carbon of a plan is proportional to the sum of the forecast intensities
 * of its slots, and the optimum is the `slots_needed` cheapest (slot, zone) choices before the
 * deadline — slots need not be contiguous, which lets a batch pause through a dirty evening peak.
 * Re-planning is calling this again with the remaining work and a newer forecast.
 */

/** One forecast (or observed) intensity value for a zone, covering [at_ms, at_ms + slot_ms). */
export interface SlotIntensity {
  readonly at_ms: number
  readonly intensity_g_per_kwh: number
}

export interface PlanInput {
  /** Current time, epoch ms. The slot containing it is the first candidate. */
  readonly now_ms: number
  /** The batch must finish by this instant, epoch ms. */
  readonly deadline_ms: number
  /** Work left, in slots (fractions round up: a started slot is spent). */
  readonly slots_needed: number
  /** Slot length, ms (1 h for hourly grid data). */
  readonly slot_ms: number
  /** Forecast per allowed zone; a slot without a value in a zone is not a candidate there. */
  readonly forecast: ReadonlyMap<string, readonly SlotIntensity[]>
  /**
   * Slots kept free before the deadline as a margin for slower-than-estimated work (default 1).
   * Never more than the spare slots: a batch with no spare runs at once.
   */
  readonly margin_slots?: number
}

export interface PlannedSlot {
  readonly start_ms: number
  readonly zone: string
  readonly intensity_g_per_kwh: number
}

export interface SlotPlan {
  /** Chosen slots in time order. */
  readonly slots: readonly PlannedSlot[]
  /** True when the current slot is in the plan: work should run now. */
  readonly run_now: boolean
  /** The zone to run in now (when `run_now`). */
  readonly zone_now: string | undefined
  /** Mean forecast intensity of the plan, gCO2e/kWh. */
  readonly mean_intensity_g_per_kwh: number
  /** True when no slack was left (every remaining slot is needed): the deadline forces running. */
  readonly forced: boolean
}

/** Ascending intensity; unknown (infinite) slots last and equal among themselves. */
const byIntensity = (a: PlannedSlot, b: PlannedSlot): number =>
  a.intensity_g_per_kwh === b.intensity_g_per_kwh
    ? 0
    : a.intensity_g_per_kwh < b.intensity_g_per_kwh
      ? -1
      : 1

/** Start of the slot containing `t`. */
export const slotStart = (t: number, slotMs: number): number => Math.floor(t / slotMs) * slotMs

/**
 * The greenest plan for the remaining work. Candidates are the slots from the one containing
 * `now_ms` to the last that ends by `deadline_ms − margin`; per slot the greenest zone with a
 * forecast value; then the `slots_needed` cheapest, ties broken by the earlier slot (finishing
 * early is worth something when forecasts are equal). When there are fewer candidate slots than
 * needed the plan is every candidate (`forced`): run now, as fast as allowed.
 */
export function planGreenestSlots(input: PlanInput): SlotPlan {
  const { slot_ms: slotMs } = input
  const needed = Math.max(0, Math.ceil(input.slots_needed - 1e-9))
  const first = slotStart(input.now_ms, slotMs)
  const lastEnd = slotStart(input.deadline_ms, slotMs)
  const available = Math.max(0, Math.round((lastEnd - first) / slotMs))
  const spare = Math.max(0, available - needed)
  const margin = Math.min(spare, Math.max(0, input.margin_slots ?? 1))
  const usable = available - margin
  const byStart = new Map<number, Map<string, number>>()
  for (const [zone, points] of input.forecast) {
    for (const p of points) {
      const s = slotStart(p.at_ms, slotMs)
      if (s < first || s >= first + usable * slotMs || !Number.isFinite(p.intensity_g_per_kwh))
        continue
      let zones = byStart.get(s)
      if (zones === undefined) byStart.set(s, (zones = new Map()))
      zones.set(zone, p.intensity_g_per_kwh)
    }
  }
  const candidates: PlannedSlot[] = []
  for (let i = 0; i < usable; i++) {
    const start = first + i * slotMs
    const zones = byStart.get(start)
    let best: PlannedSlot | undefined
    for (const [zone, intensity] of zones ?? []) {
      if (best === undefined || intensity < best.intensity_g_per_kwh)
        best = { start_ms: start, zone, intensity_g_per_kwh: intensity }
    }
    // a slot with no forecast anywhere is still usable, ranked last (unknown, assumed worst)
    candidates.push(
      best ?? {
        start_ms: start,
        zone: [...input.forecast.keys()][0] ?? '',
        intensity_g_per_kwh: Number.POSITIVE_INFINITY,
      },
    )
  }
  const forced = candidates.length <= needed
  const chosen = forced
    ? candidates
    : [...candidates]
        .sort((a, b) => byIntensity(a, b) || a.start_ms - b.start_ms)
        .slice(0, needed)
        .sort((a, b) => a.start_ms - b.start_ms)
  const finite = chosen.filter((s) => Number.isFinite(s.intensity_g_per_kwh))
  const now = chosen[0]?.start_ms === first ? chosen[0] : undefined
  return {
    slots: chosen,
    run_now: now !== undefined && needed > 0,
    zone_now: now?.zone,
    mean_intensity_g_per_kwh:
      finite.length === 0
        ? Number.NaN
        : finite.reduce((s, p) => s + p.intensity_g_per_kwh, 0) / finite.length,
    forced: forced && needed > 0,
  }
}
