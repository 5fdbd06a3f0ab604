/**
 * The accounting leader on one real Redis: of two replicas exactly one writes the backend-wide
 * records; when it closes (gives the lease up) or stops renewing, the other takes over. Skipped
 * with a notice when REDIS_URL is unset (CI sets it).
 */
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { startAccountingLeader } from './accounting-leader.ts'
import { parisConfig } from './paris-config.test-support.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('accounting-leader: REDIS_URL unset, skipped')

const clusterConfig = (prefix: string) =>
  parisConfig(
    ['llama-3.1-8b-instruct'],
    { cluster: { redis_url_env: 'WL_LEADER_REDIS', key_prefix: prefix, sync_interval_ms: 100 } },
    { WL_LEADER_REDIS: REDIS_URL ?? '' },
  )

describe.skipIf(REDIS_URL === undefined)('accounting leader (cluster mode, real Redis)', () => {
  it('one of two replicas leads; the other takes over when it gives the lease up', async () => {
    const config = clusterConfig(`wl-test-${randomUUID()}`)
    const logger = pino({ level: 'silent' })
    const a = (await startAccountingLeader(config, undefined, logger))!
    const b = (await startAccountingLeader(config, undefined, logger))!
    try {
      expect(a.leads()).toBe(true)
      expect(b.leads()).toBe(false)
      await a.close()
      // b renews every sync_interval_ms (100 ms): it takes the free lease at its next renewal
      await expect.poll(() => b.leads(), { timeout: 5000, interval: 50 }).toBe(true)
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe('accounting leader without a cluster section', () => {
  it('is absent without a cluster section', async () => {
    const config = parisConfig(['llama-3.1-8b-instruct'])
    expect(await startAccountingLeader(config, undefined, pino({ level: 'silent' }))).toBe(
      undefined,
    )
  })
})
