/**
 * @module report/report-source
 * What the report builder reads from a ledger. The port is declared in core (`@wattline/core`,
 * `ports/report-source.ts`) and re-exported here so the report modules keep their imports.
 */
export { REPORT_REQUEST_FIELDS } from '@wattline/core'
export type {
  BudgetView,
  ChainHeadView,
  GateDecisionView,
  HardwareView,
  ReportRequest,
  ReportSource,
  ReportTimeRange as TimeRange,
  TrainingRunView,
} from '@wattline/core'
