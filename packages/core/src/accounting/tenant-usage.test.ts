import { describe, expect, it } from 'vitest'
import type { TenantRequest } from './tenant-usage.ts'
import { TenantUsage } from './tenant-usage.ts'

const r = (
  tenant: string | null,
  backend: string,
  energy: number,
  status = 200,
): TenantRequest => ({
  tenant,
  backend,
  status,
  energy_j: energy,
  energy_low_j: energy * 0.9,
  energy_high_j: energy * 1.1,
  carbon_g: energy / 1000,
  carbon_low_g: (energy * 0.9) / 1000,
  carbon_high_g: (energy * 1.1) / 1000,
  method: 'measured',
})

describe('TenantUsage', () => {
  it('sums each tenant and shares each backend’s idle energy among its tenants by the rule', () => {
    const u = new TenantUsage()
    u.addRequest(r('acme', 'gpu-de', 600))
    u.addRequest(r('acme', 'gpu-de', 300, 503))
    u.addRequest(r('globex', 'gpu-de', 300))
    u.addRequest(r(null, 'gpu-fr', 100))
    u.addIdle('gpu-de', 1200, 0.6)
    u.addIdle('gpu-us', 500, 0.2) // no request ran there
    const { rows, poolIdleJ, unallocatedIdleJ } = u.allocate('proportional')
    expect(rows.map((t) => t.tenant)).toEqual(['acme', 'globex', null])
    const acme = rows[0]
    expect(acme).toMatchObject({ requests: 2, failed: 1, itJ: 900, idleJ: 900 })
    expect(acme?.idleCarbonG).toBeCloseTo(0.45, 12)
    expect(rows[1]?.idleJ).toBe(300)
    expect(rows[2]?.idleJ).toBe(0)
    expect(poolIdleJ).toBe(1700)
    expect(unallocatedIdleJ).toBe(500)
    // Allocated + unallocated = all idle energy added (conserved).
    expect(rows.reduce((s, t) => s + t.idleJ, 0) + unallocatedIdleJ).toBeCloseTo(poolIdleJ, 9)
  })

  it('keeps a configured tenant with no traffic as an empty row', () => {
    const u = new TenantUsage()
    u.tenant('initech')
    u.addRequest(r('acme', 'a', 10))
    u.addIdle('a', 100, 0.1)
    const { rows } = u.allocate('equal')
    expect(rows.map((t) => [t.tenant, t.requests, t.idleJ])).toEqual([
      ['acme', 1, 100],
      ['initech', 0, 0],
    ])
  })
})
