/**
 * @module energy/live-attribution
 * Live, event-driven attribution of one backend's power to its in-flight requests by work done
 * (tokens processed), with idle energy kept apart. Pure: time arrives as arguments (ms), nothing
 * is read from the environment.
 *
 * Power P(t) is a step function that changes only at events (a request starts or ends, a meter
 * reading arrives, the power source switches). Between two consecutive events the energy P·Δt goes
 * to the requests in flight in proportion to the work each did in that segment — the tokens it
 * processed, each weighted by its profile's energy per token of that phase at the occupancy (as the
 * replay engine, `engine/simulate-replay.ts`, weights them):
 *
 * - a request first prefills its prompt at 1 / `timePerInputToken(n)` tokens/ms (n = requests in
 *   flight), until its prompt tokens are processed (the profile's prefill time), each prompt token
 *   weighing `energyPerInputToken(n)`;
 * - then it decodes one output token per decode step, 1 / `timePerOutputToken(n)` tokens/ms — the
 *   same rate for every decoding request of a model — each weighing `energyPerOutputToken(n)`
 *   (requests with no output, such as embeddings, do no more work after prefill).
 *
 * A prefill that ends inside a segment is split exactly at its end. When a profile gives zero
 * energy per token in both phases, plain token counts are the weights. When no request in flight
 * did any work in a segment the energy is split equally among them; with nothing in flight it is
 * idle.
 * The last request of a segment receives the remainder, so Σ requests + idle = ∫P dt to rounding
 * (energy conservation, a property test).
 *
 * **Other processes on the same backend.** Several gateway processes (`serve --workers N`) may
 * send requests to one backend; each runs its own attributor over its own requests. Each is told
 * what the others have in flight there ({@link ExternalOccupancy}, `setExternal`): power is then
 * the backend's at the *total* occupancy, the rates and token weights are those of the total
 * occupancy, and this attributor keeps only its requests' share of each segment's energy — their
 * work over the total work in flight (its own plus the others' requests', each at the token rate
 * and weight of the phase it was last reported in; by occupancy when no work is done at all). A segment where only the others have requests in flight is
 * theirs (neither idle nor attributed here); idle is a segment with nothing in flight anywhere.
 * Summed over the processes, the backend's energy is what one process would attribute, up to the
 * lag of the reports.
 *
 * Power is either `measured` (the latest meter reading, held until the next one) or `modelled`
 * ({@link mixedModelledPower}: the in-flight requests' profiles at the current occupancy). Each
 * request and each idle slice keeps its measured and modelled energy apart, so a meter falling back
 * to the model and recovering is visible in every figure.
 */
import { WattlineError } from '../errors.ts'
import type { Method } from '../units/estimate.ts'
import type { EnergyProfile } from './profile.ts'

/** What the attributor needs to know about a request when it starts. */
export interface LiveWork {
  /** Profile of the request's model on this backend (prefill and decode rates, power). */
  readonly profile: EnergyProfile
  /** Prompt tokens to prefill (an estimate is fine: it only sets the prefill duration). */
  readonly inputTokens: number
  /** False for requests that generate no tokens (embeddings): no work after the prefill. */
  readonly decodes: boolean
}

/** Requests of one profile in flight, by the phase they are in. */
export interface PhaseCounts {
  /** Still prefilling their prompt. */
  readonly prefilling: number
  /** Decoding output tokens. */
  readonly decoding: number
  /** Past their prefill with nothing to decode (embeddings waiting for their answer to end). */
  readonly done: number
}

/**
 * What other processes (gateway workers) have in flight on the same backend, as they last reported
 * it (`occupancy`), by profile and phase. An input: the caller gathers it (IPC) and passes it in;
 * the work rates are computed here, at the total occupancy.
 */
export interface ExternalOccupancy {
  readonly inflight: ReadonlyMap<EnergyProfile, PhaseCounts>
}

/** No other process has anything in flight. */
export const NO_EXTERNAL_OCCUPANCY: ExternalOccupancy = Object.freeze({
  inflight: new Map<EnergyProfile, PhaseCounts>(),
})

/** Requests in flight in `occupancy` (every profile and phase). */
export function occupancyCount(occupancy: ExternalOccupancy): number {
  let n = 0
  for (const c of occupancy.inflight.values()) {
    n += Math.max(0, c.prefilling) + Math.max(0, c.decoding) + Math.max(0, c.done)
  }
  return n
}

/** Opaque handle of a request in flight. */
export interface LiveMark {
  readonly id: number
}

/** Energy of a finished request. */
export interface LiveRequestEnergy {
  /** IT energy (J) = measuredJ + modelledJ. */
  readonly energyJ: number
  /** Part of it taken from measured power (J). */
  readonly measuredJ: number
  /** Part of it taken from modelled power (J). */
  readonly modelledJ: number
  /** `measured` only when no part of the request's lifetime ran on modelled power. */
  readonly method: Method
  /**
   * Mean occupancy over the request's lifetime (requests in flight on the backend, including
   * itself and what other processes reported).
   */
  readonly meanOccupancy: number
  readonly durationMs: number
  /** Tokens the model credited to the request (prompt + output, modelled; unweighted). */
  readonly workTokens: number
}

/** Energy while nothing was in flight, over [fromMs, toMs], under one power method. */
export interface LiveIdleSlice {
  readonly fromMs: number
  readonly toMs: number
  /** IT energy (J). */
  readonly energyJ: number
  readonly method: Method
}

export interface LiveAttribution {
  /** Requests in flight (this attributor's own). */
  readonly inflight: number
  /** Requests in flight on the backend: this attributor's and what the others reported. */
  readonly totalInflight: number
  /** Power in effect now (W): the whole backend's, at its total occupancy. */
  readonly powerW: number
  /** Where the power in effect comes from. */
  readonly method: Method
  /** Starts a request at `nowMs`. */
  start(nowMs: number, work: LiveWork): LiveMark
  /** Ends a request at `nowMs` and returns its energy; throws `WL_INVALID_INPUT` for an unknown mark. */
  end(nowMs: number, mark: LiveMark): LiveRequestEnergy
  /** A meter reading (W) taking effect at `nowMs`; power becomes `measured`. */
  setMeasuredPower(nowMs: number, powerW: number): void
  /** Power becomes `modelled` from `nowMs` (no meter, or the meter went stale). */
  useModelledPower(nowMs: number): void
  /**
   * Idle energy since the last call, one slice per stretch of one power method (a switch of method
   * closes a slice), oldest first; slices of zero length are dropped. Resets the idle accumulator.
   */
  takeIdle(nowMs: number): readonly LiveIdleSlice[]
  /**
   * Energy integrated so far that this attributor kept (J): its requests' + idle. Without others
   * in flight, ∫P dt.
   */
  totalJ(nowMs: number): number
  /** What other processes have in flight on the backend, from `nowMs` on (replaces the last). */
  setExternal(nowMs: number, external: ExternalOccupancy): void
  /** This attributor's requests in flight now by profile and phase, for the others' `setExternal`. */
  occupancy(nowMs: number): ExternalOccupancy
}

export interface LiveAttributionOptions {
  readonly startMs: number
  /**
   * Idle power of the backend (W): its hardware with nothing running. The modelled power adds each
   * in-flight request's dynamic power (profile power above the profile's own idle) to it.
   */
  readonly idlePowerW: number
}

/**
 * Modelled power of a backend (W) with `inflight` requests of the given profiles:
 * idle + Σ over requests of (P_m(n) − P_m(0)) / n, i.e. the occupancy-weighted mix of the
 * in-flight models' dynamic power at the total occupancy n, on top of the backend's idle power.
 * With one model whose idle power is the backend's, this is exactly that profile's `power(n)`.
 */
export function mixedModelledPower(
  inflight: ReadonlyMap<EnergyProfile, number>,
  idlePowerW: number,
): number {
  let n = 0
  for (const c of inflight.values()) n += c
  if (n <= 0) return idlePowerW
  let dynamic = 0
  for (const [profile, count] of inflight) {
    if (count <= 0) continue
    dynamic += (count / n) * Math.max(0, profile.power(n) - profile.idlePower)
  }
  return idlePowerW + dynamic
}

/**
 * Idle power of a backend serving several models on the same hardware (W): the largest of the
 * profiles' idle powers (the replica with the most accelerators sets what stays powered).
 */
export function backendIdlePower(profiles: Iterable<EnergyProfile>): number {
  let idle = 0
  for (const p of profiles) idle = Math.max(idle, p.idlePower)
  return idle
}

/** Work of one request in one segment. */
export interface SegmentWork {
  /** Prompt tokens prefilled in the segment. */
  readonly prefillTokens: number
  /** Output tokens decoded in the segment. */
  readonly decodeTokens: number
  /** Prompt tokens still to prefill after it. */
  readonly prefillLeft: number
}

/**
 * Tokens a request processes in a segment of `dtMs` at occupancy `batch`, and the prompt tokens it
 * has left after it. Prefill runs first at 1 / timePerInputToken; then (when it decodes) one token
 * per decode step at 1 / timePerOutputToken.
 */
export function segmentWork(
  profile: EnergyProfile,
  prefillLeft: number,
  decodes: boolean,
  dtMs: number,
  batch: number,
): SegmentWork {
  if (!(dtMs > 0)) return { prefillTokens: 0, decodeTokens: 0, prefillLeft }
  const b = Math.max(1, batch)
  const tIn = profile.timePerInputToken(b)
  let prefillTokens = 0
  let left = prefillLeft
  let rest = dtMs
  if (left > 0) {
    const prefillMs = tIn > 0 && Number.isFinite(tIn) ? left * tIn : 0
    if (prefillMs >= rest) {
      const done = rest / tIn
      return { prefillTokens: done, decodeTokens: 0, prefillLeft: Math.max(0, left - done) }
    }
    prefillTokens = left
    left = 0
    rest -= prefillMs
  }
  let decodeTokens = 0
  if (decodes && rest > 0) {
    const tOut = profile.timePerOutputToken(b)
    if (tOut > 0 && Number.isFinite(tOut)) decodeTokens = rest / tOut
  }
  return { prefillTokens, decodeTokens, prefillLeft: left }
}

/**
 * Attribution weights of a prompt and a generated token at occupancy `batch`: the profile's energy
 * per token of each phase (J/token), or 1 and 1 when both are zero.
 */
export function tokenWeights(
  profile: EnergyProfile,
  batch: number,
): { readonly prefill: number; readonly decode: number } {
  const b = Math.max(1, batch)
  const wIn = profile.energyPerInputToken(b).value
  const wOut = profile.energyPerOutputToken(b).value
  if (!(wIn > 0) && !(wOut > 0)) return { prefill: 1, decode: 1 }
  return { prefill: Math.max(0, wIn), decode: Math.max(0, wOut) }
}

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
export function createLiveAttribution(options: LiveAttributionOptions): LiveAttribution {
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
