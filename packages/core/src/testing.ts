/**
 * @wattline/core/testing — contract suites and builders for adapters' tests (imports vitest).
 * Each area keeps its own block.
 */

// ledger (issue 4)
export { testLedgerStore, sampleRecords } from './ports/ledger-store.contract.ts'
export { requestRecord } from './ledger/test-records.ts'

// shared load counters (scale-out)
export { testLoadCounters, type LoadCountersFixture } from './ports/load-counters.contract.ts'

// carbon intensity sources (every kind, through openCarbonSource too)
export {
  testCarbonIntensitySource,
  type CarbonSourceFixture,
  type CarbonSourceScenarios,
} from './ports/carbon-intensity-source.contract.ts'

// upstreams (the gateway's model servers)
export {
  testUpstream,
  type EchoedRequest,
  type UpstreamFixture,
  type UpstreamScenarios,
} from './ports/upstream.contract.ts'

// dashboard reads (the ledger reader behind /api/)
export {
  dashboardContractRecords,
  testDashboardLedgerReader,
  type DashboardLedgerReaderFixture,
} from './ports/dashboard-reads.contract.ts'

// report sources (what the report builder reads)
export {
  reportContractData,
  testReportSource,
  type ReportSourceContractOptions,
  type ReportSourceData,
  type ReportSourceFixture,
} from './ports/report-source.contract.ts'

// response cache stores
export { cacheEntry, testCacheStore } from './ports/cache-store.contract.ts'
