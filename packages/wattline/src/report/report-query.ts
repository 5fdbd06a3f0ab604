/**
 * @module report/report-query
 * What a report covers (period and scope) and the values its builder must not invent.
 */
import type { IdleAllocationRule } from '@wattline/core'

/** What to report on. */
export interface ReportQuery {
  /** Start of the period, epoch ms (inclusive). */
  readonly fromMs: number
  /** End of the period, epoch ms (exclusive). */
  readonly toMs: number
  /** One service, or null for every service in the ledger. */
  readonly service: string | null
}

/** Values the builder must not invent: the time of generation and the generator's name. */
export interface ReportOptions {
  /** When the report is generated, epoch ms (a report is a pure function of ledger and options). */
  readonly generatedAtMs: number
  readonly generator?: string
  /** Days of history before the period the anomaly detector compares against (default 14). */
  readonly anomalyHistoryDays?: number
  /**
   * Hours of a service with fewer successful requests are neither judged nor learnt from (a mean of a
   * handful of requests is noise). Default: core's `DEFAULT_MIN_REQUESTS_PER_BUCKET` (10).
   */
  readonly anomalyMinRequestsPerHour?: number
  /** How shared-pool idle energy is allocated to tenants (default `proportional`). */
  readonly idleAllocation?: IdleAllocationRule
}
