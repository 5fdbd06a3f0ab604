import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { testProfile } from '../routing/test-profile.ts'
import {
  backendIdlePower,
  createLiveAttribution,
  mixedModelledPower,
  segmentWork,
  tokenWeights,
  type LiveMark,
  type PhaseCounts,
} from './live-attribution.ts'
import type { EnergyProfile } from './profile.ts'
import { createReferenceLiveAttribution } from './reference/live-attribution.test-support.ts'
import { resolveProfile } from './resolve.ts'

// tpot(b) = 10 + 15·(b−1)/63 ms, tpit(b) = tpot(b)/20 ms; power(b) = 100 + 500·b/64 W;
// energy per prompt token = energy per output token / 10. So per ms, a prefilling request does
// 20 × 0.1 = 2 times the weighted work of a decoding one.
const chat = testProfile()
const big = testProfile({ model: 'big', idlePowerW: 200, peakPowerW: 1400, maxBatch: 16 })
const tpot = (b: number): number => chat.timePerOutputToken(b)
const tpit = (b: number): number => chat.timePerInputToken(b)

describe('segmentWork', () => {
  it('prefills at 1/tpit, then decodes at 1/tpot, splitting a segment at the prefill end', () => {
    const full = segmentWork(chat, 100, true, 10, 1)
    expect(full.prefillTokens).toBeCloseTo(10 / tpit(1), 9)
    expect(full.decodeTokens).toBe(0)
    expect(full.prefillLeft).toBeCloseTo(100 - 10 / tpit(1), 9)
    const split = segmentWork(chat, 100, true, 1000, 2)
    expect(split.prefillLeft).toBe(0)
    expect(split.prefillTokens).toBe(100)
    expect(split.decodeTokens).toBeCloseTo((1000 - 100 * tpit(2)) / tpot(2), 9)
    expect(segmentWork(chat, 0, false, 1000, 2)).toMatchObject({
      prefillTokens: 0,
      decodeTokens: 0,
    })
  })

  it('weighs tokens by the profile’s energy per token of their phase', () => {
    expect(tokenWeights(chat, 2).prefill).toBeCloseTo(chat.energyPerInputToken(2).value, 12)
    expect(tokenWeights(chat, 2).decode).toBeCloseTo(chat.energyPerOutputToken(2).value, 12)
  })
})

describe('live attribution', () => {
  it('charges a long-prompt request in prefill more than a decoding one in the same interval', () => {
    const t = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const decoding = t.start(0, { profile: chat, inputTokens: 0, decodes: true })
    const prompt = t.start(0, { profile: chat, inputTokens: 100_000, decodes: true })
    // 1 s is well inside the 100,000-token prefill (100,000 × tpit(2) ≈ 51 s).
    const p = t.end(1000, prompt)
    const d = t.end(1000, decoding)
    const power = chat.power(2)
    expect(p.energyJ + d.energyJ).toBeCloseTo(power, 9)
    // Token rates 1/tpit(2) against 1/tpot(2) (20×), weighted 0.1 against 1: 2×.
    expect(p.energyJ).toBeCloseTo((power * 2) / 3, 9)
    expect(d.energyJ).toBeCloseTo(power / 3, 9)
    expect(p.workTokens).toBeCloseTo(1000 / tpit(2), 6)
  })

  it('with a fitted profile (Llama 3.1 8B on H100), a prefilling request is charged over twice a decoding one', () => {
    const llama = resolveProfile({
      model: 'meta-llama/Llama-3.1-8B-Instruct',
      hardware: 'H100-SXM',
      precision: 'bf16',
    })
    const t = createLiveAttribution({ startMs: 0, idlePowerW: llama.idlePower })
    const decoding = t.start(0, { profile: llama, inputTokens: 0, decodes: true })
    const prompt = t.start(0, { profile: llama, inputTokens: 8000, decodes: true })
    const prefillMs = 8000 * llama.timePerInputToken(2)
    const p = t.end(prefillMs / 2, prompt)
    const d = t.end(prefillMs / 2, decoding)
    const perMs = (w: { prefill: number; decode: number }): number =>
      w.prefill / llama.timePerInputToken(2) / (w.decode / llama.timePerOutputToken(2))
    expect(p.energyJ / d.energyJ).toBeCloseTo(perMs(tokenWeights(llama, 2)), 6)
    // Per ms: prefill energy rate (≈ 0.9 × TDP) against one sequence's share of decode power.
    expect(p.energyJ).toBeGreaterThan(2 * d.energyJ)
  })

  it('splits equally between decoding requests of one model and keeps idle apart', () => {
    const t = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const a = t.start(1000, { profile: chat, inputTokens: 0, decodes: true })
    const b = t.start(2000, { profile: chat, inputTokens: 0, decodes: true })
    const ea = t.end(3000, a) // a alone 1000..2000 at P(1); both 2000..3000 at P(2)
    const eb = t.end(4000, b) // b alone 3000..4000 at P(1)
    const p1 = chat.power(1)
    const p2 = chat.power(2)
    expect(ea.energyJ).toBeCloseTo(p1 + p2 / 2, 9)
    expect(eb.energyJ).toBeCloseTo(p2 / 2 + p1, 9)
    expect(ea.meanOccupancy).toBeCloseTo(1.5, 9)
    expect(ea.method).toBe('modelled')
    const idle = t.takeIdle(5000)
    expect(idle).toEqual([{ fromMs: 0, toMs: 5000, energyJ: 200, method: 'modelled' }])
    expect(t.takeIdle(6000)).toEqual([
      { fromMs: 5000, toMs: 6000, energyJ: 100, method: 'modelled' },
    ])
  })

  it('credits an embedding nothing after its prefill while others decode, all of it alone', () => {
    const t = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const emb = t.start(0, { profile: chat, inputTokens: 10, decodes: false })
    const gen = t.start(0, { profile: chat, inputTokens: 0, decodes: true })
    t.end(1000, gen)
    const e = t.end(2000, emb)
    // 0..1000: the embedding's 10 prompt tokens against the decoder's 1000/tpot(2) tokens.
    const w = tokenWeights(chat, 2)
    const mine = 10 * w.prefill
    const theirs = (1000 / tpot(2)) * w.decode
    expect(e.energyJ).toBeCloseTo((chat.power(2) * mine) / (mine + theirs) + chat.power(1), 6)
  })

  it('models power from the in-flight models, idle from the backend hardware', () => {
    const idle = backendIdlePower([chat, big])
    expect(idle).toBe(200)
    const t = createLiveAttribution({ startMs: 0, idlePowerW: idle })
    expect(t.powerW).toBe(200)
    const a = t.start(0, { profile: big, inputTokens: 0, decodes: true })
    expect(t.powerW).toBeCloseTo(big.power(1), 9)
    const b = t.start(0, { profile: chat, inputTokens: 0, decodes: true })
    const mix = 200 + (big.power(2) - 200) / 2 + (chat.power(2) - 100) / 2
    expect(t.powerW).toBeCloseTo(mix, 9)
    t.end(0, a)
    expect(t.powerW).toBeCloseTo(200 + chat.power(1) - 100, 9)
    t.end(0, b)
    expect(t.powerW).toBe(200)
    expect(
      mixedModelledPower(
        new Map([
          [chat, 3],
          [big, 1],
        ]),
        200,
      ),
    ).toBeCloseTo(200 + (0.75 * (chat.power(4) - 100) + 0.25 * (big.power(4) - 200)), 9)
  })

  it('marks energy measured only while a meter feeds it, and splits idle at a switch', () => {
    const t = createLiveAttribution({ startMs: 0, idlePowerW: 100 })
    t.setMeasuredPower(0, 400)
    expect(t.method).toBe('measured')
    const a = t.start(0, { profile: chat, inputTokens: 0, decodes: true })
    const ea = t.end(1000, a)
    expect(ea).toMatchObject({ energyJ: 400, measuredJ: 400, modelledJ: 0, method: 'measured' })
    const b = t.start(2000, { profile: chat, inputTokens: 0, decodes: true })
    t.useModelledPower(3000) // meter went stale
    expect(t.powerW).toBeCloseTo(chat.power(1), 9)
    const eb = t.end(4000, b)
    expect(eb.measuredJ).toBeCloseTo(400, 9)
    expect(eb.modelledJ).toBeCloseTo(chat.power(1), 9)
    expect(eb.method).toBe('modelled')
    t.setMeasuredPower(5000, 300) // readings resumed
    expect(t.takeIdle(6000)).toEqual([
      { fromMs: 0, toMs: 3000, energyJ: 400, method: 'measured' },
      { fromMs: 3000, toMs: 5000, energyJ: 100, method: 'modelled' },
      { fromMs: 5000, toMs: 6000, energyJ: 300, method: 'measured' },
    ])
    expect(() => t.end(7000, a)).toThrow(/not in flight/)
  })

  it('conserves energy: Σ requests + idle = ∫P dt, whatever the events', () => {
    type Op = {
      kind: 'start' | 'end' | 'power' | 'stale'
      dt: number
      w: number
      pick: number
      prompt: number
      decodes: boolean
      big: boolean
    }
    const op = fc.record({
      kind: fc.constantFrom<Op['kind']>('start', 'end', 'power', 'stale'),
      dt: fc.integer({ min: 0, max: 5000 }),
      w: fc.double({ min: 0, max: 2000, noNaN: true }),
      pick: fc.nat(),
      prompt: fc.integer({ min: 0, max: 200_000 }),
      decodes: fc.boolean(),
      big: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, meter) => {
        const t = createLiveAttribution({ startMs: 0, idlePowerW: backendIdlePower([chat, big]) })
        let now = 0
        const open: LiveMark[] = []
        let requests = 0
        let parts = 0
        const idle: { fromMs: number; toMs: number; energyJ: number }[] = []
        const finish = (m: LiveMark): void => {
          const e = t.end(now, m)
          requests += e.energyJ
          parts += e.measuredJ + e.modelledJ
          expect(e.energyJ).toBeGreaterThanOrEqual(-1e-9)
          if (e.modelledJ > 1e-12) expect(e.method).toBe('modelled')
        }
        for (const o of ops) {
          now += o.dt
          if (o.kind === 'start') {
            const profile = o.big ? big : chat
            open.push(t.start(now, { profile, inputTokens: o.prompt, decodes: o.decodes }))
          } else if (o.kind === 'end' && open.length > 0) {
            const [m] = open.splice(o.pick % open.length, 1)
            if (m) finish(m)
          } else if (o.kind === 'power' && meter) t.setMeasuredPower(now, o.w)
          else if (o.kind === 'stale') idle.push(...t.takeIdle(now))
          if (o.kind === 'stale' && meter) t.useModelledPower(now)
        }
        now += 1000
        for (const m of open) finish(m)
        idle.push(...t.takeIdle(now))
        const idleJ = idle.reduce((s, x) => s + x.energyJ, 0)
        const total = t.totalJ(now)
        expect(requests + idleJ).toBeCloseTo(total, 6)
        expect(parts).toBeCloseTo(requests, 6)
        // Idle slices tile the timeline without overlap.
        for (let i = 1; i < idle.length; i++)
          expect(idle[i]?.fromMs).toBe(idle[i - 1]?.toMs as number)
      }),
      { numRuns: 300 },
    )
  })
})

describe('live attribution shared by several processes (setExternal)', () => {
  /** Tells each attributor what every other one has in flight now. */
  const exchange = (now: number, parts: readonly ReturnType<typeof createLiveAttribution>[]) => {
    const reports = parts.map((p) => p.occupancy(now))
    parts.forEach((p, i) => {
      const inflight = new Map<EnergyProfile, PhaseCounts>()
      reports.forEach((r, j) => {
        if (j === i) return
        for (const [profile, c] of r.inflight) {
          const had = inflight.get(profile) ?? { prefilling: 0, decoding: 0, done: 0 }
          inflight.set(profile, {
            prefilling: had.prefilling + c.prefilling,
            decoding: had.decoding + c.decoding,
            done: had.done + c.done,
          })
        }
      })
      p.setExternal(now, { inflight })
    })
  }

  it('two attributors told each other’s occupancy record what one attributor records (power at the total occupancy, idle once)', () => {
    const one = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const a = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const b = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const work = { profile: chat, inputTokens: 0, decodes: true }
    // 3 requests on a, 5 on b, at t = 1000 (idle before); a's end at 3000, b's at 4000; idle to 6000
    const oneMarks = Array.from({ length: 8 }, () => one.start(1000, work))
    const aMarks = Array.from({ length: 3 }, () => a.start(1000, work))
    const bMarks = Array.from({ length: 5 }, () => b.start(1000, work))
    exchange(1000, [a, b])
    expect(a.totalInflight).toBe(8)
    expect(a.powerW).toBeCloseTo(chat.power(8), 9)
    const oneJ = oneMarks.map((m, i) => one.end(i < 3 ? 3000 : 4000, m).energyJ)
    const aJ = aMarks.map((m) => a.end(3000, m).energyJ)
    exchange(3000, [a, b])
    const bJ = bMarks.map((m) => b.end(4000, m).energyJ)
    exchange(4000, [a, b])
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0)
    expect(sum(aJ) + sum(bJ)).toBeCloseTo(sum(oneJ), 6)
    // each request the same share of P(8) while all eight ran
    expect(aJ[0]).toBeCloseTo((chat.power(8) * 2) / 8, 6)
    // idle: a's view is idle only from 4000 (before, b had requests in flight: theirs, not idle)
    const idleOf = (t: ReturnType<typeof createLiveAttribution>) =>
      sum(t.takeIdle(6000).map((s) => s.energyJ))
    const oneIdle = idleOf(one)
    expect(idleOf(a)).toBeCloseTo(oneIdle, 6)
    expect(idleOf(b)).toBeCloseTo(oneIdle, 6)
    expect(oneIdle).toBeCloseTo((chat.idlePower * 3000) / 1000, 6)
    // a kept its requests and the idle; b's requests' energy between 3000 and 4000 is not in a's
    expect(a.totalJ(6000)).toBeCloseTo(sum(aJ) + oneIdle, 6)
  })

  it('shares a measured power by work across the processes instead of each claiming it whole', () => {
    const a = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const b = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    a.setMeasuredPower(0, 600)
    b.setMeasuredPower(0, 600)
    // a prefilling request on a (2× the weighted work of a decoding one), one decoding on b
    const pa = a.start(0, { profile: chat, inputTokens: 1_000_000, decodes: true })
    const pb = b.start(0, { profile: chat, inputTokens: 0, decodes: true })
    exchange(0, [a, b])
    const ea = a.end(1000, pa)
    const eb = b.end(1000, pb)
    expect(ea.method).toBe('measured')
    expect(ea.energyJ + eb.energyJ).toBeCloseTo(600, 6)
    expect(ea.energyJ).toBeCloseTo(400, 6)
    expect(ea.meanOccupancy).toBeCloseTo(2, 9)
  })

  it('with no work done anywhere (embeddings past their prefill), shares by occupancy', () => {
    const a = createLiveAttribution({ startMs: 0, idlePowerW: chat.idlePower })
    const m = a.start(0, { profile: chat, inputTokens: 0, decodes: false })
    a.setExternal(0, { inflight: new Map([[chat, { prefilling: 0, decoding: 0, done: 3 }]]) })
    expect(a.end(1000, m).energyJ).toBeCloseTo(chat.power(4) / 4, 6)
  })
})

describe('live attribution against the frozen O(n) reference (energy/reference)', () => {
  it('charges every request what the reference charges, whatever the events', () => {
    type Op = {
      kind: 'start' | 'end' | 'power' | 'stale' | 'external' | 'occupancy'
      dt: number
      w: number
      pick: number
      prompt: number
      decodes: boolean
      big: boolean
      others: readonly [number, number, number]
    }
    const op = fc.record({
      kind: fc.constantFrom<Op['kind']>(
        'start',
        'start',
        'end',
        'power',
        'stale',
        'external',
        'occupancy',
      ),
      dt: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 3000 }),
        fc.double({ min: 0, max: 50, noNaN: true }),
      ),
      w: fc.double({ min: 0, max: 2000, noNaN: true }),
      pick: fc.nat(),
      prompt: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 50 }),
      ),
      decodes: fc.boolean(),
      big: fc.boolean(),
      others: fc.tuple(fc.nat(4), fc.nat(4), fc.nat(2)),
    })
    const close = (a: number, b: number): void => {
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)))
    }
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.boolean(), (ops, meter) => {
        const options = { startMs: 0, idlePowerW: backendIdlePower([chat, big]) }
        const live = createLiveAttribution(options)
        const ref = createReferenceLiveAttribution(options)
        let now = 0
        const open: [LiveMark, LiveMark][] = []
        const finish = ([a, b]: [LiveMark, LiveMark]): void => {
          const x = live.end(now, a)
          const y = ref.end(now, b)
          close(x.energyJ, y.energyJ)
          close(x.measuredJ, y.measuredJ)
          close(x.modelledJ, y.modelledJ)
          close(x.workTokens, y.workTokens)
          close(x.meanOccupancy, y.meanOccupancy)
          expect(x.durationMs).toBe(y.durationMs)
          expect(x.method).toBe(y.method)
        }
        for (const o of ops) {
          now += o.dt
          if (o.kind === 'start') {
            const work = { profile: o.big ? big : chat, inputTokens: o.prompt, decodes: o.decodes }
            open.push([live.start(now, work), ref.start(now, work)])
          } else if (o.kind === 'end' && open.length > 0) {
            const [m] = open.splice(o.pick % open.length, 1)
            if (m) finish(m)
          } else if (o.kind === 'power' && meter) {
            live.setMeasuredPower(now, o.w)
            ref.setMeasuredPower(now, o.w)
          } else if (o.kind === 'stale') {
            expect(live.takeIdle(now)).toEqual(ref.takeIdle(now))
            if (meter) {
              live.useModelledPower(now)
              ref.useModelledPower(now)
            }
          } else if (o.kind === 'external') {
            const [prefilling, decoding, done] = o.others
            const inflight = new Map([[o.big ? big : chat, { prefilling, decoding, done }]])
            live.setExternal(now, { inflight })
            ref.setExternal(now, { inflight })
          } else if (o.kind === 'occupancy') {
            const a = live.occupancy(now).inflight
            const b = ref.occupancy(now).inflight
            expect([...a.keys()].sort((x, y) => x.model.localeCompare(y.model))).toEqual(
              [...b.keys()].sort((x, y) => x.model.localeCompare(y.model)),
            )
            for (const [p, c] of b) expect(a.get(p)).toEqual(c)
          }
          expect(live.inflight).toBe(ref.inflight)
          expect(live.totalInflight).toBe(ref.totalInflight)
          close(live.powerW, ref.powerW)
        }
        now += 1000
        for (const m of open) finish(m)
        close(live.totalJ(now), ref.totalJ(now))
        const idle = (xs: readonly { energyJ: number }[]): number =>
          xs.reduce((s, x) => s + x.energyJ, 0)
        close(idle(live.takeIdle(now)), idle(ref.takeIdle(now)))
      }),
      { numRuns: 500 },
    )
  })

  it('costs the same per event whatever the number in flight (no walk over the requests)', () => {
    // Counted, not timed: the profile's rate functions are called O(profiles) per event, so the
    // calls per request stay flat from 8 to 2,000 requests in flight (the reference's grow with n).
    const calls = (inflight: number, make: typeof createLiveAttribution): number => {
      let n = 0
      const counting: EnergyProfile = {
        ...chat,
        timePerOutputToken: (b) => (n++, chat.timePerOutputToken(b)),
        timePerInputToken: (b) => (n++, chat.timePerInputToken(b)),
      }
      const t = make({ startMs: 0, idlePowerW: chat.idlePower })
      const marks: LiveMark[] = []
      let now = 0
      for (let i = 0; i < inflight; i++)
        marks.push(t.start((now += 1), { profile: counting, inputTokens: 50, decodes: true }))
      n = 0
      for (let i = 0; i < 200; i++) {
        t.end((now += 1), marks.shift() as LiveMark)
        marks.push(t.start((now += 1), { profile: counting, inputTokens: 50, decodes: true }))
      }
      return n / 200
    }
    const small = calls(8, createLiveAttribution)
    const large = calls(2000, createLiveAttribution)
    expect(large).toBeLessThanOrEqual(small + 1)
    expect(calls(2000, createReferenceLiveAttribution)).toBeGreaterThan(100 * small)
  })
})
