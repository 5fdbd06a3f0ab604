/**
 * @module gateway/levers
 * The accounting's source of the prefix-affinity and occupancy-shaping savings
 * (`http/live-levers.ts`; the router applied the levers when admission asked it, and admission put
 * what they did on the exchange as `ex.levers`): for an answered request, records its prompt
 * blocks in its backend's prefix table, then estimates what each lever saved and counts it in the
 * savings metrics. Left out of the accounting when no service enables a routing lever.
 */
import type { Registry } from 'prom-client'
import type { LiveLevers } from '../http/live-levers.ts'
import { savingsCounters } from '../http/metrics.ts'
import type { SavingsSource } from './pipeline.ts'

export function createLeverSavings(
  levers: LiveLevers,
  registry: Registry,
): SavingsSource | undefined {
  if (levers.routing.length === 0) return undefined
  const saved = savingsCounters(registry)
  return {
    savings(ex, a, end, _occupancy, out): void {
      const note = ex.levers
      if (note === undefined || !end.completed || end.status >= 400) return
      levers.served(note)
      for (const saving of levers.savings(note, {
        model: ex.model,
        inputTokens: end.inputTokens,
        outputTokens: end.outputTokens,
        pue: ex.backend.config.pue,
        intensityGPerKwh: a.intensity.intensity,
      })) {
        out.push(saving)
        saved.energy.inc({ lever: saving.lever, service: ex.service }, saving.energy_saved_j)
        saved.carbon.inc({ lever: saving.lever, service: ex.service }, saving.carbon_saved_g)
      }
    },
  }
}
