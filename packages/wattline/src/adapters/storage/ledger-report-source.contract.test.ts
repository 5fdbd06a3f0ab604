/**
 * Every `ReportSource` against the port's contract: the ledger (SQLite, and PostgreSQL when PG_URL is
 * set; the data written as ledger records and sealed into blocks first) and the in-memory source.
 * The long stream holds more than two of the ledger source's pages.
 */
import { afterAll } from 'vitest'
import type { AuditRecord } from '@wattline/core'
import { testReportSource, type ReportSourceData } from '@wattline/core/testing'
import { createMemoryReportSource } from '../../report/memory-report-source.ts'
import { ledgerDialects } from './ledger-dialects.test-support.ts'
import { openLedgerReportSource, REPORT_PAGE_ROWS } from './ledger-report-source.ts'

const { dialects, cleanup } = ledgerDialects('report-source contract')
afterAll(cleanup)

/** The contract's data as the records a ledger holds (views are what the source reads back). */
function asLedgerRecords(data: ReportSourceData): AuditRecord[] {
  const at = data.requests[0]?.at_ms ?? 0
  return [
    ...data.requests,
    ...data.idle,
    ...data.power,
    ...data.intensities,
    ...data.budgets.map((b) => ({
      kind: 'budget' as const,
      at_ms: at,
      ...b,
      max_regression_pct: b.max_regression_pct ?? 0,
    })),
    ...data.gateDecisions.map((g, i) => ({
      kind: 'gate' as const,
      id: `gate-${i}`,
      at_ms: g.at_ms,
      service: g.service,
      release: g.release ?? '',
      passed: g.passed,
      metric: g.metric,
      value: g.value ?? 0,
      high: g.high ?? 0,
      target: g.target ?? 0,
      limit: g.target ?? 0,
      previous_release: null,
      previous_value: null,
      regression_pct: null,
      reasons: JSON.stringify([g.reason]),
      result_sha256: '0'.repeat(64),
    })),
    ...data.trainingRuns.map((t) => ({ kind: 'training_run' as const, ...t })),
    ...data.hardware.map(({ in_service_from_ms, ...h }) => ({
      kind: 'hardware' as const,
      at_ms: in_service_from_ms,
      ...h,
    })),
  ]
}

testReportSource('in-memory', (data) =>
  Promise.resolve({
    source: createMemoryReportSource({
      requests: data.requests,
      idle: data.idle,
      power: data.power,
      intensities: data.intensities,
      budgets: data.budgets,
      gateDecisions: data.gateDecisions,
      trainingRuns: data.trainingRuns,
      hardware: data.hardware,
    }),
  }),
)

for (const dialect of dialects)
  testReportSource(
    `ledger (${dialect.name})`,
    async (data) => {
      const { url, dir } = await dialect.seed(asLedgerRecords(data))
      return openLedgerReportSource(url, dir)
    },
    { manyRequests: 2 * REPORT_PAGE_ROWS + 7 },
  )
