import { describe, expect, it } from 'vitest'
import { hasCode, instant, type Clock } from '@wattline/core'
import { openCarbonSource } from '../adapters/carbon/open-carbon-source.ts'
import { carbonConfigSchema } from './carbon.ts'

const clock: Clock = { now: () => instant(Date.UTC(2025, 0, 1)), setTimer: () => () => undefined }

describe('carbon config', () => {
  it('defaults to the average signal and the static table', () => {
    const c = carbonConfigSchema.parse(undefined)
    expect(c).toEqual({
      signal: 'average',
      sources: [{ type: 'static' }],
      cache_ttl_s: 300,
      stale_after_s: 3600,
    })
  })

  it('accepts every source type', () => {
    const c = carbonConfigSchema.parse({
      signal: 'average',
      sources: [
        { type: 'electricitymaps', api_key_env: 'EM_KEY', zone_map: { 'IT-NO': 'IT-NO' } },
        { type: 'uk-carbon-intensity', region_id: 13 },
        { type: 'carbon-aware-sdk', base_url: 'http://127.0.0.1:8080', signal: 'average' },
        { type: 'watttime', username_env: 'WT_USER', password_env: 'WT_PASS' },
        { type: 'electricitymaps-csv', path: 'grid/' },
        { type: 'csv', path: 'g.csv' },
        { type: 'json', path: 'g.json' },
        { type: 'static' },
      ],
    })
    expect(c.sources).toHaveLength(8)
  })

  it('names the field of a bad value and rejects a signal mismatch', () => {
    const bad = carbonConfigSchema.safeParse({
      sources: [{ type: 'electricitymaps', api_key_env: 'not a name' }],
    })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.path).toEqual(['sources', 0, 'api_key_env'])
    const mismatch = carbonConfigSchema.safeParse({
      signal: 'marginal',
      sources: [{ type: 'electricitymaps-csv', path: 'x' }],
    })
    expect(mismatch.error?.issues[0]?.message).toContain(
      'gives average intensity but carbon.signal is marginal',
    )
    expect(carbonConfigSchema.safeParse({ sources: [{ type: 'carbon-aware-sdk' }] }).success).toBe(
      false,
    )
    expect(carbonConfigSchema.safeParse({ cache_ttl: 5 }).success).toBe(false)
  })

  it('builds a chain that falls back to the static table when a file source is missing', async () => {
    const config = carbonConfigSchema.parse({ sources: [{ type: 'csv', path: 'missing.csv' }] })
    const warnings: string[] = []
    const source = openCarbonSource(config, {
      mode: 'live',
      clock,
      env: {},
      baseDir: '/nonexistent-dir',
      onWarning: (w) => warnings.push(w.message),
    })
    const p = await source.intensityAt('DE', instant(Date.UTC(2025, 0, 1)))
    expect(p).toMatchObject({ zone: 'DE', provenance: 'static', stale: true })
    expect(warnings.join('\n')).toContain('/nonexistent-dir/missing.csv')
    expect(source.name).toBe('cache(csv:/nonexistent-dir/missing.csv → static)')
  })

  it('reports an unset secret as WL_CONFIG_INVALID naming the variable', () => {
    const config = carbonConfigSchema.parse({
      sources: [{ type: 'electricitymaps', api_key_env: 'EM_KEY' }],
    })
    let error: unknown
    try {
      openCarbonSource(config, { mode: 'live', clock, env: {}, baseDir: '.' })
    } catch (e) {
      error = e
    }
    expect(hasCode(error, 'WL_CONFIG_INVALID')).toBe(true)
    expect((error as Error).message).toContain('EM_KEY')
  })
})
