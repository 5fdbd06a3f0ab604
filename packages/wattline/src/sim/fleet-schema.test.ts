import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fleetJsonSchema, fleetSchema } from './fleet-schema.ts'

describe('fleet schema', () => {
  it('matches the published fleet.schema.json (regenerate: node --import tsx packages/wattline/scripts/write-fleet-schema.ts)', () => {
    const path = fileURLToPath(new URL('../../../../fleet.schema.json', import.meta.url))
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(fleetJsonSchema())
  })

  it('fills defaults and refuses a backend with both or neither of zone and region', () => {
    const base = {
      services: [{ name: 's', model: 'm' }],
      clients: [{ region: 'c', share: 1 }],
    }
    const ok = fleetSchema.parse({
      ...base,
      backends: [{ id: 'a', zone: 'DE', hardware: 'H100-SXM', model: 'm' }],
    })
    expect(ok.backends[0]).toMatchObject({ replicas: 1, max_concurrency: 32, pue: 1.2 })
    expect(ok.latency).toEqual({ symmetric: true, same_location_ms: 1 })
    for (const b of [{}, { zone: 'DE', region: 'aws:eu-central-1' }]) {
      const r = fleetSchema.safeParse({
        ...base,
        backends: [{ id: 'a', hardware: 'H100-SXM', model: 'm', ...b }],
      })
      expect(r.success).toBe(false)
    }
  })

  it('rejects unknown fields (typos are caught, not ignored)', () => {
    const r = fleetSchema.safeParse({
      services: [{ name: 's', model: 'm' }],
      clients: [{ region: 'c', share: 1 }],
      backends: [{ id: 'a', zone: 'DE', hardware: 'H100-SXM', model: 'm', max_concurency: 8 }],
    })
    expect(r.success).toBe(false)
  })
})
