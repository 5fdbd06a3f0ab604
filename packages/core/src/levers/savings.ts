/**
 * @module levers/savings
 * The energy a lever saved on one request or a run, with its interval and its basis. Savings are
 * counterfactual by nature (the work that did not happen is never metered), so the basis is always
 * stated: `estimated-counterfactual` (the estimator's figure for the avoided work) or
 * `replay-counterfactual` (the same trace replayed without the lever, measured in the simulator).
 */
import { LEVER_NAMES, type LeverName } from '../engine/router.ts'
import { WattlineError } from '../errors.ts'
import { canonicalJson, type JsonValue } from '../ledger/canonical-json.ts'
import { carbonOfItEnergy } from '../accounting/carbon.ts'

export const SAVING_BASES = ['estimated-counterfactual', 'replay-counterfactual'] as const
export type SavingBasis = (typeof SAVING_BASES)[number]

export interface LeverEnergySaving {
  readonly lever: LeverName
  /** IT energy saved, J (before PUE). */
  readonly energy_saved_j: number
  readonly energy_saved_low_j: number
  readonly energy_saved_high_j: number
  /** Facility energy saved × intensity, gCO2e. */
  readonly carbon_saved_g: number
  readonly basis: SavingBasis
}

const KEYS = [
  'energy_saved_j',
  'energy_saved_low_j',
  'energy_saved_high_j',
  'carbon_saved_g',
] as const satisfies readonly (keyof LeverEnergySaving)[]

/**
 * The ledger's `levers` text of a request: canonical JSON of its savings, one entry per lever in
 * `LEVER_NAMES` order (several savings of one lever add up); undefined when no lever acted.
 */
export function encodeLeverSavings(savings: readonly LeverEnergySaving[]): string | undefined {
  if (savings.length === 0) return undefined
  const merged = mergeByLever(savings)
  return canonicalJson(merged as unknown as JsonValue)
}

/** Savings of several requests (or one request's several entries), added per lever and basis. */
export function mergeByLever(savings: Iterable<LeverEnergySaving>): LeverEnergySaving[] {
  const byKey = new Map<string, Record<string, number | string>>()
  for (const s of savings) {
    const key = `${s.lever}\u0000${s.basis}`
    const row = byKey.get(key) ?? {
      lever: s.lever,
      basis: s.basis,
      energy_saved_j: 0,
      energy_saved_low_j: 0,
      energy_saved_high_j: 0,
      carbon_saved_g: 0,
    }
    for (const k of KEYS) row[k] = (row[k] as number) + s[k]
    byKey.set(key, row)
  }
  const order = (s: LeverEnergySaving): number => LEVER_NAMES.indexOf(s.lever)
  return ([...byKey.values()] as unknown as LeverEnergySaving[]).sort(
    (a, b) => order(a) - order(b) || (a.basis < b.basis ? -1 : a.basis > b.basis ? 1 : 0),
  )
}

/**
 * Parses a ledger `levers` text back into savings. Throws `WL_INVALID_INPUT` naming what is wrong
 * (the text is hash-chained, so a bad one is a corrupted or foreign ledger, never silently skipped).
 */
export function decodeLeverSavings(text: string): LeverEnergySaving[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `ledger levers field is not JSON: ${text.slice(0, 80)}`,
    )
  }
  if (!Array.isArray(parsed)) {
    throw new WattlineError('WL_INVALID_INPUT', 'ledger levers field is not a list')
  }
  return parsed.map((entry: unknown, i) => {
    const e = entry as Record<string, unknown>
    if (
      typeof e !== 'object' ||
      e === null ||
      !(LEVER_NAMES as readonly unknown[]).includes(e['lever']) ||
      !(SAVING_BASES as readonly unknown[]).includes(e['basis']) ||
      KEYS.some((k) => typeof e[k] !== 'number' || !Number.isFinite(e[k]))
    ) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `ledger levers entry ${i} is malformed: ${JSON.stringify(entry).slice(0, 120)}`,
      )
    }
    return e as unknown as LeverEnergySaving
  })
}

/** An energy figure with its interval, J. */
export interface EnergyInterval {
  readonly value: number
  readonly low: number
  readonly high: number
}

/**
 * A lever's saving on one request, basis `estimated-counterfactual`: the energy the request would
 * have been charged without the lever (`counterfactual`) minus what it was charged (`actual`),
 * floored at 0; the interval pairs the ends (counterfactual.low − actual.high, counterfactual.high −
 * actual.low, each floored at 0); carbon = saved IT energy × PUE × the intensity it was charged at.
 */
export function counterfactualSaving(
  lever: LeverName,
  input: {
    readonly counterfactual: EnergyInterval
    readonly actual: EnergyInterval
    readonly pue: number
    readonly intensityGPerKwh: number
  },
): LeverEnergySaving {
  const { counterfactual: cf, actual } = input
  const saved = Math.max(0, cf.value - actual.value)
  return {
    lever,
    energy_saved_j: saved,
    energy_saved_low_j: Math.max(0, cf.low - actual.high),
    energy_saved_high_j: Math.max(0, cf.high - actual.low),
    carbon_saved_g: carbonOfItEnergy(saved, input.pue, input.intensityGPerKwh),
    basis: 'estimated-counterfactual',
  }
}
