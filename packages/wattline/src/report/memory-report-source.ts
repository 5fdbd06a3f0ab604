/**
 * @module report/memory-report-source
 * A {@link ReportSource} over arrays: for tests, and for building a report from records already in
 * memory (a replay). Applies exactly the range semantics the ledger adapter applies.
 */
import type {
  BudgetView,
  ChainHeadView,
  GateDecisionView,
  HardwareView,
  IdleEnergyRecord,
  IntensityRecord,
  PowerSampleRecord,
  ReportSource,
  ReportTimeRange,
  RequestRecord,
  TrainingRunView,
} from '@wattline/core'

/** The rows an in-memory source serves; every field defaults to empty. */
export interface MemoryReportData {
  readonly requests?: readonly RequestRecord[]
  readonly idle?: readonly IdleEnergyRecord[]
  readonly power?: readonly PowerSampleRecord[]
  readonly intensities?: readonly IntensityRecord[]
  readonly budgets?: readonly BudgetView[]
  readonly gateDecisions?: readonly GateDecisionView[]
  readonly trainingRuns?: readonly TrainingRunView[]
  readonly hardware?: readonly HardwareView[]
  readonly chainHead?: ChainHeadView
}

const inRange = (at: number, r: ReportTimeRange): boolean => at >= r.fromMs && at < r.toMs

async function* yieldAll<T>(rows: readonly T[]): AsyncIterable<T> {
  for (const row of rows) {
    await Promise.resolve()
    yield row
  }
}

/** Builds a report source over `data`. Rows are served sorted by time, as the ledger serves them. */
export function createMemoryReportSource(data: MemoryReportData): ReportSource {
  const byAt = <T extends { at_ms: number }>(rows: readonly T[] = []): T[] =>
    [...rows].sort((a, b) => a.at_ms - b.at_ms)
  const requests = byAt(data.requests)
  const power = byAt(data.power)
  const intensities = byAt(data.intensities)
  const idle = [...(data.idle ?? [])].sort((a, b) => a.from_ms - b.from_ms)
  return {
    requests: (r) => yieldAll(requests.filter((x) => inRange(x.at_ms, r))),
    idleEnergy: (r) => yieldAll(idle.filter((x) => x.from_ms < r.toMs && x.to_ms > r.fromMs)),
    powerSamples: (r) => yieldAll(power.filter((x) => inRange(x.at_ms, r))),
    intensities: (r) => yieldAll(intensities.filter((x) => inRange(x.at_ms, r))),
    budgets: () => Promise.resolve(data.budgets ?? []),
    gateDecisions: (r) =>
      Promise.resolve((data.gateDecisions ?? []).filter((g) => inRange(g.at_ms, r))),
    trainingRuns: () => Promise.resolve(data.trainingRuns ?? []),
    hardware: () => Promise.resolve(data.hardware ?? []),
    chainHead: () =>
      Promise.resolve(
        data.chainHead ?? { hash: null, height: 0, sealed_at_ms: null, algorithm: 'sha256' },
      ),
  }
}
