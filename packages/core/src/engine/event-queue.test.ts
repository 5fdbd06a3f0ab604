import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EventQueue } from './event-queue.ts'
import { KeyedHeap } from './keyed-heap.ts'

describe('EventQueue', () => {
  it('pops events in time order, equal times in push order', () => {
    const q = new EventQueue(2)
    q.push(5, 1, 0)
    q.push(1, 1, 1)
    q.push(5, 1, 2)
    q.push(3, 2, 3, 7)
    q.push(1, 1, 4)
    const out: [number, number][] = []
    while (q.pop()) out.push([q.time, q.target])
    expect(out).toEqual([
      [1, 1],
      [1, 4],
      [3, 3],
      [5, 0],
      [5, 2],
    ])
    expect(q.pop()).toBe(false)
    expect(q.peekTime()).toBe(Number.POSITIVE_INFINITY)
  })

  it('agrees with a stable sort on any sequence of pushes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const q = new EventQueue(4)
        times.forEach((t, i) => q.push(t, 0, i))
        const got: number[] = []
        while (q.pop()) got.push(q.target)
        const expected = times
          .map((t, i) => [t, i] as const)
          .sort((a, b) => a[0] - b[0] || a[1] - b[1])
        expect(got).toEqual(expected.map((e) => e[1]))
      }),
    )
  })
})

describe('KeyedHeap', () => {
  it('pops keys in ascending order, ties by id', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 100 }),
        (keys) => {
          const h = new KeyedHeap(2)
          keys.forEach((k, i) => h.push(k, i))
          const got: number[] = []
          while (h.size > 0) got.push(h.pop())
          const expected = keys
            .map((k, i) => [k, i] as const)
            .sort((a, b) => a[0] - b[0] || a[1] - b[1])
          expect(got).toEqual(expected.map((e) => e[1]))
        },
      ),
    )
  })
})
