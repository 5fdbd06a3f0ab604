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

  it('keeps every payload and the order under interleaved pushes, pops and clears', () => {
    type Op = { readonly push: number } | 'pop' | 'clear'
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }).map((t): Op => ({ push: t })) },
      { weight: 4, arbitrary: fc.constant<Op>('pop') },
      { weight: 1, arbitrary: fc.constant<Op>('clear') },
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new EventQueue(4)
        // Reference: a list kept sorted by (time, push order).
        let model: { time: number; seq: number; target: number; aux: number }[] = []
        let seq = 0
        for (const o of ops) {
          if (o === 'clear') {
            q.clear()
            model = []
          } else if (o === 'pop') {
            const want = model.shift()
            expect(q.pop()).toBe(want !== undefined)
            if (want !== undefined) {
              expect([q.time, q.kind, q.target, q.aux]).toEqual([
                want.time,
                want.seq % 7,
                want.target,
                want.aux,
              ])
            }
          } else {
            const e = { time: o.push, seq, target: seq * 3, aux: seq / 2 }
            q.push(e.time, seq % 7, e.target, e.aux)
            seq += 1
            model.push(e)
            model.sort((a, b) => a.time - b.time || a.seq - b.seq)
          }
          expect(q.size).toBe(model.length)
          expect(q.peekTime()).toBe(model[0]?.time ?? Number.POSITIVE_INFINITY)
        }
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
