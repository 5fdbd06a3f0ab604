/**
 * The accounting leader on one real Redis: of two replicas exactly one writes the backend-wide
 * records; when it closes (gives the lease up) or stops renewing, the other takes over. Skipped
 * with a notice when REDIS_URL is unset (CI sets it).
 */
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config/parse-config.ts'
import { TEST_CATALOG } from '../http/harness.test-support.ts'
import { startAccountingLeader } from './accounting-leader.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('accounting-leader: REDIS_URL unset, skipped')

function clusterConfig(prefix: string) {
  const parsed = parseConfig(
    {
      cluster: { redis_url_env: 'WL_LEADER_REDIS', key_prefix: prefix, sync_interval_ms: 100 },
      services: [{ name: 'chat', default: true }],
      backends: [
        {
          id: 'paris',
          url: 'http://127.0.0.1:1/v1',
          zone: 'FR',
          hardware: 'H100-SXM',
          models: ['llama-3.1-8b-instruct'],
        },
      ],
    },
    { catalog: TEST_CATALOG, env: { WL_LEADER_REDIS: REDIS_URL ?? '' } },
  )
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  return parsed.value
}

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
    const parsed = parseConfig(
      {
        services: [{ name: 'chat', default: true }],
        backends: [
          {
            id: 'paris',
            url: 'http://127.0.0.1:1/v1',
            zone: 'FR',
            hardware: 'H100-SXM',
            models: ['llama-3.1-8b-instruct'],
          },
        ],
      },
      { catalog: TEST_CATALOG, env: {} },
    )
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
    expect(await startAccountingLeader(parsed.value, undefined, pino({ level: 'silent' }))).toBe(
      undefined,
    )
  })
})
