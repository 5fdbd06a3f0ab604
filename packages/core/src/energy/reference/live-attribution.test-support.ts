/**
 * @module energy/reference/live-attribution
 * FROZEN REFERENCE (test-only): the live attributor of `energy/live-attribution.ts` as of commit
 * c8bd883, before the counter-based rewrite: every event walks every request in flight (O(n) per
 * event, allocating per request). The differential test in `energy/live-attribution.test.ts` checks
 * that the live attributor charges what this copy charges. Do not edit or optimise it.
 */
import { WattlineError } from '../../errors.ts'
import type { Method } from '../../units/estimate.ts'
import {
  mixedModelledPower,
  NO_EXTERNAL_OCCUPANCY,
  occupancyCount,
  segmentWork,
  tokenWeights,
  type ExternalOccupancy,
  type LiveAttribution,
  type LiveAttributionOptions,
  type LiveIdleSlice,
  type LiveWork,
  type PhaseCounts,
} from '../live-attribution.ts'
import type { EnergyProfile } from '../profile.ts'

/** Weighted tokens per ms of a request in its current phase at occupancy `batch`. */
function tokenRate(
  profile: EnergyProfile,
  prefilling: boolean,
  decodes: boolean,
  batch: number,
  weights: { readonly prefill: number; readonly decode: number },
): number {
  const b = Math.max(1, batch)
  const t = prefilling
    ? profile.timePerInputToken(b)
    : decodes
      ? profile.timePerOutputToken(b)
      : Number.NaN
  if (!(t > 0) || !Number.isFinite(t)) return 0
  return (prefilling ? weights.prefill : weights.decode) / t
}

interface InFlight {
  readonly work: LiveWork
  readonly startMs: number
  readonly occupancyMsAtStart: number
  prefillLeft: number
  measuredJ: number
  modelledJ: number
  workTokens: number
  /** True once any part of the request's lifetime ran on modelled power. */
  sawModelled: boolean
}

/** Creates the attributor of one backend, starting idle and `modelled` at `options.startMs`. */
export function createReferenceLiveAttribution(options: LiveAttributionOptions): LiveAttribution {
  const idlePowerW = Math.max(0, options.idlePowerW)
  const requests = new Map<number, InFlight>()
  const profileCounts = new Map<EnergyProfile, number>()
  let nextId = 1
  let lastMs = options.startMs
  let method: Method = 'modelled'
  let measuredW = 0
  let power = idlePowerW
  let occupancyMs = 0 // ∫ n dt (ms), for mean occupancy
  let totalJ = 0
  const closedIdle: LiveIdleSlice[] = []
  let idleJ = 0
  let idleFromMs = options.startMs
  let external: ExternalOccupancy = NO_EXTERNAL_OCCUPANCY
  let externalN = 0

  function refreshPower(): void {
    if (method === 'measured') {
      power = measuredW
      return
    }
    // the modelled power of the backend's whole mix: ours and the others' in flight
    let mix: ReadonlyMap<EnergyProfile, number> = profileCounts
    if (externalN > 0) {
      const all = new Map(profileCounts)
      for (const [p, c] of external.inflight) {
        all.set(p, (all.get(p) ?? 0) + Math.max(0, c.prefilling + c.decoding + c.done))
      }
      mix = all
    }
    power = mixedModelledPower(mix, idlePowerW)
  }

  function advance(nowMs: number): void {
    const dt = nowMs - lastMs
    if (!(dt > 0)) return
    const e = (power * dt) / 1000
    lastMs = nowMs
    const own = requests.size
    const n = own + externalN
    if (n === 0) {
      totalJ += e
      idleJ += e
      return
    }
    // only the others in flight: their requests' energy, not idle and not ours
    if (own === 0) return
    occupancyMs += n * dt
    const active = [...requests.values()]
    const weightsOf = new Map<EnergyProfile, { prefill: number; decode: number }>()
    const work = active.map((r) => {
      const w = segmentWork(r.work.profile, r.prefillLeft, r.work.decodes, dt, n)
      r.prefillLeft = w.prefillLeft
      r.workTokens += w.prefillTokens + w.decodeTokens
      let k = weightsOf.get(r.work.profile)
      if (k === undefined) {
        k = tokenWeights(r.work.profile, n)
        weightsOf.set(r.work.profile, k)
      }
      return w.prefillTokens * k.prefill + w.decodeTokens * k.decode
    })
    const sum = work.reduce((a, b) => a + b, 0)
    // our part of the segment: our work over all the work in flight (by occupancy if none known)
    let theirs = 0
    if (externalN > 0) {
      for (const [profile, c] of external.inflight) {
        let k = weightsOf.get(profile)
        if (k === undefined) {
          k = tokenWeights(profile, n)
          weightsOf.set(profile, k)
        }
        theirs +=
          dt *
          (Math.max(0, c.prefilling) * tokenRate(profile, true, true, n, k) +
            Math.max(0, c.decoding) * tokenRate(profile, false, true, n, k))
      }
    }
    const ours = externalN === 0 ? e : sum + theirs > 0 ? (e * sum) / (sum + theirs) : (e * own) / n
    totalJ += ours
    let given = 0
    active.forEach((r, i) => {
      const share =
        i === active.length - 1
          ? ours - given
          : sum > 0
            ? (ours * (work[i] ?? 0)) / sum
            : ours / active.length
      given += share
      if (method === 'measured') r.measuredJ += share
      else r.modelledJ += share
    })
  }

  function closeIdleSlice(nowMs: number): void {
    const toMs = Math.max(nowMs, idleFromMs)
    closedIdle.push({ fromMs: idleFromMs, toMs, energyJ: idleJ, method })
    idleJ = 0
    idleFromMs = toMs
  }

  function switchMethod(nowMs: number, next: Method): void {
    if (next === method) return
    closeIdleSlice(nowMs)
    method = next
    if (next === 'modelled') for (const r of requests.values()) r.sawModelled = true
  }

  return {
    get inflight() {
      return requests.size
    },
    get totalInflight() {
      return requests.size + externalN
    },
    get powerW() {
      return power
    },
    get method() {
      return method
    },
    start(nowMs, work) {
      advance(nowMs)
      const id = nextId++
      requests.set(id, {
        work,
        startMs: Math.max(nowMs, lastMs),
        occupancyMsAtStart: occupancyMs,
        prefillLeft: Math.max(0, Number.isFinite(work.inputTokens) ? work.inputTokens : 0),
        measuredJ: 0,
        modelledJ: 0,
        workTokens: 0,
        sawModelled: method === 'modelled',
      })
      profileCounts.set(work.profile, (profileCounts.get(work.profile) ?? 0) + 1)
      refreshPower()
      return { id }
    },
    end(nowMs, mark) {
      const r = requests.get(mark.id)
      if (r === undefined) {
        throw new WattlineError(
          'WL_INVALID_INPUT',
          `request mark ${mark.id} is not in flight (ended twice, or from another backend)`,
          { details: { field: 'mark' } },
        )
      }
      advance(nowMs)
      const durationMs = Math.max(0, Math.max(nowMs, lastMs) - r.startMs)
      const meanOccupancy =
        durationMs > 0 ? (occupancyMs - r.occupancyMsAtStart) / durationMs : requests.size
      requests.delete(mark.id)
      const left = (profileCounts.get(r.work.profile) ?? 1) - 1
      if (left > 0) profileCounts.set(r.work.profile, left)
      else profileCounts.delete(r.work.profile)
      refreshPower()
      return {
        energyJ: r.measuredJ + r.modelledJ,
        measuredJ: r.measuredJ,
        modelledJ: r.modelledJ,
        method: r.sawModelled ? 'modelled' : 'measured',
        meanOccupancy: Math.max(1, meanOccupancy),
        durationMs,
        workTokens: r.workTokens,
      }
    },
    setMeasuredPower(nowMs, powerW) {
      advance(nowMs)
      switchMethod(nowMs, 'measured')
      measuredW = Number.isFinite(powerW) ? Math.max(0, powerW) : 0
      refreshPower()
    },
    useModelledPower(nowMs) {
      advance(nowMs)
      switchMethod(nowMs, 'modelled')
      refreshPower()
    },
    takeIdle(nowMs) {
      advance(nowMs)
      closeIdleSlice(nowMs)
      return closedIdle.splice(0, closedIdle.length).filter((s) => s.toMs > s.fromMs)
    },
    totalJ(nowMs) {
      advance(nowMs)
      return totalJ
    },
    setExternal(nowMs, next) {
      advance(nowMs)
      external = next
      externalN = occupancyCount(next)
      refreshPower()
    },
    occupancy(nowMs) {
      advance(nowMs)
      const inflight = new Map<EnergyProfile, PhaseCounts>()
      for (const r of requests.values()) {
        const c = inflight.get(r.work.profile) ?? { prefilling: 0, decoding: 0, done: 0 }
        inflight.set(r.work.profile, {
          prefilling: c.prefilling + (r.prefillLeft > 0 ? 1 : 0),
          decoding: c.decoding + (r.prefillLeft <= 0 && r.work.decodes ? 1 : 0),
          done: c.done + (r.prefillLeft <= 0 && !r.work.decodes ? 1 : 0),
        })
      }
      return { inflight }
    },
  }
}
