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
 * Σ requests + idle = ∫P dt to floating-point rounding (energy conservation, a property test).
 * How it is computed without walking every request at every event: see
 * {@link createLiveAttribution}.
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
import { KeyedHeap } from '../engine/keyed-heap.ts'
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

/** A group's own requests in flight, in any phase. */
const inFlight = (g: Group): number => g.prefilling + g.decoding + g.done

/** Phases of a request in flight. */
const PREFILL = 0
const DECODE = 1
const DONE = 2
type Phase = typeof PREFILL | typeof DECODE | typeof DONE

/**
 * A profile's rates at each occupancy, computed once per occupancy (a profile is a function of the
 * batch alone): at `STRIDE·b` the time per prompt token (ms), the time per output token (ms), the
 * two {@link tokenWeights} and the power (W); NaN where not computed yet.
 */
class ProfileRates {
  readonly profile: EnergyProfile
  #memo = new Float64Array(0)

  constructor(profile: EnergyProfile) {
    this.profile = profile
  }

  /** Fills `out[0..4]` with the rates at occupancy `n` (batch max(1, n)). */
  at(n: number, out: Float64Array): void {
    const b = Math.max(1, n)
    const memo = Number.isInteger(b) && b <= RATES_MEMO_MAX
    const o = STRIDE * b
    const m = this.#memo
    if (memo && o < m.length && !Number.isNaN(m[o] as number)) {
      // element by element: `subarray` would allocate a view per call
      out[0] = m[o] as number
      out[1] = m[o + 1] as number
      out[2] = m[o + 2] as number
      out[3] = m[o + 3] as number
      out[4] = m[o + 4] as number
      return
    }
    const w = tokenWeights(this.profile, b)
    out[0] = this.profile.timePerInputToken(b)
    out[1] = this.profile.timePerOutputToken(b)
    out[2] = w.prefill
    out[3] = w.decode
    out[4] = this.profile.power(b)
    if (!memo) return
    if (o >= this.#memo.length) {
      const grown = new Float64Array(Math.max(STRIDE * 64, 2 * (o + STRIDE))).fill(Number.NaN)
      grown.set(this.#memo)
      this.#memo = grown
    }
    this.#memo.set(out, o)
  }
}

/** Numbers per occupancy in {@link ProfileRates}. */
const STRIDE = 5
/** Largest occupancy whose rates are memoised (beyond it they are computed at every event). */
const RATES_MEMO_MAX = 1 << 16

/**
 * This attributor's requests of one profile, and the running totals that charge them. A request in
 * a phase from "join" to now is owed the totals' growth over that time: what a request that had
 * been in that phase all along would have been given.
 */
interface Group {
  readonly rates: ProfileRates
  prefilling: number
  decoding: number
  done: number
  /** Prompt tokens a request prefilling all along would have processed (Σ dt / time per prompt token). */
  prefillTokens: number
  /** Output tokens a request decoding all along would have generated (Σ dt / time per output token). */
  decodeTokens: number
  /** Energy (J) a request prefilling all along would have been charged, on measured and modelled power. */
  prefillMeasuredJ: number
  prefillModelledJ: number
  /** The same for a request decoding all along. */
  decodeMeasuredJ: number
  decodeModelledJ: number
  /** Prefilling requests (their slots), keyed by the `prefillTokens` at which their prompt is done. */
  readonly prefillEnds: KeyedHeap
  /** This segment's tokens per request prefilling (Infinity: prefill takes no time) and decoding. */
  segIn: number
  segOut: number
  /** This segment's token weights. */
  wIn: number
  wOut: number
}

interface InFlight {
  readonly id: number
  readonly slot: number
  readonly work: LiveWork
  readonly group: Group
  readonly startMs: number
  readonly occupancyMsAtStart: number
  phase: Phase
  /** `group.prefillTokens` at which the prompt is done (while prefilling). */
  prefillDoneAt: number
  /** The group's totals when the request entered its phase. */
  baseTokens: number
  baseMeasuredJ: number
  baseModelledJ: number
  /** The equal-split totals when it started. */
  readonly equalMeasuredAtStart: number
  readonly equalModelledAtStart: number
  /** Energy and tokens of its phases before the current one. */
  measuredJ: number
  modelledJ: number
  tokens: number
  /** Modelled-power epoch at the start (a later switch to modelled power means it saw some). */
  readonly modelledEpochAtStart: number
  readonly startedModelled: boolean
  /** Work and tokens in the current segment of a request whose prompt is done within it. */
  segWork: number
  segTokens: number
}

/**
 * Creates the attributor of one backend, starting idle and `modelled` at `options.startMs`.
 *
 * Cost: O(profiles in flight) per event, plus O(log n) once per request when its prompt is done.
 * Requests of a profile in one phase all do the same work per segment, so each segment adds the
 * same energy to each of them: it is added once to the group's running totals, and a request reads
 * the totals' growth since it entered the phase. Prompts that finish inside a segment are taken
 * from a heap and charged their exact split work (prefill, then decode).
 */
export function createLiveAttribution(options: LiveAttributionOptions): LiveAttribution {
  const idlePowerW = Math.max(0, options.idlePowerW)
  const requests = new Map<number, InFlight>()
  /** Requests by slot (the heaps' ids); free slots are reused. */
  const slots: (InFlight | undefined)[] = []
  const freeSlots: number[] = []
  const groups = new Map<EnergyProfile, Group>()
  /** The same groups in a list: walked at every event without an iterator. */
  const active: Group[] = []
  const ratesOf = new Map<EnergyProfile, ProfileRates>()
  /** Prompts done within the segment being charged (reused). */
  const moved: InFlight[] = []
  const r4 = new Float64Array(STRIDE)
  let nextId = 1
  let lastMs = options.startMs
  let method: Method = 'modelled'
  let modelledEpoch = 0
  let measuredW = 0
  let power = idlePowerW
  let occupancyMs = 0 // ∫ n dt (ms), for mean occupancy
  let totalJ = 0
  /** Per-request energy of segments where no request did any work (split equally). */
  let equalMeasuredJ = 0
  let equalModelledJ = 0
  const closedIdle: LiveIdleSlice[] = []
  let idleJ = 0
  let idleFromMs = options.startMs
  let external: ExternalOccupancy = NO_EXTERNAL_OCCUPANCY
  let externalN = 0

  function rates(profile: EnergyProfile): ProfileRates {
    let r = ratesOf.get(profile)
    if (r === undefined) {
      r = new ProfileRates(profile)
      ratesOf.set(profile, r)
    }
    return r
  }

  function groupOf(profile: EnergyProfile): Group {
    let g = groups.get(profile)
    if (g === undefined) {
      g = {
        rates: rates(profile),
        prefilling: 0,
        decoding: 0,
        done: 0,
        prefillTokens: 0,
        decodeTokens: 0,
        prefillMeasuredJ: 0,
        prefillModelledJ: 0,
        decodeMeasuredJ: 0,
        decodeModelledJ: 0,
        prefillEnds: new KeyedHeap(),
        segIn: 0,
        segOut: 0,
        wIn: 0,
        wOut: 0,
      }
      groups.set(profile, g)
      active.push(g)
    }
    return g
  }

  /** Puts `r` in `phase` from now on: counted there, owed the group's totals' growth from now. */
  function enter(r: InFlight, phase: Phase): void {
    const g = r.group
    r.phase = phase
    if (phase === PREFILL) {
      g.prefilling += 1
      r.baseTokens = g.prefillTokens
      r.baseMeasuredJ = g.prefillMeasuredJ
      r.baseModelledJ = g.prefillModelledJ
    } else if (phase === DECODE) {
      g.decoding += 1
      r.baseTokens = g.decodeTokens
      r.baseMeasuredJ = g.decodeMeasuredJ
      r.baseModelledJ = g.decodeModelledJ
    } else {
      g.done += 1
    }
  }

  /** Takes `r` out of its phase, adding what the phase owes it to its own totals. */
  function leave(r: InFlight): void {
    const g = r.group
    if (r.phase === PREFILL) {
      g.prefilling -= 1
      r.tokens += g.prefillTokens - r.baseTokens
      r.measuredJ += g.prefillMeasuredJ - r.baseMeasuredJ
      r.modelledJ += g.prefillModelledJ - r.baseModelledJ
    } else if (r.phase === DECODE) {
      g.decoding -= 1
      r.tokens += g.decodeTokens - r.baseTokens
      r.measuredJ += g.decodeMeasuredJ - r.baseMeasuredJ
      r.modelledJ += g.decodeModelledJ - r.baseModelledJ
    } else {
      g.done -= 1
    }
  }

  function refreshPower(): void {
    if (method === 'measured') {
      power = measuredW
      return
    }
    // the modelled power of the backend's whole mix: ours and the others' in flight
    if (externalN > 0) {
      const all = new Map<EnergyProfile, number>()
      for (const g of active) all.set(g.rates.profile, inFlight(g))
      for (const [p, c] of external.inflight) {
        all.set(p, (all.get(p) ?? 0) + Math.max(0, c.prefilling + c.decoding + c.done))
      }
      power = mixedModelledPower(all, idlePowerW)
      return
    }
    // `mixedModelledPower` over our own requests, with each profile's power at n memoised
    const n = requests.size
    let dynamic = 0
    for (let i = 0; i < active.length; i++) {
      const g = active[i] as Group
      g.rates.at(n, r4)
      dynamic += (inFlight(g) / n) * Math.max(0, (r4[4] as number) - g.rates.profile.idlePower)
    }
    power = idlePowerW + dynamic
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
    // 1. The work done in the segment, group by group; prompts done within it are taken out.
    let sum = 0
    moved.length = 0
    for (let i = 0; i < active.length; i++) {
      const g = active[i] as Group
      g.rates.at(n, r4)
      const tIn = r4[0] as number
      const tOut = r4[1] as number
      const inOk = tIn > 0 && Number.isFinite(tIn)
      const outOk = tOut > 0 && Number.isFinite(tOut)
      g.segIn = inOk ? dt / tIn : Number.POSITIVE_INFINITY
      g.segOut = outOk ? dt / tOut : 0
      g.wIn = r4[2] as number
      g.wOut = r4[3] as number
      const reach = g.prefillTokens + g.segIn
      const ends = g.prefillEnds
      while (ends.size > 0 && ends.peekKey() <= reach) {
        const key = ends.peekKey()
        const r = slots[ends.pop()]
        // a request that ended, or a reused slot: not this entry's
        if (r === undefined || r.phase !== PREFILL || r.group !== g || r.prefillDoneAt !== key)
          continue
        // `segmentWork`'s rule (the prompt's rest, then decoding) on the memoised rates: calling it
        // would consult the profile once per prompt done (the counted-calls test holds this)
        const left = Math.max(0, key - g.prefillTokens)
        const rest = inOk ? Math.max(0, dt - left * tIn) : dt
        const decoded = r.work.decodes && outOk ? rest / tOut : 0
        r.segTokens = left + decoded
        r.segWork = left * g.wIn + decoded * g.wOut
        sum += r.segWork
        leave(r)
        moved.push(r)
      }
      if (inOk) sum += g.prefilling * g.segIn * g.wIn
      sum += g.decoding * g.segOut * g.wOut
    }
    // our part of the segment: our work over all the work in flight (by occupancy if none known)
    let theirs = 0
    if (externalN > 0) {
      for (const [profile, c] of external.inflight) {
        rates(profile).at(n, r4)
        const tIn = r4[0] as number
        const tOut = r4[1] as number
        const inRate = tIn > 0 && Number.isFinite(tIn) ? (r4[2] as number) / tIn : 0
        const outRate = tOut > 0 && Number.isFinite(tOut) ? (r4[3] as number) / tOut : 0
        theirs += dt * (Math.max(0, c.prefilling) * inRate + Math.max(0, c.decoding) * outRate)
      }
    }
    const ours = externalN === 0 ? e : sum + theirs > 0 ? (e * sum) / (sum + theirs) : (e * own) / n
    totalJ += ours
    const measured = method === 'measured'
    // 2. Charge it: by work, or equally when nobody did any.
    const f = sum > 0 ? ours / sum : 0
    if (sum > 0) {
      for (const r of moved) {
        if (measured) r.measuredJ += f * r.segWork
        else r.modelledJ += f * r.segWork
      }
    } else if (measured) equalMeasuredJ += ours / own
    else equalModelledJ += ours / own
    for (let i = 0; i < active.length; i++) {
      const g = active[i] as Group
      if (Number.isFinite(g.segIn)) {
        g.prefillTokens += g.segIn
        const j = f * g.segIn * g.wIn
        if (measured) g.prefillMeasuredJ += j
        else g.prefillModelledJ += j
      }
      g.decodeTokens += g.segOut
      const j = f * g.segOut * g.wOut
      if (measured) g.decodeMeasuredJ += j
      else g.decodeModelledJ += j
    }
    // 3. Requests whose prompt is done decode (or wait, with nothing to decode) from now on.
    for (const r of moved) {
      r.tokens += r.segTokens
      enter(r, r.work.decodes ? DECODE : DONE)
    }
    moved.length = 0
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
    if (next === 'modelled') modelledEpoch += 1
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
      const slot = freeSlots.pop() ?? slots.length
      const group = groupOf(work.profile)
      const prompt = Math.max(0, Number.isFinite(work.inputTokens) ? work.inputTokens : 0)
      const r: InFlight = {
        id,
        slot,
        work,
        group,
        startMs: Math.max(nowMs, lastMs),
        occupancyMsAtStart: occupancyMs,
        phase: DONE,
        prefillDoneAt: group.prefillTokens + prompt,
        baseTokens: 0,
        baseMeasuredJ: 0,
        baseModelledJ: 0,
        equalMeasuredAtStart: equalMeasuredJ,
        equalModelledAtStart: equalModelledJ,
        measuredJ: 0,
        modelledJ: 0,
        tokens: 0,
        modelledEpochAtStart: modelledEpoch,
        startedModelled: method === 'modelled',
        segWork: 0,
        segTokens: 0,
      }
      slots[slot] = r
      requests.set(id, r)
      if (prompt > 0) {
        enter(r, PREFILL)
        group.prefillEnds.push(r.prefillDoneAt, slot)
      } else enter(r, work.decodes ? DECODE : DONE)
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
      leave(r)
      requests.delete(mark.id)
      slots[r.slot] = undefined
      freeSlots.push(r.slot)
      const g = r.group
      if (inFlight(g) === 0) {
        // no request of the profile left: its totals start again from zero with the next one
        groups.delete(r.work.profile)
        active.splice(active.indexOf(g), 1)
      }
      refreshPower()
      const measuredJ = r.measuredJ + (equalMeasuredJ - r.equalMeasuredAtStart)
      const modelledJ = r.modelledJ + (equalModelledJ - r.equalModelledAtStart)
      return {
        energyJ: measuredJ + modelledJ,
        measuredJ,
        modelledJ,
        method:
          r.startedModelled || r.modelledEpochAtStart !== modelledEpoch ? 'modelled' : 'measured',
        meanOccupancy: Math.max(1, meanOccupancy),
        durationMs,
        workTokens: r.tokens,
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
      for (const g of active) {
        inflight.set(g.rates.profile, {
          prefilling: g.prefilling,
          decoding: g.decoding,
          done: g.done,
        })
      }
      return { inflight }
    },
  }
}
