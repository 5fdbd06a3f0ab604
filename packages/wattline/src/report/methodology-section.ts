/**
 * @module report/methodology-section
 * The report's methodology: how much energy was measured vs modelled and from which sources, the
 * intensity signals and sources behind the carbon figures, and notes in words.
 */
import type { ReportFacts } from './read-ledger.ts'
import { pct, round } from './report-figures.ts'
import type { Report } from './report-schema.ts'

/** The peak's basis, as the notes describe it. */
export type PeakBasis = 'power-samples' | 'per-minute-energy' | 'none'

/** The methodology section of the report for the facts read. */
export function methodologySection(f: ReportFacts, peakBasis: PeakBasis): Report['methodology'] {
  const acc = f.scope
  const R = acc.requests
  const measuredShare = pct(acc.measuredJ, acc.measuredJ + acc.modelledJ)
  const signalRows = (['average', 'marginal'] as const)
    .filter((s) => (acc.signalRequests.get(s) ?? 0) > 0)
    .map((s) => ({
      signal: s,
      requests: acc.signalRequests.get(s) ?? 0,
      share_pct: pct(acc.signalRequests.get(s) ?? 0, R),
    }))
  return {
    energy: {
      measured_share_pct: measuredShare,
      modelled_share_pct: acc.measuredJ + acc.modelledJ > 0 ? round(100 - measuredShare) : 0,
      measured_requests: acc.measuredRequests,
      modelled_requests: acc.modelledRequests,
      sources: [...acc.energySources].sort(),
      interval_basis:
        'low/high are sums of per-request bounds (worst case: bounds move together); idle energy and embodied M are taken as exact',
    },
    intensity: {
      accounting: 'location-based',
      signals: signalRows,
      sources: f.intensitySources
        .map((s) => ({
          source: s.source,
          signal: s.signal,
          zones: [...s.zones].sort(),
          values_recorded: s.n,
          forecast_values: s.f,
          stale_values: s.s,
        }))
        .sort((a, b) => a.source.localeCompare(b.source) || a.signal.localeCompare(b.signal)),
      stale_requests: acc.staleRequests,
    },
    notes: methodologyNotes(f, peakBasis, measuredShare),
  }
}

function methodologyNotes(f: ReportFacts, peakBasis: PeakBasis, measuredShare: number): string[] {
  const acc = f.scope
  const notes = [
    `${measuredShare.toFixed(1)} % of IT energy was measured by a power meter and ${(100 - measuredShare).toFixed(1)} % was modelled from energy profiles (${acc.measuredRequests} measured and ${acc.modelledRequests} modelled requests).`,
    'Facility energy is IT energy × the PUE of each backend’s site; idle energy of a backend is charged to the services that used it in proportion to their request energy.',
    'Carbon is location-based: facility energy × the grid intensity of the backend’s zone at the time (market-based instruments never reduce a figure).',
    'energy_per_1k_requests_wh includes PUE and idle overhead; budget actuals use IT energy of requests only, as the release gate measures it.',
  ]
  if (acc.staleRequests > 0)
    notes.push(
      `${acc.staleRequests} request${acc.staleRequests === 1 ? '' : 's'} used an intensity value that was stale or came from a fallback.`,
    )
  if ((acc.signalRequests.get('marginal') ?? 0) > 0)
    notes.push(
      'Some requests were accounted with a marginal intensity signal; SCI uses the value recorded with each request.',
    )
  if (peakBasis === 'per-minute-energy')
    notes.push(
      'No power samples were recorded in the period: peak power is the highest one-minute average of attributed energy (modelled).',
    )
  if (f.hardware.length === 0)
    notes.push(
      'No hardware inventory is recorded: M (embodied) is 0 and SCI understates the total.',
    )
  return notes
}
