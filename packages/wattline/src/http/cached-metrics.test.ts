/**
 * The cached metrics against plain prom-client: the same operations give the same scrape, whatever
 * the mix of reused, mutated and fresh label objects, resets, removals and invalid calls.
 */
import fc from 'fast-check'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { CachedCounter, CachedGauge, CachedHistogram } from './cached-metrics.ts'

const LABELS = ['service', 'backend', 'zone'] as const
type L = (typeof LABELS)[number]
const BUCKETS = [0.005, 0.1, 1, 10]

function metricsOn(cached: boolean) {
  const registry = new Registry()
  const on = { registers: [registry], labelNames: LABELS }
  return {
    registry,
    counter: cached
      ? new CachedCounter<L>({ name: 'c_total', help: 'c', ...on })
      : new Counter<L>({ name: 'c_total', help: 'c', ...on }),
    gauge: cached
      ? new CachedGauge<L>({ name: 'g', help: 'g', ...on })
      : new Gauge<L>({ name: 'g', help: 'g', ...on }),
    histogram: cached
      ? new CachedHistogram<L>({ name: 'h', help: 'h', buckets: BUCKETS, ...on })
      : new Histogram<L>({ name: 'h', help: 'h', buckets: BUCKETS, ...on }),
  }
}

type Op =
  | { kind: 'inc' | 'set' | 'observe'; slot: number; value: number | undefined }
  | { kind: 'mutate'; slot: number; label: L; to: string | undefined }
  | { kind: 'fresh'; slot: number }
  | { kind: 'reset' | 'remove'; slot: number }
  | { kind: 'bad-label'; slot: number }

const value = fc.oneof(
  fc.constant(undefined),
  fc.double({ min: 0, max: 20, noNaN: true }),
  fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, 0.005, 1, 10, 11),
)
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constantFrom('inc', 'set', 'observe'),
      slot: fc.nat(3),
      value,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mutate'),
      slot: fc.nat(3),
      label: fc.constantFrom(...LABELS),
      to: fc.option(fc.constantFrom('a', 'b', 'FR'), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fresh'), slot: fc.nat(3) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('reset', 'remove'), slot: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad-label'), slot: fc.nat(3) }) },
) as fc.Arbitrary<Op>

/** Runs `ops` on one set of metrics; returns the scrape and the errors thrown, in order. */
async function run(
  cached: boolean,
  ops: readonly Op[],
): Promise<{ text: string; errors: string[] }> {
  const m = metricsOn(cached)
  const slots: Record<string, string | undefined>[] = [0, 1, 2, 3].map((i) => ({
    service: 'chat',
    backend: `b${String(i % 2)}`,
    zone: 'FR',
  }))
  const errors: string[] = []
  const attempt = (f: () => void): void => {
    try {
      f()
    } catch (e) {
      errors.push((e as Error).message)
    }
  }
  for (const o of ops) {
    const labels = slots[o.slot] as Record<L, string>
    switch (o.kind) {
      case 'inc':
        attempt(() => m.counter.inc(labels, o.value))
        break
      case 'set':
        attempt(() => m.gauge.set(labels, o.value ?? 3))
        break
      case 'observe':
        attempt(() => m.histogram.observe(labels, o.value ?? 0.5))
        break
      case 'mutate':
        slots[o.slot] = { ...slots[o.slot] }
        ;(slots[o.slot] as Record<string, string | undefined>)[o.label] = o.to
        // The same object mutated in place too (a caller that edits its label object).
        ;(labels as Record<string, string | undefined>)[o.label] = o.to
        break
      case 'fresh':
        slots[o.slot] = { ...slots[o.slot] }
        break
      case 'reset':
        m.counter.reset()
        m.gauge.reset()
        m.histogram.reset()
        break
      case 'remove':
        attempt(() => m.counter.remove(labels))
        attempt(() => m.gauge.remove(labels))
        attempt(() => m.histogram.remove(labels))
        break
      case 'bad-label':
        attempt(() => m.counter.inc({ ...labels, nope: 'x' } as never, 1))
        break
    }
  }
  return { text: await m.registry.metrics(), errors }
}

describe('cached metrics', () => {
  it('scrape the same as plain prom-client for any sequence of operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        expect(await run(true, ops)).toEqual(await run(false, ops))
      }),
      { numRuns: 300 },
    )
  })
})
