import type { LoadLease } from '@wattline/core'
import { describe, expect, it } from 'vitest'
import type { ClusterAcquire, ClusterLoad } from '../http/cluster-load.ts'
import { clockAt, exchange, finishInput, runtimes, testConfig } from './exchange.test-support.ts'
import { createLease, type LeaseDeps } from './lease.ts'
import { SLOT_TAKEN } from './pipeline.ts'

const END = finishInput()

function setup(cluster?: ClusterLoad) {
  const config = testConfig()
  const [rt] = runtimes(config)
  const clock = clockAt(1_000)
  const events: string[] = []
  const deps: LeaseDeps = {
    clock,
    ...(cluster === undefined ? {} : { cluster }),
    onInflight: (r) => void events.push(`inflight ${r.config.id}=${r.tracker.inflight}`),
    wake: () => void events.push('wake'),
  }
  const ex = exchange(config)
  ex.backend = rt!
  return { lease: createLease(deps), ex, rt: rt!, clock, events }
}

/** A cluster view answering from a script; records releases. */
function fakeCluster(
  answer: ClusterAcquire,
): ClusterLoad & { released: (LoadLease | undefined)[] } {
  const released: (LoadLease | undefined)[] = []
  return {
    released,
    up: true,
    inflight: (_b: string, local: number) => local,
    acquire: async () => answer,
    release: (l: LoadLease | undefined) => void released.push(l),
    sync: async () => true,
  } as unknown as ClusterLoad & { released: (LoadLease | undefined)[] }
}

describe('lease', () => {
  it('holds the backend slot during the attempt and gives it back with the energy at the end', async () => {
    const { lease, ex, rt, clock, events } = setup()
    await lease.dispatch!(ex, async () => {
      expect(rt.tracker.inflight).toBe(1)
      clock.advanceBy(2_000)
    })
    expect(ex.startedMs).toBe(1_000)
    expect(rt.tracker.inflight).toBe(1) // still held while the response is relayed
    lease.finish!(ex, END)
    expect(rt.tracker.inflight).toBe(0)
    expect(ex.endedMs).toBe(3_000)
    expect(ex.energy?.energyJ).toBeGreaterThan(0)
    expect(events).toEqual(['inflight a=1', 'inflight a=0', 'wake'])
  })

  it('gives the slot back when the attempt fails, and attributes nothing', async () => {
    const lease = { id: 'l1' } as unknown as LoadLease
    const cluster = fakeCluster({ kind: 'acquired', lease })
    const { lease: ic, ex, rt, events } = setup(cluster)
    await expect(
      ic.dispatch!(ex, async () => {
        expect(ex.lease).toBe(lease)
        throw new Error('upstream gone')
      }),
    ).rejects.toThrow('upstream gone')
    expect(rt.tracker.inflight).toBe(0)
    expect(cluster.released).toEqual([lease])
    expect(ex.lease).toBeUndefined()
    expect(ex.energy).toBeUndefined()
    expect(events).toEqual(['inflight a=1', 'inflight a=0', 'wake'])
  })

  it('cluster full: sends the request back to admission without touching the backend', async () => {
    const { lease, ex, rt } = setup(fakeCluster({ kind: 'full' } as ClusterAcquire))
    let ran = false
    await expect(lease.dispatch!(ex, async () => void (ran = true))).rejects.toBe(SLOT_TAKEN)
    expect(ran).toBe(false)
    expect(rt.tracker.inflight).toBe(0)
  })

  it('releases a slot acquired for a request the client abandoned meanwhile', async () => {
    const l = { id: 'l2' } as unknown as LoadLease
    const cluster = fakeCluster({ kind: 'acquired', lease: l })
    const { lease, rt } = setup(cluster)
    const ac = new AbortController()
    const ex = exchange(testConfig(), { signal: ac.signal })
    ex.backend = rt
    ac.abort(new Error('client gone'))
    await expect(lease.dispatch!(ex, async () => {})).rejects.toThrow('client gone')
    expect(cluster.released).toEqual([l])
    expect(rt.tracker.inflight).toBe(0)
  })
})
