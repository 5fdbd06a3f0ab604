/**
 * @module http/api/ports
 * The dashboard API's read-only ports, declared in core (`@wattline/core`, `ports/dashboard-reads.ts`)
 * and re-exported here so the API modules keep importing them from beside themselves.
 */
export type {
  BudgetStatusSource,
  DashboardLedgerReader,
  DashboardLiveState,
  LiveBackend,
  LiveDecision,
  SavingsSource,
  TimeWindow,
} from '@wattline/core'
