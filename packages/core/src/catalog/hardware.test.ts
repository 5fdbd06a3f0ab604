import { describe, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import { closeMatches, editDistance } from '../text/close-matches.ts'
import { findHardware, getHardware, HARDWARE } from './hardware.ts'

describe('hardware catalogue', () => {
  it('covers the devices the issue names, each figure with a source', () => {
    const ids = HARDWARE.map((h) => h.id)
    for (const id of ['A100-40GB', 'A100-80GB', 'H100-SXM', 'H100-PCIe', 'H200', 'B200', 'L4']) {
      expect(ids).toContain(id)
    }
    for (const id of ['L40S', 'A10G', 'MI300X', 'V100', 'A40']) expect(ids).toContain(id)
    expect(HARDWARE.some((h) => h.kind === 'cpu')).toBe(true)
    for (const h of HARDWARE) {
      expect(h.tdpW).toBeGreaterThan(h.idleW)
      expect(h.idleW).toBeGreaterThan(0)
      for (const s of [h.sources.tdp, h.sources.idle, h.sources.memory, h.sources.bandwidth]) {
        expect(s.length).toBeGreaterThan(5)
      }
      if (h.peak16Tflops !== undefined) expect(h.sources.flops).toBeDefined()
      if (h.embodiedKgCo2e !== undefined) expect(h.sources.embodied).toBeDefined()
    }
  })

  it('finds devices by id and alias, ignoring case; spaces, `_` and `-` are one separator', () => {
    expect(findHardware('h100-sxm')?.id).toBe('H100-SXM')
    expect(findHardware('H100 SXM')?.id).toBe('H100-SXM')
    expect(findHardware(' h100_sxm ')?.id).toBe('H100-SXM')
    expect(findHardware('H100  -  SXM')?.id).toBe('H100-SXM')
    expect(findHardware('NVIDIA H100 80GB HBM3')?.id).toBe('H100-SXM')
    expect(findHardware('NVIDIA A100-SXM4-40GB')?.id).toBe('A100-40GB')
    expect(findHardware('a100-80gb')?.id).toBe('A100-80GB')
    expect(findHardware('TPU v9')).toBeUndefined()
  })

  it('has no alias shared by two devices', () => {
    const seen = new Map<string, string>()
    for (const h of HARDWARE) {
      for (const n of [h.id, ...h.aliases]) {
        const k = n.toLowerCase().replace(/[^a-z0-9]/g, '')
        expect(seen.get(k) ?? h.id).toBe(h.id)
        seen.set(k, h.id)
      }
    }
  })

  it('rejects a run-together part number (H100SXM, issue 10) with "did you mean" and the known list', () => {
    for (const name of ['H100SXM', 'h100sxm', 'A10080GB']) {
      expect(findHardware(name)).toBeUndefined()
      try {
        getHardware(name)
        expect.unreachable()
      } catch (e) {
        expect(hasCode(e, 'WL_UNKNOWN_HARDWARE')).toBe(true)
        const message = (e as Error).message
        expect(message).toMatch(new RegExp(`^unknown hardware "${name}"; did you mean `))
        for (const h of HARDWARE) expect(message).toContain(h.id)
      }
    }
    const matches = (): readonly string[] => {
      try {
        getHardware('H100SXM')
        return []
      } catch (e) {
        return (e as { details: { matches: string[] } }).details.matches
      }
    }
    expect(matches()).toContain('H100-SXM')
  })

  it('rejects an unknown device with close matches', () => {
    try {
      getHardware('H10-SXM')
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_UNKNOWN_HARDWARE')).toBe(true)
      expect((e as { details: { matches: string[] } }).details.matches).toContain('H100-SXM')
    }
  })
})

describe('closeMatches', () => {
  it('ranks containment first, then edit distance', () => {
    expect(closeMatches('h100', ['H100-PCIe', 'A100-40GB', 'H100-SXM'])).toEqual([
      'H100-SXM',
      'H100-PCIe',
    ])
    expect(closeMatches('l40', ['L4', 'L40S', 'B200'])).toEqual(['L40S', 'L4'])
    expect(closeMatches('zzzzzz', ['H100-SXM'])).toEqual([])
  })

  it('computes Levenshtein distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('same', 'same')).toBe(0)
  })
})
