/**
 * @module sim/batching-engine
 * The iteration-level (continuous batching) scheduler behind a simulated model server, in the
 * manner of vLLM and Orca: every iteration admits waiting sequences up to the batch limit, prefills
 * the newly admitted ones and decodes one token for every running sequence. An iteration lasts
 * `timePerOutputToken(batch) + Σ newPromptTokens × timePerInputToken(batch)` of the backend's
 * energy profile (fitted to ML.ENERGY measurements), and draws `power(batch)` for that long; with
 * nothing to do the backend draws `idlePower`. Durations are divided by `timeScale` to compress time;
 * energy is integrated over the uncompressed (model) time, so a compressed run reports the joules
 * the real hardware would have used.
 *
 * Real time and timers are injected (`now`, `schedule`), so tests drive the engine deterministically.
 */
import type { EnergyProfile } from '@wattline/core'

/** One generation request inside the engine. */
export interface SequenceSpec {
  readonly inputTokens: number
  /** Tokens to generate; 0 means prefill only (embeddings). */
  readonly outputTokens: number
  /** Called as each output token is produced, with its 0-based index. */
  readonly onToken?: (index: number) => void
  /** Called once when the sequence has finished (never after `cancel`). */
  readonly onDone: () => void
}

export interface SequenceHandle {
  /** Removes the sequence from the queue or the running batch; its callbacks stop. */
  cancel(): void
}

export interface EngineStats {
  /** Sequences in the running batch. */
  readonly running: number
  /** Sequences waiting for a batch slot. */
  readonly waiting: number
  /** Sequences finished / cancelled since start. */
  readonly completed: number
  readonly cancelled: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** Energy drawn since start, including idle, over model (uncompressed) time (J, modelled). */
  readonly energyJ: number
  /** Of which drawn while idle (J, modelled). */
  readonly idleEnergyJ: number
  /** Power drawn now at the current batch occupancy (W, modelled). */
  readonly powerW: number
  /** Model time since start (ms) = real time × timeScale. */
  readonly modelTimeMs: number
}

export interface BatchingEngineOptions {
  readonly profile: EnergyProfile
  /** Largest running batch; defaults to the profile's `maxBatch`. */
  readonly maxBatch?: number
  /** Model milliseconds per real millisecond (1 = real time). */
  readonly timeScale?: number
}

export interface BatchingEngineDeps {
  /** Monotonic real time in milliseconds (e.g. `performance.now`). */
  readonly now: () => number
  /** Runs `fire` after `delayMs` real milliseconds; returns a cancel function. */
  readonly schedule: (delayMs: number, fire: () => void) => () => void
}

export interface BatchingEngine {
  submit(spec: SequenceSpec): SequenceHandle
  stats(): EngineStats
  /** Cancels every sequence and stops the timers. */
  stop(): void
}

interface Sequence {
  readonly spec: SequenceSpec
  emitted: number
  prefilled: boolean
  live: boolean
}

/** Creates a continuous-batching engine over an energy profile. */
export function createBatchingEngine(
  options: BatchingEngineOptions,
  deps: BatchingEngineDeps,
): BatchingEngine {
  const { profile } = options
  const maxBatch = Math.max(1, Math.floor(options.maxBatch ?? profile.maxBatch))
  const timeScale = options.timeScale ?? 1
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
    throw new RangeError(`timeScale must be a positive number, got ${String(timeScale)}`)
  }
  const started = deps.now()
  let running: Sequence[] = []
  const waiting: Sequence[] = []
  let completed = 0
  let cancelled = 0
  let inputTokens = 0
  let outputTokens = 0
  let busyEnergyJ = 0
  let idleEnergyJ = 0
  /** Real time at which the current iteration ends; undefined while idle. */
  let iterationEnd: number | undefined
  let iterationBatch = 0
  let iterationPrefill: Sequence[] = []
  /** Real time since which the engine has been idle (idle energy accrues from here). */
  let idleSince: number | undefined = started
  let cancelTimer: (() => void) | undefined
  let stopped = false

  const model = (realMs: number): number => realMs * timeScale

  function accrueIdle(until: number): void {
    if (idleSince === undefined) return
    idleEnergyJ += (profile.idlePower * model(until - idleSince)) / 1000
    idleSince = until
  }

  /** Starts an iteration at real time `at`; returns false when there is nothing to run. */
  function beginIteration(at: number): boolean {
    running = running.filter((s) => s.live)
    const admitted: Sequence[] = []
    while (running.length < maxBatch) {
      const next = waiting.shift()
      if (next === undefined) break
      if (!next.live) continue
      running.push(next)
      admitted.push(next)
    }
    if (running.length === 0) {
      iterationEnd = undefined
      idleSince = at
      return false
    }
    accrueIdle(at)
    idleSince = undefined
    iterationBatch = running.length
    iterationPrefill = admitted
    const decoding = running.some((s) => s.prefilled)
    let durationModelMs =
      decoding || admitted.some((s) => s.spec.outputTokens > 0)
        ? profile.timePerOutputToken(iterationBatch)
        : 0
    for (const s of admitted) {
      durationModelMs += s.spec.inputTokens * profile.timePerInputToken(iterationBatch)
    }
    durationModelMs = Math.max(durationModelMs, 0.001)
    busyEnergyJ += (profile.power(iterationBatch) * durationModelMs) / 1000
    iterationEnd = at + durationModelMs / timeScale
    return true
  }

  /** Ends the current iteration: one token for every running sequence, finish the complete ones. */
  function endIteration(): void {
    for (const s of iterationPrefill) {
      s.prefilled = true
      inputTokens += s.spec.inputTokens
    }
    iterationPrefill = []
    const finished: Sequence[] = []
    for (const s of running) {
      if (!s.live) continue
      if (s.emitted < s.spec.outputTokens) {
        const index = s.emitted
        s.emitted += 1
        outputTokens += 1
        s.spec.onToken?.(index)
      }
      if (s.live && s.prefilled && s.emitted >= s.spec.outputTokens) {
        s.live = false
        finished.push(s)
      }
    }
    running = running.filter((s) => s.live)
    for (const s of finished) {
      completed += 1
      s.spec.onDone()
    }
  }

  /** Advances through every iteration that has ended by now, then arms one timer for the next. */
  function pump(): void {
    cancelTimer = undefined
    if (stopped) return
    let now = deps.now()
    // Bounded: each pass ends one iteration that has already elapsed; tokens of a compressed
    // run come out in small bursts rather than one timer per token.
    for (let guard = 0; guard < 100_000; guard += 1) {
      if (iterationEnd === undefined) {
        if (!beginIteration(now)) return
      }
      const end = iterationEnd
      if (end === undefined || end > now) break
      endIteration()
      if (!beginIteration(end)) return
      now = deps.now()
    }
    const end = iterationEnd
    if (end !== undefined) cancelTimer = deps.schedule(Math.max(0, end - deps.now()), pump)
  }

  return {
    submit(spec: SequenceSpec): SequenceHandle {
      if (stopped) throw new Error('the simulated engine has stopped')
      const seq: Sequence = { spec, emitted: 0, prefilled: false, live: true }
      waiting.push(seq)
      // Arrivals in the same tick join one iteration, as a server's scheduler would batch them.
      if (iterationEnd === undefined && cancelTimer === undefined) {
        cancelTimer = deps.schedule(0, pump)
      }
      return {
        cancel(): void {
          if (!seq.live) return
          seq.live = false
          cancelled += 1
        },
      }
    },
    stats(): EngineStats {
      const now = deps.now()
      const idleNow =
        idleSince === undefined ? 0 : (profile.idlePower * model(now - idleSince)) / 1000
      const batch = iterationEnd === undefined ? 0 : iterationBatch
      return {
        running: running.filter((s) => s.live).length,
        waiting: waiting.filter((s) => s.live).length,
        completed,
        cancelled,
        inputTokens,
        outputTokens,
        energyJ: busyEnergyJ + idleEnergyJ + idleNow,
        idleEnergyJ: idleEnergyJ + idleNow,
        powerW: batch === 0 ? profile.idlePower : profile.power(batch),
        modelTimeMs: model(now - started),
      }
    },
    stop(): void {
      stopped = true
      cancelTimer?.()
      cancelTimer = undefined
      for (const s of [...running, ...waiting]) {
        if (s.live) {
          s.live = false
          cancelled += 1
        }
      }
      running = []
      waiting.length = 0
    },
  }
}
