/**
 * @module scaling/shared-scaling-load
 * The port through which the live scalers of several gateway replicas share what each observed
 * (the Redis adapter: adapters/load/redis-scaling-load.ts), and how one window's counts from
 * several replicas add up.
 */

/** One replica's load on one pool in one closed window. */
export interface WindowCounts {
  /** Requests finished in the window (count). */
  readonly arrivals: number
  readonly input_tokens_sum: number
  readonly output_tokens_sum: number
  /** 95th percentile of the window's prompt / output tokens (0 without requests). */
  readonly input_tokens_p95: number
  readonly output_tokens_p95: number
}

export interface SharedScalingLoad {
  readonly replicaId: string
  /** Publishes this replica's counts of a closed window (kept `ttlMs`). */
  publish(pool: string, windowStartMs: number, counts: WindowCounts, ttlMs: number): Promise<void>
  /** The counts every replica published for a window (this one's included). */
  read(pool: string, windowStartMs: number): Promise<WindowCounts[]>
  /** Takes or renews the leader lease for `ttlMs`; true while this replica leads. */
  lead(ttlMs: number): Promise<boolean>
  /** The leader's recommendation of a pool (JSON), kept `ttlMs`. */
  putDecision(pool: string, json: string, ttlMs: number): Promise<void>
  getDecision(pool: string): Promise<string | null>
  close(): Promise<void>
}

/** A window's counts from its request token lists. */
export function countWindow(inputs: readonly number[], outputs: readonly number[]): WindowCounts {
  return {
    arrivals: inputs.length,
    input_tokens_sum: inputs.reduce((a, b) => a + b, 0),
    output_tokens_sum: outputs.reduce((a, b) => a + b, 0),
    input_tokens_p95: p95(inputs),
    output_tokens_p95: p95(outputs),
  }
}

/**
 * Several replicas' counts of one window added up: arrivals and sums add; the p95 is the highest of
 * the replicas' p95 (an upper bound of the union's: if every part has 95 % of its values at or
 * below m, so has the union), exact with one replica.
 */
export function addWindows(parts: readonly WindowCounts[]): WindowCounts {
  let arrivals = 0
  let inSum = 0
  let outSum = 0
  let inP95 = 0
  let outP95 = 0
  for (const c of parts) {
    arrivals += c.arrivals
    inSum += c.input_tokens_sum
    outSum += c.output_tokens_sum
    if (c.arrivals > 0) {
      inP95 = Math.max(inP95, c.input_tokens_p95)
      outP95 = Math.max(outP95, c.output_tokens_p95)
    }
  }
  return {
    arrivals,
    input_tokens_sum: inSum,
    output_tokens_sum: outSum,
    input_tokens_p95: inP95,
    output_tokens_p95: outP95,
  }
}

function p95(xs: readonly number[]): number {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] as number
}
