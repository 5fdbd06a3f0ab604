/**
 * @module ports/load-counters
 * Requests in flight per backend, counted across every gateway replica, so that a backend's
 * `max_concurrency` holds for the whole fleet and not once per replica. A slot is taken with an
 * atomic check-and-increment (`acquire`) and given back with `release`; a slot is a lease, so the
 * slots of a replica that crashed expire instead of leaking. The local in-memory adapter (one
 * replica, the default) and the Redis adapter (many replicas) both pass `load-counters.contract.ts`.
 */

/** A slot held on one backend, to give back with {@link LoadCounters.release}. */
export interface LoadLease {
  /** The backend id the slot is on. */
  readonly backend: string
  /** Unique among every replica's leases (replica id + sequence in the Redis adapter). */
  readonly id: string
}

/** The answer to an acquire: a lease, or the backend is at its limit. */
export type AcquireOutcome =
  | {
      readonly kind: 'acquired'
      readonly lease: LoadLease
      /** Requests in flight on the backend across replicas, this one included (count). */
      readonly inflight: number
    }
  | {
      readonly kind: 'full'
      /** Requests in flight on the backend across replicas (count, ≥ the limit asked). */
      readonly inflight: number
    }

/**
 * The shared load counters as a port. Every method may reject with `WL_CLUSTER_UNAVAILABLE` when
 * the shared store cannot be reached (or after `close`); callers degrade to local counting.
 */
export interface LoadCounters {
  /**
   * Takes a slot on `backend` when fewer than `limit` (count) requests are in flight on it across
   * replicas: one atomic check-and-increment, so concurrent callers never overshoot the limit.
   */
  acquire(backend: string, limit: number): Promise<AcquireOutcome>
  /**
   * Gives a slot back; resolves to the backend's in-flight count after it (count). Releasing a
   * lease twice, or one that already expired, frees nothing more.
   */
  release(lease: LoadLease): Promise<number>
  /** Requests in flight per backend across replicas (count; 0 for a backend nobody holds). */
  inflight(backends: readonly string[]): Promise<ReadonlyMap<string, number>>
  /** Stops renewing this replica's leases and closes the connection; later calls reject. */
  close(): Promise<void>
}
