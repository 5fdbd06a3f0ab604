import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { UseCounter } from './cache-uses.ts'

const key = (s: string): string => createHash('sha256').update(s).digest('hex')

describe('UseCounter (cache.min_uses)', () => {
  it('counts the uses of each key, this one included', () => {
    const uses = new UseCounter()
    expect([
      uses.use(key('a')),
      uses.use(key('a')),
      uses.use(key('b')),
      uses.use(key('a')),
    ]).toEqual([1, 2, 1, 3])
  })

  it('halves every count once the window is full, so old uses fade', () => {
    const uses = new UseCounter(16)
    const k = key('old')
    for (let i = 0; i < 4; i++) uses.use(k) // counts 1..4
    // 12 more uses of other keys fill the window of 16: every count is halved (4 → 2)
    for (let i = 0; i < 12; i++) uses.use(key(`other ${i}`))
    expect(uses.use(k)).toBe(3)
  })

  it('never counts a key below its true uses in a window (a shared slot only adds)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 200 }), (asked) => {
        const uses = new UseCounter(64) // few slots: keys share them
        const truth = new Map<number, number>()
        asked.slice(0, 63).forEach((k) => {
          const n = (truth.get(k) ?? 0) + 1
          truth.set(k, n)
          expect(uses.use(key(String(k)))).toBeGreaterThanOrEqual(Math.min(n, 255))
        })
      }),
    )
  })

  it('saturates at 255 instead of wrapping', () => {
    const uses = new UseCounter(1024)
    const k = key('popular')
    let last = 0
    for (let i = 0; i < 300; i++) last = uses.use(k)
    expect(last).toBe(256)
  })

  it('refuses a table size that is not a power of two', () => {
    expect(() => new UseCounter(100)).toThrow(/power of two/)
  })
})
