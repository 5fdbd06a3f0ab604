/**
 * @module accounting/lever-savings-rollup
 * The savings the ledger's `levers` field records, added up over requests: per lever and basis (the
 * report's rows), and per lever with how many requests it acted on and the carbon those requests
 * used (the dashboard's "baseline" = used + saved). Savings are IT energy before PUE and carbon at
 * the intensity the work would have run at; all are estimated counterfactuals.
 */
import { LEVER_NAMES, type LeverName } from '../engine/router.ts'
import type { RequestRecord } from '../ledger/records.ts'
import { decodeLeverSavings, mergeByLever, type LeverEnergySaving } from '../levers/savings.ts'

/** One lever's totals over the requests added. */
export interface LeverTotals {
  readonly lever: LeverName
  /** IT energy saved, J, and carbon saved, g (every basis). */
  readonly energySavedJ: number
  readonly carbonSavedG: number
  /** Requests the lever acted on. */
  readonly requests: number
  /** Carbon those requests used, g. */
  readonly usedCarbonG: number
}

export class LeverSavingsRollup {
  /** Savings per `lever NUL basis`. */
  readonly #byKey = new Map<string, LeverEnergySaving>()
  readonly #byLever = new Map<LeverName, { j: number; g: number; n: number; usedG: number }>()
  /** IT energy of every request added, J (the base of "share of what it would have been"). */
  usedJ = 0

  /** Adds one request: its IT energy, and what its `levers` field records. */
  add(r: Pick<RequestRecord, 'levers' | 'energy_j' | 'carbon_g'>): void {
    this.usedJ += r.energy_j
    if (r.levers === undefined) return
    for (const e of decodeLeverSavings(r.levers)) {
      const key = `${e.lever}\u0000${e.basis}`
      const was = this.#byKey.get(key)
      this.#byKey.set(key, was === undefined ? e : (mergeByLever([was, e])[0] as LeverEnergySaving))
      const l = this.#byLever.get(e.lever) ?? { j: 0, g: 0, n: 0, usedG: 0 }
      l.j += e.energy_saved_j
      l.g += e.carbon_saved_g
      l.n += 1
      l.usedG += r.carbon_g
      this.#byLever.set(e.lever, l)
    }
  }

  /** Savings per lever and basis, in `LEVER_NAMES` order. */
  byLeverAndBasis(): LeverEnergySaving[] {
    return mergeByLever(this.#byKey.values())
  }

  /** Each lever that acted, in `LEVER_NAMES` order. */
  byLever(): LeverTotals[] {
    return LEVER_NAMES.flatMap((lever) => {
      const l = this.#byLever.get(lever)
      if (l === undefined) return []
      return [
        {
          lever,
          energySavedJ: l.j,
          carbonSavedG: l.g,
          requests: l.n,
          usedCarbonG: l.usedG,
        },
      ]
    })
  }

  /** Requests `lever` acted on. */
  requestsOf(lever: LeverName): number {
    return this.#byLever.get(lever)?.n ?? 0
  }
}
