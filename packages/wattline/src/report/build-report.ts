/**
 * @module report/build-report
 * Builds the transparency report for a period (and optionally one service) from a ledger, in three
 * steps: read (`read-ledger.ts`: the ledger's streams through the `ReportSource` port into core's
 * accounting roll-ups) → compute (`@wattline/core` accounting: facility energy, idle sharing,
 * embodied amortisation, SCI, roll-ups; `assemble-report.ts` writes the figures into the report's
 * JSON model) → render (`render-markdown.ts`, `render-html.ts`, `render-pdf.ts`). The figures follow
 * DESIGN.md's accounting rules; docs/reports.md explains each one with a worked example.
 */
import { WattlineError, type ReportSource } from '@wattline/core'
import { assembleReport } from './assemble-report.ts'
import { readReportFacts } from './read-ledger.ts'
import { iso } from './report-figures.ts'
import type { ReportOptions, ReportQuery } from './report-query.ts'
import type { Report } from './report-schema.ts'

export type { ReportOptions, ReportQuery } from './report-query.ts'

/**
 * Reads the ledger through `source` and returns the report for `query`.
 * Throws `WL_INVALID_INPUT` when the period is empty or reversed.
 *
 * @example
 * const report = await buildReport(source, { fromMs, toMs, service: 'support-chat' }, { generatedAtMs: Date.now() })
 * report.energy_per_1k_requests_wh?.value // Wh of facility energy per 1,000 requests
 */
export async function buildReport(
  source: ReportSource,
  query: ReportQuery,
  options: ReportOptions,
): Promise<Report> {
  const { fromMs, toMs } = query
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || !(toMs > fromMs)) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `report period must have from < to (got from=${iso(fromMs)}, to=${iso(toMs)})`,
      { details: { fromMs, toMs } },
    )
  }
  return assembleReport(await readReportFacts(source, query, options))
}
