import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEnergyTracker, type SlotMark } from './energy-tracker.ts'

describe('energy tracker', () => {
  it('splits power evenly between concurrent requests and keeps idle apart', () => {
    const t = createEnergyTracker(0, (n) => (n === 0 ? 100 : 100 + 50 * n))
    const a = t.start(1000) // idle 0..1000 at 100 W = 100 J
    const b = t.start(2000) // a alone 1000..2000 at 150 W = 150 J
    const ea = t.end(3000, a) // both 2000..3000 at 200 W: 100 J each
    const eb = t.end(4000, b) // b alone at 150 W = 150 J
    expect(ea.energyJ).toBeCloseTo(250)
    expect(eb.energyJ).toBeCloseTo(250)
    expect(ea.meanOccupancy).toBeCloseTo(1.5)
    expect(t.takeIdle(5000)).toEqual({ fromMs: 0, toMs: 5000, energyJ: 200 })
    expect(t.takeIdle(6000)).toMatchObject({ fromMs: 5000, energyJ: 100 })
  })

  it('switches to measured power once a meter reads', () => {
    const t = createEnergyTracker(0, () => 100)
    t.setPower(0, 400)
    const a = t.start(0)
    expect(t.end(1000, a).energyJ).toBeCloseTo(400)
    expect(t.measured).toBe(true)
  })

  it('conserves energy: requests + idle = integrated power', () => {
    type Op = { kind: 'start' | 'end' | 'power'; dt: number; w: number; pick: number }
    const op = fc.record({
      kind: fc.constantFrom<Op['kind']>('start', 'end', 'power'),
      dt: fc.integer({ min: 0, max: 5000 }),
      w: fc.double({ min: 0, max: 2000, noNaN: true }),
      pick: fc.nat(),
    })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, meter) => {
        const t = createEnergyTracker(0, (n) => 80 + 30 * n)
        let now = 0
        const open: SlotMark[] = []
        let requests = 0
        for (const o of ops) {
          now += o.dt
          if (o.kind === 'start') open.push(t.start(now))
          else if (o.kind === 'end' && open.length > 0) {
            const [m] = open.splice(o.pick % open.length, 1)
            if (m) requests += t.end(now, m).energyJ
          } else if (o.kind === 'power' && meter) t.setPower(now, o.w)
        }
        now += 1000
        for (const m of open) requests += t.end(now, m).energyJ
        const idle = t.takeIdle(now).energyJ
        const total = t.totalJ(now)
        expect(requests + idle).toBeCloseTo(total, 6)
      }),
      { numRuns: 300 },
    )
  })
})
