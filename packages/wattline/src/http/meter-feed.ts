/**
 * @module http/meter-feed
 * Feeds one backend's measured power meter (nvidia-smi, DCGM, Kepler) into its live attribution,
 * and never lets a failing meter hold its last reading forever: when the newest reading is older
 * than `staleAfterMs` (or no reading came within `staleAfterMs` of start), power falls back to the
 * modelled power of the in-flight requests' profiles, the figures are marked `modelled`, the
 * fallback is counted (`wattline_meter_fallback_total`), `wattline_meter_up` drops to 0 and a
 * warning is logged. The next good reading switches back to `measured` (logged at info).
 *
 * `poll()` is called every `interval_ms` by the composition root; it reads the meter (one read at a
 * time; a read still running when the next poll comes is left alone) and then checks staleness, so
 * a fallback happens at most one poll interval after the window ends.
 */
import type { Clock, LedgerSink, PowerMeter } from '@wattline/core'
import type { Logger } from 'pino'
import type { BackendRuntime } from './backend-runtime.ts'
import type { GatewayMetrics } from './metrics.ts'

/** Where a meter stands: waiting for its first reading, giving fresh readings, or stale. */
export type MeterFeedState = 'starting' | 'up' | 'fallback'

export interface MeterFeedOptions {
  readonly backend: BackendRuntime
  readonly meter: PowerMeter
  readonly clock: Clock
  /** Age of the newest reading after which power falls back to modelled (ms). */
  readonly staleAfterMs: number
  /** Timeout of one read (ms). */
  readonly readTimeoutMs: number
  readonly metrics: GatewayMetrics
  readonly logger: Logger
  /** Measured power samples are written here (`kind: 'power'`). */
  readonly ledger: LedgerSink
  /**
   * Whether this process writes the samples now (default: always): with several processes reading
   * the same meter (`serve --workers N`, replicas) one does, so the ledger holds each reading once.
   */
  readonly writeSamples?: () => boolean
}

export interface MeterFeed {
  readonly state: MeterFeedState
  /** When the newest good reading arrived (ms), if any. */
  readonly lastReadingMs: number | undefined
  /** Reads the meter once (unless a read is still running), then checks staleness. */
  poll(): Promise<void>
  /** Falls back to modelled power if the newest reading is older than the window. */
  check(): void
}

/** Creates the feed; the backend starts on modelled power until the first reading. */
export function createMeterFeed(options: MeterFeedOptions): MeterFeed {
  const { backend: rt, meter, clock, metrics, logger } = options
  const where = { backend: rt.config.id, zone: rt.config.zone }
  const startedMs = clock.now()
  let state: MeterFeedState = 'starting'
  let lastReadingMs: number | undefined
  let lastError: unknown
  let failures = 0
  let reading = false
  rt.meterSource = meter.name
  rt.meterFallback = false
  metrics.meterUp.set(where, 0)
  metrics.meterFallbacks.inc(where, 0)
  metrics.meterReadFailures.inc(where, 0)

  /** `wattline_backend_power_watts` follows every switch at once, not only at the next flush. */
  function showPower(): void {
    const method = rt.tracker.method
    metrics.backendPower.set({ ...where, method }, rt.tracker.powerW)
    metrics.backendPower.remove({
      ...where,
      method: method === 'measured' ? 'modelled' : 'measured',
    })
  }

  function fail(error: unknown): void {
    lastError = error
    failures++
    metrics.meterReadFailures.inc(where)
    if (failures === 1 && state === 'up') {
      logger.warn(
        { backend: rt.config.id, meter: meter.name, err: error },
        'power meter read failed; holding the last reading until it is stale',
      )
    }
  }

  function accept(powerW: number, atMs: number, source: string): void {
    const now = clock.now()
    rt.tracker.setMeasuredPower(now, powerW)
    rt.meterSource = source
    showPower()
    lastReadingMs = now
    failures = 0
    if (state !== 'up') {
      if (state === 'fallback') {
        logger.info(
          { backend: rt.config.id, meter: source },
          'power meter readings resumed; power is measured again',
        )
      }
      state = 'up'
      rt.meterFallback = false
      metrics.meterUp.set(where, 1)
    }
    if (options.writeSamples?.() === false) return
    options.ledger.append({
      kind: 'power',
      backend: rt.config.id,
      at_ms: atMs,
      power_w: powerW,
      method: 'measured',
      source,
    })
  }

  function check(): void {
    if (state === 'fallback') return
    const now = clock.now()
    const since = lastReadingMs ?? startedMs
    if (now - since <= options.staleAfterMs) return
    const wasUp = state === 'up'
    state = 'fallback'
    rt.meterFallback = true
    rt.tracker.useModelledPower(now)
    showPower()
    metrics.meterUp.set(where, 0)
    metrics.meterFallbacks.inc(where)
    logger.warn(
      {
        backend: rt.config.id,
        meter: meter.name,
        last_reading_ms: lastReadingMs ?? null,
        stale_after_ms: options.staleAfterMs,
        failures,
        err: lastError,
      },
      wasUp
        ? 'power meter stale; falling back to modelled power (figures marked modelled)'
        : 'power meter has not read yet; using modelled power (figures marked modelled)',
    )
  }

  return {
    get state() {
      return state
    },
    get lastReadingMs() {
      return lastReadingMs
    },
    check,
    async poll() {
      if (reading) {
        check()
        return
      }
      reading = true
      try {
        const samples = await meter.read(AbortSignal.timeout(options.readTimeoutMs))
        const mine = samples.filter((s) => s.backend === rt.config.id)
        const total = mine.reduce((sum, s) => sum + s.power, 0)
        const latest = mine.reduce((t, s) => Math.max(t, s.at), -Infinity)
        if (mine.length === 0)
          fail(new Error(`meter ${meter.name} gave no reading for this backend`))
        else if (!(Number.isFinite(total) && total >= 0))
          fail(new Error(`meter ${meter.name} gave an unusable power ${total} W`))
        else
          accept(
            total,
            Number.isFinite(latest) ? latest : clock.now(),
            mine[0]?.source ?? meter.name,
          )
      } catch (error) {
        fail(error)
      } finally {
        reading = false
      }
      check()
    },
  }
}
