/**
 * @module http/api/memory-ledger-reader
 * A `DashboardLedgerReader` over records held in memory: for tests, the replay simulator's report and
 * small demos. Records are indexed by time once, so each window read is a binary search and a slice
 * (idle intervals: those starting before the window's end, kept when they end after its start).
 */
import type {
  DashboardLedgerReader,
  IdleEnergyRecord,
  LedgerRecord,
  PowerSampleRecord,
  RequestRecord,
  TimeWindow,
} from '@wattline/core'

/** Builds a reader over `records` (any order; they are copied and sorted by time). */
export function createMemoryLedgerReader(records: readonly LedgerRecord[]): DashboardLedgerReader {
  const requests = sortBy(
    records.filter((r): r is RequestRecord => r.kind === 'request'),
    (r) => r.at_ms,
  )
  const idle = sortBy(
    records.filter((r): r is IdleEnergyRecord => r.kind === 'idle'),
    (r) => r.from_ms,
  )
  const power = sortBy(
    records.filter((r): r is PowerSampleRecord => r.kind === 'power'),
    (r) => r.at_ms,
  )
  return {
    requests: (w) => Promise.resolve(slice(requests, w, (r) => r.at_ms)),
    // Intervals that overlap the window (start before its end, end after its start), whole.
    idleEnergy: (w) =>
      Promise.resolve(
        idle
          .slice(
            0,
            lowerBound(idle, w.to_ms, (r) => r.from_ms),
          )
          .filter((r) => r.to_ms > w.from_ms),
      ),
    powerSamples: (w) => Promise.resolve(slice(power, w, (r) => r.at_ms)),
  }
}

function sortBy<T>(rows: T[], key: (row: T) => number): T[] {
  return rows.sort((a, b) => key(a) - key(b))
}

function slice<T>(rows: readonly T[], w: TimeWindow, key: (row: T) => number): T[] {
  return rows.slice(lowerBound(rows, w.from_ms, key), lowerBound(rows, w.to_ms, key))
}

function lowerBound<T>(rows: readonly T[], t: number, key: (row: T) => number): number {
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (key(rows[mid] as T) < t) lo = mid + 1
    else hi = mid
  }
  return lo
}
