/**
 * @module ports/load-counters.contract
 * The contract every `LoadCounters` adapter passes: the local in-memory one always, the Redis one
 * when REDIS_URL is set. A fixture stands for one shared store; `replica()` opens the counters of
 * one more gateway replica over it.
 */
import { afterEach, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import type { AcquireOutcome, LoadCounters, LoadLease } from './load-counters.ts'

/** One shared store for a contract run. */
export interface LoadCountersFixture {
  /** The counters of one more replica over the fixture's shared store. */
  replica(): Promise<LoadCounters>
  /**
   * Present when slots are leases that outlive a crashed holder (a store shared between
   * processes); the in-process store has no such case (its holder and its store die together).
   */
  readonly leases?: {
    /** The lease time the fixture's replicas use (ms). */
    readonly leaseMs: number
    /** Simulates a crash of `c`: it stops renewing its leases and never releases them. */
    crash(c: LoadCounters): Promise<void>
  }
  /** Closes what the fixture opened and removes its data. */
  close(): Promise<void>
}

const sleep = (msToWait: number): Promise<void> => new Promise((r) => setTimeout(r, msToWait))

function leaseOf(o: AcquireOutcome): LoadLease {
  if (o.kind !== 'acquired') throw new Error(`expected a slot, got ${JSON.stringify(o)}`)
  return o.lease
}

/** Registers the contract tests; `setup` makes a fresh, empty shared store per test. */
export function testLoadCounters(setup: () => Promise<LoadCountersFixture>): void {
  const open: LoadCountersFixture[] = []
  const fresh = async (): Promise<LoadCountersFixture> => {
    const f = await setup()
    open.push(f)
    return f
  }
  afterEach(async () => {
    for (const f of open.splice(0)) await f.close()
  })

  it('takes slots up to the limit, then answers full with the count', async () => {
    const c = await (await fresh()).replica()
    const got = [await c.acquire('a', 3), await c.acquire('a', 3), await c.acquire('a', 3)]
    expect(got.map((o) => [o.kind, o.inflight])).toEqual([
      ['acquired', 1],
      ['acquired', 2],
      ['acquired', 3],
    ])
    expect(await c.acquire('a', 3)).toEqual({ kind: 'full', inflight: 3 })
    expect((await c.inflight(['a'])).get('a')).toBe(3)
  })

  it('a release frees one slot and reports the count; releasing it again frees nothing', async () => {
    const c = await (await fresh()).replica()
    const first = leaseOf(await c.acquire('a', 2))
    leaseOf(await c.acquire('a', 2))
    expect(await c.release(first)).toBe(1)
    expect(await c.release(first)).toBe(1)
    expect((await c.inflight(['a'])).get('a')).toBe(1)
    const again = await c.acquire('a', 2)
    expect(again.kind).toBe('acquired')
    expect(again.inflight).toBe(2)
    expect((await c.acquire('a', 2)).kind).toBe('full')
  })

  it('counts each backend apart; unknown backends read 0', async () => {
    const c = await (await fresh()).replica()
    leaseOf(await c.acquire('a', 1))
    expect((await c.acquire('a', 1)).kind).toBe('full')
    expect(await c.acquire('b', 1)).toMatchObject({ kind: 'acquired', inflight: 1 })
    const all = await c.inflight(['a', 'b', 'never-used'])
    expect([...all.entries()]).toEqual([
      ['a', 1],
      ['b', 1],
      ['never-used', 0],
    ])
  })

  it('refuses when the count is already at or over a (lowered) limit, and for limit 0', async () => {
    const c = await (await fresh()).replica()
    for (let i = 0; i < 3; i++) leaseOf(await c.acquire('a', 5))
    expect(await c.acquire('a', 2)).toEqual({ kind: 'full', inflight: 3 })
    expect(await c.acquire('b', 0)).toEqual({ kind: 'full', inflight: 0 })
  })

  it('replicas share one count: what one holds, the other sees and cannot exceed', async () => {
    const f = await fresh()
    const [r1, r2] = [await f.replica(), await f.replica()]
    const held = [leaseOf(await r1.acquire('a', 4)), leaseOf(await r1.acquire('a', 4))]
    expect((await r2.inflight(['a'])).get('a')).toBe(2)
    expect(await r2.acquire('a', 4)).toMatchObject({ kind: 'acquired', inflight: 3 })
    expect(await r2.acquire('a', 4)).toMatchObject({ kind: 'acquired', inflight: 4 })
    expect(await r2.acquire('a', 4)).toEqual({ kind: 'full', inflight: 4 })
    expect(await r2.release(held[0]!)).toBe(3)
    expect((await r1.inflight(['a'])).get('a')).toBe(3)
    expect(held[0]!.id).not.toBe(held[1]!.id)
  })

  it('concurrent acquires from two replicas never overshoot the limit', async () => {
    const f = await fresh()
    const replicas = [await f.replica(), await f.replica()]
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) => replicas[i % 2]!.acquire('a', 7)),
    )
    const acquired = outcomes.filter((o) => o.kind === 'acquired')
    expect(acquired).toHaveLength(7)
    expect(new Set(acquired.map((o) => leaseOf(o).id)).size).toBe(7)
    expect(outcomes.filter((o) => o.kind === 'full').every((o) => o.inflight === 7)).toBe(true)
    expect((await replicas[0]!.inflight(['a'])).get('a')).toBe(7)
    // Releasing them all concurrently brings the count back to exactly 0.
    await Promise.all(acquired.map((o, i) => replicas[i % 2]!.release(leaseOf(o))))
    expect((await replicas[1]!.inflight(['a'])).get('a')).toBe(0)
  })

  it('after close, calls reject with WL_CLUSTER_UNAVAILABLE', async () => {
    const c = await (await fresh()).replica()
    const lease = leaseOf(await c.acquire('a', 1))
    await c.close()
    const errors = await Promise.all([
      c.acquire('a', 1).catch((e: unknown) => e),
      c.release(lease).catch((e: unknown) => e),
      c.inflight(['a']).catch((e: unknown) => e),
    ])
    for (const e of errors) expect(hasCode(e, 'WL_CLUSTER_UNAVAILABLE')).toBe(true)
  })

  it("frees a crashed replica's slots once its leases expire (where leases apply)", async (ctx) => {
    const f = await fresh()
    if (f.leases === undefined) {
      ctx.skip()
      return
    }
    const [doomed, survivor] = [await f.replica(), await f.replica()]
    leaseOf(await doomed.acquire('a', 2))
    leaseOf(await doomed.acquire('a', 2))
    await f.leases.crash(doomed)
    expect(await survivor.acquire('a', 2)).toEqual({ kind: 'full', inflight: 2 })
    await sleep(f.leases.leaseMs * 1.5 + 50)
    expect((await survivor.inflight(['a'])).get('a')).toBe(0)
    expect(await survivor.acquire('a', 2)).toMatchObject({ kind: 'acquired', inflight: 1 })
  })

  it('a live replica keeps its slots past the lease time (it renews them)', async (ctx) => {
    const f = await fresh()
    if (f.leases === undefined) {
      ctx.skip()
      return
    }
    const [holder, other] = [await f.replica(), await f.replica()]
    const lease = leaseOf(await holder.acquire('a', 1))
    await sleep(f.leases.leaseMs * 2.5)
    expect(await other.acquire('a', 1)).toEqual({ kind: 'full', inflight: 1 })
    expect(await holder.release(lease)).toBe(0)
    expect((await other.acquire('a', 1)).kind).toBe('acquired')
  })
}
