import { describe, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import { BUILTIN_INTENSITY } from './data/builtin-intensity.ts'
import { cloudRegions, regionsInZone, resolveRegion } from './regions.ts'

function errorOf(f: () => unknown): {
  code: string
  message: string
  details: Record<string, unknown>
} {
  try {
    f()
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> }
  }
  throw new Error('expected a throw')
}

describe('resolveRegion', () => {
  it('maps provider-qualified regions to zones (case-insensitive)', () => {
    expect(resolveRegion('aws:eu-central-1')).toEqual({
      provider: 'aws',
      region: 'eu-central-1',
      zone: 'DE',
      source: 'ccf',
    })
    expect(resolveRegion('GCP:europe-west4').zone).toBe('NL')
    expect(resolveRegion('azure:WestEurope').zone).toBe('NL')
    expect(resolveRegion('azure:EastUS').zone).toBe('US-MIDA-PJM')
    expect(resolveRegion('aws/us-west-2').zone).toBe('US-NW-PACW')
  })

  it('accepts a plain id that only one provider has', () => {
    expect(resolveRegion('europe-west9')).toMatchObject({ provider: 'gcp', zone: 'FR' })
    expect(resolveRegion('eu-north-1')).toMatchObject({ provider: 'aws', zone: 'SE-SE3' })
  })

  it('fills gaps CCF leaves from the other cited sources', () => {
    expect(resolveRegion('gcp:asia-east2')).toMatchObject({
      zone: 'HK',
      source: 'gcp-zonecode-mapper',
    })
    expect(resolveRegion('azure:southeastasia')).toMatchObject({
      zone: 'SG',
      source: 'carbon-aware-sdk-coordinates',
    })
  })

  it('rejects unknown regions with close matches', () => {
    const e = errorOf(() => resolveRegion('aws:eu-central-9'))
    expect(hasCode(e, 'WL_UNKNOWN_REGION')).toBe(true)
    expect(e.details['matches']).toContain('aws:eu-central-1')
    expect(e.message).toContain('did you mean')
  })

  it('rejects an unknown provider and a known region without a zone', () => {
    expect(errorOf(() => resolveRegion('ibm:us-south')).message).toContain('unknown cloud provider')
    const unmapped = errorOf(() => resolveRegion('aws:cn-north-1'))
    expect(unmapped.code).toBe('WL_UNKNOWN_REGION')
    expect(unmapped.message).toContain('no source maps it to a grid zone')
  })

  it('every mapped zone has a built-in intensity entry', () => {
    for (const r of cloudRegions()) {
      if (r.zone !== null) expect(BUILTIN_INTENSITY.zones[r.zone], r.region).toBeDefined()
    }
  })

  it('lists the regions in a zone', () => {
    expect(regionsInZone('DE')).toEqual(
      expect.arrayContaining(['aws:eu-central-1', 'gcp:europe-west3', 'azure:germanywestcentral']),
    )
  })
})
