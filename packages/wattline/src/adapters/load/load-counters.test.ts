import { randomUUID } from 'node:crypto'
import { hasCode, type LoadCounters } from '@wattline/core'
import { testLoadCounters } from '@wattline/core/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createLocalLoadCounters } from './local-load-counters.ts'
import { openRedisLoadCounters, type RedisLoadCounters } from './redis-load-counters.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined)
  console.warn('REDIS_URL is not set: skipping the Redis load counters contract tests')

describe('local load counters', () => {
  testLoadCounters(async () => {
    const c = createLocalLoadCounters()
    return { replica: async () => c, close: () => c.close() }
  })
})

describe.skipIf(REDIS_URL === undefined)('redis load counters', () => {
  const LEASE_MS = 300
  testLoadCounters(async () => {
    const prefix = `wl-test-${randomUUID()}`
    const opened: LoadCounters[] = []
    return {
      replica: async () => {
        const c = await openRedisLoadCounters({
          url: REDIS_URL!,
          keyPrefix: prefix,
          leaseMs: LEASE_MS,
          heartbeatMs: 60,
          commandTimeoutMs: 1000,
        })
        opened.push(c)
        return c
      },
      // A crash: the replica stops renewing and never releases (close releases nothing either).
      leases: { leaseMs: LEASE_MS, crash: (c) => c.close() },
      close: async () => {
        for (const c of opened) await c.close()
        await dropKeys(prefix)
      },
    }
  })

  it('keys live no longer than their longest lease', async () => {
    const prefix = `wl-test-${randomUUID()}`
    const c = await openRedisLoadCounters({
      url: REDIS_URL!,
      keyPrefix: prefix,
      leaseMs: 5000,
      heartbeatMs: 1000,
      commandTimeoutMs: 1000,
    })
    const admin = new Redis(REDIS_URL!)
    try {
      await c.acquire('a', 1)
      const ttl = await admin.pttl(`${prefix}:load:a`)
      expect(ttl).toBeGreaterThan(4000)
      expect(ttl).toBeLessThanOrEqual(5000)
    } finally {
      await c.close()
      await dropKeys(prefix)
      admin.disconnect()
    }
  })

  it('an unreachable Redis fails fast with WL_CLUSTER_UNAVAILABLE', async () => {
    const errors: unknown[] = []
    const started = performance.now()
    // Port 1 on loopback: nothing listens there, the connection is refused.
    const c: RedisLoadCounters = await openRedisLoadCounters({
      url: 'redis://127.0.0.1:1',
      keyPrefix: 'unused',
      leaseMs: 1000,
      heartbeatMs: 100,
      commandTimeoutMs: 200,
      onError: (e) => errors.push(e),
    })
    try {
      const e = await c.acquire('a', 1).catch((err: unknown) => err)
      expect(hasCode(e, 'WL_CLUSTER_UNAVAILABLE')).toBe(true)
      expect(performance.now() - started).toBeLessThan(1000)
      expect(errors.length).toBeGreaterThan(0)
      expect(c.held()).toBe(0)
    } finally {
      await c.close()
    }
  })
})

async function dropKeys(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL!)
  try {
    const keys = await admin.keys(`${prefix}:*`)
    if (keys.length > 0) await admin.del(...keys)
  } finally {
    admin.disconnect()
  }
}
