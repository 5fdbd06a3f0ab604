/**
 * @module engine/simulate-replay
 * The discrete-event replay engine: requests arrive from a trace, a chooser (a routing policy behind
 * an adapter) sends each to a backend, and each backend's replicas serve them with continuous
 * batching on virtual time.
 *
 * The model, per replica with `b` running requests (b ≤ its batch slots; the rest wait in the
 * backend's FIFO queue):
 * 1. a running request first prefills its prompt at `rateIn(b)` tokens/ms, then decodes its output at
 *    `rateOut(b)` tokens/ms (from the profile's time per token at occupancy b);
 * 2. the replica draws `power(b)` W (idle power when b = 0);
 * 3. between two events nothing changes, so energy, progress and carbon are integrated in closed form
 *    over the whole interval (never per token): progress counters P and D advance by rate × dt, and
 *    each phase completes when its counter reaches the request's target, kept in a per-replica heap;
 * 4. the interval's energy is shared among running requests by work done (tokens, weighted by the
 *    profile's energy per token at b), through cumulative "energy per request in phase" counters, so
 *    the sum over requests plus idle energy equals the replica's integrated energy exactly;
 * 5. carbon = energy × PUE × the zone's intensity in force (the lookup says until when a value holds;
 *    the engine splits intervals at those instants).
 *
 * Time inside the loop is relative to `start` (better float precision than epoch ms).
 */
import { carbonPerItJoule } from '../accounting/carbon.ts'
import { WattlineError } from '../errors.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import { tabulateProfile, type BatchTables } from './batch-tables.ts'
import { EventQueue } from './event-queue.ts'
import { KeyedHeap } from './keyed-heap.ts'

/** One backend of the simulated fleet. */
export interface EngineBackend {
  readonly id: string
  readonly zone: string
  /** Identical replicas behind the backend. */
  readonly replicas: number
  /** Batch slots (concurrent requests) of one replica. */
  readonly maxConcurrency: number
  /** Power usage effectiveness of the site (facility energy = IT energy × PUE). */
  readonly pue: number
  readonly profile: EnergyProfile
}

/** The trace, columnar: arrival times must be non-decreasing. */
export interface EngineRequests {
  readonly count: number
  /** Arrival instants, epoch ms. */
  readonly arrival: ArrayLike<number>
  readonly inputTokens: ArrayLike<number>
  readonly outputTokens: ArrayLike<number>
  /** Client-region index of each request (row of `networkRttMs`). */
  readonly client: ArrayLike<number>
}

/** The intensity (g/kWh) in force for `zone` at `at` (epoch ms), and the instant it holds until. */
export type IntensityLookup = (zone: string, at: number) => { intensity: number; until: number }

/** What a chooser may read when it decides (live arrays: read, don't keep). */
export interface EngineView {
  /** Now, epoch ms. */
  now: number
  /** Per backend: requests routed and not finished (running + queued). */
  readonly inflight: Int32Array
  /** Per backend: requests waiting for a batch slot. */
  readonly queued: Int32Array
  /** Per backend: grid intensity in force now, gCO2e/kWh. */
  readonly intensity: Float64Array
  /** Per backend: total batch slots (replicas × max concurrency). */
  readonly capacity: Int32Array
}

/** Picks the backend index for request `request` (an index into the trace). */
export type ChooseBackend = (request: number, view: EngineView) => number

export interface SimulationInput {
  readonly requests: EngineRequests
  readonly backends: readonly EngineBackend[]
  /** Client regions × backends, row-major: network round trip added to each request's latency, ms. */
  readonly networkRttMs: ArrayLike<number>
  readonly choose: ChooseBackend
  readonly intensity: IntensityLookup
  /** Start of accounting (epoch ms); defaults to the first arrival. */
  readonly start?: number
  /** Accounting runs at least until this instant (epoch ms); idle power is integrated up to it. */
  readonly end?: number
  /** Width of the time bins of the per-backend carbon and load series, ms (default 15 min). */
  readonly binMs?: number
  /** Called every `progressEvery` arrivals and once at the end. */
  readonly onProgress?: (arrived: number, total: number) => void
  readonly progressEvery?: number
}

/** Everything the replay measured; energies in J (IT, before PUE), carbon in g (facility). */
export interface SimulationResult {
  /** Accounting window, epoch ms. */
  readonly start: number
  readonly end: number
  /** Per request: the backend index it was served by. */
  readonly backend: Int32Array
  /** Per request: completion − arrival + network RTT, ms. */
  readonly latencyMs: Float64Array
  /** Per request: time waiting for a batch slot, ms. */
  readonly queueMs: Float64Array
  /** Per request: attributed IT energy, J. */
  readonly energyJ: Float64Array
  /** Per request: attributed carbon (facility energy × intensity), gCO2e. */
  readonly carbonG: Float64Array
  readonly backends: readonly BackendTotals[]
  /** Start of bin 0 (= start) and bin width, ms. */
  readonly binStart: number
  readonly binMs: number
  /** Number of events the loop handled (arrivals, phase completions, intensity steps). */
  readonly events: number
}

/** Per-backend totals. */
export interface BackendTotals {
  readonly id: string
  readonly zone: string
  /** Integrated IT energy of all replicas, J (busy + idle). */
  readonly energyJ: number
  /** The part drawn with nothing running, J. */
  readonly idleEnergyJ: number
  /** Facility carbon, g (busy + idle). */
  readonly carbonG: number
  readonly idleCarbonG: number
  /** Requests served. */
  readonly requests: number
  /** Most requests ever running at once on any one replica (never above its slots). */
  readonly peakRunningPerReplica: number
  /** Longest backend queue seen. */
  readonly peakQueued: number
  /** Carbon per time bin, g. */
  readonly carbonByBin: Float64Array
  /** Arrivals per time bin. */
  readonly requestsByBin: Float64Array
}

const EV_REPLICA = 1
const EV_INTENSITY = 2
const DEFAULT_BIN_MS = 15 * 60_000

/** One replica's mutable state; plain numeric fields keep it monomorphic and allocation-free. */
class Replica {
  readonly backend: number
  readonly tables: BatchTables
  readonly prefill = new KeyedHeap()
  readonly decode = new KeyedHeap()
  nIn = 0
  nOut = 0
  /** Cumulative prefill / decode progress of one running request, tokens. */
  progIn = 0
  progOut = 0
  /** Cumulative energy (J) and carbon (g) a request accrues per unit of time in each phase. */
  accEIn = 0
  accEOut = 0
  accCIn = 0
  accCOut = 0
  last = 0
  energy = 0
  idleEnergy = 0
  carbon = 0
  idleCarbon = 0
  /** gCO2e per J of IT energy: PUE × intensity / 3.6e6. */
  factor = 0
  version = 0
  peak = 0
  constructor(backend: number, tables: BatchTables) {
    this.backend = backend
    this.tables = tables
  }
}

/** Runs the replay to completion and returns its measurements. */
export function simulateReplay(input: SimulationInput): SimulationResult {
  const { requests, backends, choose } = input
  const n = requests.count
  const nb = backends.length
  if (nb === 0) throw new WattlineError('WL_INVALID_INPUT', 'a replay needs at least one backend')
  const arrivalAbs = requests.arrival
  const start = input.start ?? (n > 0 ? (arrivalAbs[0] as number) : 0)
  const binMs = input.binMs ?? DEFAULT_BIN_MS
  const progressEvery = Math.max(1, input.progressEvery ?? 65_536)
  const inTok = requests.inputTokens
  const outTok = requests.outputTokens
  const clientOf = requests.client
  const rtt = input.networkRttMs

  // 1. Replicas, zones and the chooser's view.
  const replicas: Replica[] = []
  const firstReplica = new Int32Array(nb + 1)
  const zoneNames: string[] = []
  const zoneOfBackend = new Int32Array(nb)
  const capacity = new Int32Array(nb)
  for (let j = 0; j < nb; j++) {
    const b = backends[j] as EngineBackend
    if (!Number.isInteger(b.replicas) || b.replicas < 1) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `backend ${b.id}: replicas must be an integer ≥ 1`,
      )
    }
    const tables = tabulateProfile(b.profile, b.maxConcurrency)
    firstReplica[j] = replicas.length
    for (let r = 0; r < b.replicas; r++) replicas.push(new Replica(j, tables))
    capacity[j] = b.replicas * b.maxConcurrency
    let z = zoneNames.indexOf(b.zone)
    if (z < 0) z = zoneNames.push(b.zone) - 1
    zoneOfBackend[j] = z
  }
  firstReplica[nb] = replicas.length
  const view: EngineView = {
    now: start,
    inflight: new Int32Array(nb),
    queued: new Int32Array(nb),
    intensity: new Float64Array(nb),
    capacity,
  }
  const queues = backends.map(() => new FifoQueue())
  const peakQueued = new Int32Array(nb)
  const served = new Int32Array(nb)
  const carbonBins: Float64Array[] = backends.map(() => new Float64Array(64))
  const requestBins: Float64Array[] = backends.map(() => new Float64Array(64))

  const backendOf = new Int32Array(n).fill(-1)
  const latency = new Float64Array(n)
  const queueMs = new Float64Array(n)
  const energy = new Float64Array(n)
  const carbon = new Float64Array(n)
  const events = new EventQueue(Math.max(16, replicas.length * 2 + zoneNames.length))
  let eventCount = 0
  let inflightTotal = 0

  // 2. Intensity: one step per zone at a time, refreshed by events.
  const setIntensity = (z: number, rel: number): void => {
    const zone = zoneNames[z] as string
    const step = input.intensity(zone, start + rel)
    if (!Number.isFinite(step.intensity) || step.intensity < 0) {
      throw new WattlineError(
        'WL_NO_INTENSITY_DATA',
        `no usable intensity for zone ${zone} at ${new Date(start + rel).toISOString()}`,
      )
    }
    for (let j = 0; j < nb; j++) {
      if (zoneOfBackend[j] !== z) continue
      view.intensity[j] = step.intensity
      const factor = carbonPerItJoule((backends[j] as EngineBackend).pue, step.intensity)
      for (let r = firstReplica[j] as number; r < (firstReplica[j + 1] as number); r++) {
        const rep = replicas[r] as Replica
        advance(rep, rel)
        rep.factor = factor
      }
    }
    const next = step.until - start
    if (next > rel && Number.isFinite(next)) events.push(next, EV_INTENSITY, z)
  }

  const addBin = (bins: Float64Array[], j: number, t0: number, t1: number, value: number): void => {
    let arr = bins[j] as Float64Array
    let k0 = Math.floor(t0 / binMs)
    const k1 = Math.floor(t1 / binMs)
    if (k1 >= arr.length) {
      const grown = new Float64Array(Math.max(k1 + 1, arr.length * 2))
      grown.set(arr)
      arr = grown
      bins[j] = arr
    }
    if (k0 === k1 || t1 <= t0) {
      arr[k1] = (arr[k1] as number) + value
      return
    }
    const perMs = value / (t1 - t0)
    let from = t0
    while (k0 <= k1) {
      const to = Math.min(t1, (k0 + 1) * binMs)
      arr[k0] = (arr[k0] as number) + perMs * (to - from)
      from = to
      k0++
    }
  }

  // 3. Closed-form integration of one replica up to `t`.
  function advance(rep: Replica, t: number): void {
    const dt = t - rep.last
    if (dt <= 0) return
    const t0 = rep.last
    rep.last = t
    const tb = rep.tables
    const b = rep.nIn + rep.nOut
    if (b === 0) {
      const e = (tb.idlePower * dt) / 1000
      const c = e * rep.factor
      rep.energy += e
      rep.idleEnergy += e
      rep.carbon += c
      rep.idleCarbon += c
      if (c !== 0) addBin(carbonBins, rep.backend, t0, t, c)
      return
    }
    const e = ((tb.power[b] as number) * dt) / 1000
    const c = e * rep.factor
    const ri = tb.rateIn[b] as number
    const ro = tb.rateOut[b] as number
    rep.progIn += ri * dt
    rep.progOut += ro * dt
    const wi = ri * (tb.weightIn[b] as number)
    const wo = ro * (tb.weightOut[b] as number)
    const w = rep.nIn * wi + rep.nOut * wo
    if (w > 0) {
      rep.accEIn += (e * wi) / w
      rep.accEOut += (e * wo) / w
      rep.accCIn += (c * wi) / w
      rep.accCOut += (c * wo) / w
    } else {
      rep.accEIn += e / b
      rep.accEOut += e / b
      rep.accCIn += c / b
      rep.accCOut += c / b
    }
    rep.energy += e
    rep.carbon += c
    if (c !== 0) addBin(carbonBins, rep.backend, t0, t, c)
  }

  function schedule(rep: Replica, index: number): void {
    rep.version++
    const b = rep.nIn + rep.nOut
    if (b === 0) return
    const tb = rep.tables
    let next = Number.POSITIVE_INFINITY
    if (rep.nIn > 0) next = (rep.prefill.peekKey() - rep.progIn) / (tb.rateIn[b] as number)
    if (rep.nOut > 0) {
      next = Math.min(next, (rep.decode.peekKey() - rep.progOut) / (tb.rateOut[b] as number))
    }
    events.push(rep.last + Math.max(0, next), EV_REPLICA, index, rep.version)
  }

  function startDecode(rep: Replica, id: number): void {
    energy[id] = (energy[id] as number) - rep.accEOut
    carbon[id] = (carbon[id] as number) - rep.accCOut
    rep.decode.push(rep.progOut + (outTok[id] as number), id)
    rep.nOut++
  }

  function complete(id: number, t: number): void {
    const j = backendOf[id] as number
    latency[id] =
      t - ((arrivalAbs[id] as number) - start) + (rtt[(clientOf[id] as number) * nb + j] as number)
    view.inflight[j] = (view.inflight[j] as number) - 1
    served[j] = (served[j] as number) + 1
    inflightTotal--
  }

  /** Puts request `id` on replica `rep` at `t` (the replica is already advanced to t). */
  function admit(rep: Replica, id: number, t: number): void {
    queueMs[id] = t - ((arrivalAbs[id] as number) - start)
    if ((inTok[id] as number) > 0) {
      energy[id] = -rep.accEIn
      carbon[id] = -rep.accCIn
      rep.prefill.push(rep.progIn + (inTok[id] as number), id)
      rep.nIn++
    } else if ((outTok[id] as number) > 0) {
      energy[id] = 0
      carbon[id] = 0
      startDecode(rep, id)
    } else {
      complete(id, t)
      return
    }
    const running = rep.nIn + rep.nOut
    if (running > rep.peak) rep.peak = running
  }

  function onReplicaEvent(index: number, t: number): void {
    const rep = replicas[index] as Replica
    advance(rep, t)
    const epsIn = 1e-9 * Math.max(1, Math.abs(rep.progIn))
    while (rep.nIn > 0 && rep.prefill.peekKey() <= rep.progIn + epsIn) {
      const id = rep.prefill.pop()
      rep.nIn--
      energy[id] = (energy[id] as number) + rep.accEIn
      carbon[id] = (carbon[id] as number) + rep.accCIn
      if ((outTok[id] as number) > 0) startDecode(rep, id)
      else complete(id, t)
    }
    const epsOut = 1e-9 * Math.max(1, Math.abs(rep.progOut))
    while (rep.nOut > 0 && rep.decode.peekKey() <= rep.progOut + epsOut) {
      const id = rep.decode.pop()
      rep.nOut--
      energy[id] = (energy[id] as number) + rep.accEOut
      carbon[id] = (carbon[id] as number) + rep.accCOut
      complete(id, t)
    }
    // Freed slots take the backend's queue in FIFO order.
    const j = rep.backend
    const q = queues[j] as FifoQueue
    while (q.size > 0 && rep.nIn + rep.nOut < rep.tables.slots) {
      const id = q.shift()
      view.queued[j] = (view.queued[j] as number) - 1
      admit(rep, id, t)
    }
    schedule(rep, index)
  }

  function onArrival(id: number, t: number): void {
    view.now = start + t
    const j = choose(id, view)
    if (!Number.isInteger(j) || j < 0 || j >= nb) {
      throw new WattlineError(
        'WL_INTERNAL',
        `chooser returned backend index ${j} for request ${id}`,
      )
    }
    backendOf[id] = j
    view.inflight[j] = (view.inflight[j] as number) + 1
    inflightTotal++
    addBin(requestBins, j, t, t, 1)
    // The replica with the fewest running requests and a free slot (lowest index on ties).
    let best = -1
    let bestRunning = Number.POSITIVE_INFINITY
    for (let r = firstReplica[j] as number; r < (firstReplica[j + 1] as number); r++) {
      const rep = replicas[r] as Replica
      const running = rep.nIn + rep.nOut
      if (running < rep.tables.slots && running < bestRunning) {
        best = r
        bestRunning = running
      }
    }
    if (best < 0) {
      const q = queues[j] as FifoQueue
      q.push(id)
      view.queued[j] = (view.queued[j] as number) + 1
      if (q.size > (peakQueued[j] as number)) peakQueued[j] = q.size
      return
    }
    const rep = replicas[best] as Replica
    advance(rep, t)
    admit(rep, id, t)
    schedule(rep, best)
  }

  // 4. The loop: heap events at or before the next arrival go first (completions free slots).
  for (let z = 0; z < zoneNames.length; z++) setIntensity(z, 0)
  let next = 0
  let lastArrival = 0
  for (;;) {
    const ta = next < n ? (arrivalAbs[next] as number) - start : Number.POSITIVE_INFINITY
    if (next >= n && inflightTotal === 0) break
    if (events.size > 0 && events.peekTime() <= ta) {
      events.pop()
      eventCount++
      if (events.kind === EV_REPLICA) {
        const rep = replicas[events.target] as Replica
        if (events.aux === rep.version) onReplicaEvent(events.target, events.time)
      } else {
        setIntensity(events.target, events.time)
      }
      continue
    }
    if (ta === Number.POSITIVE_INFINITY) {
      throw new WattlineError(
        'WL_INTERNAL',
        `${inflightTotal} requests in flight with no event pending`,
      )
    }
    if (ta < lastArrival) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `arrivals must be in time order (request ${next})`,
      )
    }
    lastArrival = ta
    eventCount++
    onArrival(next, ta)
    next++
    if (input.onProgress !== undefined && next % progressEvery === 0) input.onProgress(next, n)
  }

  // 5. Close the books: every replica integrates (idle) up to the end of the window.
  let endRel = lastArrival
  for (const rep of replicas) endRel = Math.max(endRel, rep.last)
  if (input.end !== undefined) endRel = Math.max(endRel, input.end - start)
  while (events.size > 0 && events.peekTime() <= endRel) {
    events.pop()
    if (events.kind === EV_INTENSITY) setIntensity(events.target, events.time)
  }
  for (const rep of replicas) advance(rep, endRel)
  input.onProgress?.(n, n)

  const totals: BackendTotals[] = backends.map((b, j) => {
    let e = 0
    let ie = 0
    let c = 0
    let ic = 0
    let peak = 0
    for (let r = firstReplica[j] as number; r < (firstReplica[j + 1] as number); r++) {
      const rep = replicas[r] as Replica
      e += rep.energy
      ie += rep.idleEnergy
      c += rep.carbon
      ic += rep.idleCarbon
      peak = Math.max(peak, rep.peak)
    }
    const bins = Math.max(1, Math.ceil(endRel / binMs))
    return {
      id: b.id,
      zone: b.zone,
      energyJ: e,
      idleEnergyJ: ie,
      carbonG: c,
      idleCarbonG: ic,
      requests: served[j] as number,
      peakRunningPerReplica: peak,
      peakQueued: peakQueued[j] as number,
      carbonByBin: fit(carbonBins[j] as Float64Array, bins),
      requestsByBin: fit(requestBins[j] as Float64Array, bins),
    }
  })
  return {
    start,
    end: start + endRel,
    backend: backendOf,
    latencyMs: latency,
    queueMs,
    energyJ: energy,
    carbonG: carbon,
    backends: totals,
    binStart: start,
    binMs,
    events: eventCount,
  }
}

function fit(arr: Float64Array, length: number): Float64Array {
  const out = new Float64Array(length)
  out.set(arr.subarray(0, Math.min(length, arr.length)))
  return out
}

/** A growable ring buffer of request ids (FIFO). */
class FifoQueue {
  #buf = new Int32Array(16)
  #head = 0
  size = 0
  push(id: number): void {
    if (this.size === this.#buf.length) {
      const grown = new Int32Array(this.#buf.length * 2)
      for (let i = 0; i < this.size; i++)
        grown[i] = this.#buf[(this.#head + i) % this.#buf.length] as number
      this.#buf = grown
      this.#head = 0
    }
    this.#buf[(this.#head + this.size) % this.#buf.length] = id
    this.size++
  }
  shift(): number {
    const id = this.#buf[this.#head] as number
    this.#head = (this.#head + 1) % this.#buf.length
    this.size--
    return id
  }
}
