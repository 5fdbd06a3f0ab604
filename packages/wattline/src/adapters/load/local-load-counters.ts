/**
 * @module adapters/load/local-load-counters
 * `LoadCounters` in process memory: one process's counts, shared by every gateway created in it
 * over the same instance (in-process tests of several replicas, embedded use). Slots never expire,
 * since the holder and the store live and die together; every answer is immediate and exact. A
 * lone `wattline serve` without `cluster:` needs no port at all: it keeps its synchronous per-backend
 * count (the same semantics, with no promise per request).
 */
import {
  WattlineError,
  type AcquireOutcome,
  type LoadCounters,
  type LoadLease,
} from '@wattline/core'

/** Creates empty in-memory counters. */
export function createLocalLoadCounters(): LoadCounters {
  // Backend id → ids of the leases held on it.
  const held = new Map<string, Set<string>>()
  let sequence = 0
  let closed = false
  const heldOn = (backend: string): Set<string> => {
    let s = held.get(backend)
    if (s === undefined) {
      s = new Set()
      held.set(backend, s)
    }
    return s
  }
  const check = (): void => {
    if (closed) throw new WattlineError('WL_CLUSTER_UNAVAILABLE', 'load counters are closed')
  }
  return {
    async acquire(backend, limit): Promise<AcquireOutcome> {
      check()
      const s = heldOn(backend)
      if (s.size >= limit) return { kind: 'full', inflight: s.size }
      const lease: LoadLease = { backend, id: `local:${++sequence}` }
      s.add(lease.id)
      return { kind: 'acquired', lease, inflight: s.size }
    },
    async release(lease) {
      check()
      const s = heldOn(lease.backend)
      s.delete(lease.id)
      return s.size
    },
    async inflight(backends) {
      check()
      return new Map(backends.map((b) => [b, held.get(b)?.size ?? 0]))
    },
    async close() {
      closed = true
      held.clear()
    },
  }
}
