import { describe, expect, it } from 'vitest'
import { NetworkRollup } from './network-rollup.ts'

describe('NetworkRollup', () => {
  it('adds the requests that recorded network energy and skips the others', () => {
    const n = new NetworkRollup()
    expect(n.add({ network_bytes: 1000, network_energy_j: 0.5, network_carbon_g: 0.01 })).toBe(true)
    expect(n.add({ network_bytes: 3000, network_energy_j: 1.5 })).toBe(true)
    expect(n.add({})).toBe(false)
    expect(n.add({ network_bytes: 10 })).toBe(false)
    expect([n.requests, n.bytes, n.energyJ, n.carbonG]).toEqual([2, 4000, 2, 0.01])
  })
})
