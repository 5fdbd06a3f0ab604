/**
 * @module batch/batch-scheduler
 * The batch scheduler of one gateway: holds the `batch-scheduler` row lease (one scheduler per
 * database, whatever the number of gateways), re-plans every active batch each tick over the
 * zones its service may use (`planGreenestSlots` on the forecast of `batch-forecast.ts`), and, when
 * the plan says "now", starts lines within the throttle (`batchLineBudget`). Each line runs as an
 * ordinary request through the gateway's own `/v1/chat/completions` (loopback HTTP): admission,
 * routing, accounting and the ledger row are exactly those of interactive traffic.
 *
 * Where: each pass also orders the allowed zones for the current slot (`zoneOrder`: the plan's zone
 * first, then the greenest) and each line carries that order to the gateway's routing (a placement
 * token, `line-placements.ts`), so it runs in the planned zone, or the next one with a healthy
 * backend (logged). Zones whose backends are all down are left out of the plan (re-planned), and a
 * batch with no healthy backend at all waits. The line's ledger row records its time-shift saving.
 *
 * Crash safety: a line's result is recorded once (guarded UPDATE); lines left `running` by a
 * scheduler that died go back to `pending` when the next one takes the lease, so a gateway killed
 * mid-batch resumes without re-running a completed line or losing one. A line in flight at the
 * crash runs again (its first answer was never recorded): at-least-once for at most
 * `max_concurrent_lines` lines, exactly-once in the output file.
 */
import { randomUUID } from 'node:crypto'
import {
  batchLineBudget,
  planGreenestSlots,
  slotStart,
  zoneOrder,
  type CarbonIntensitySource,
  type Clock,
  type SlotIntensity,
} from '@wattline/core'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { request } from 'undici'
import type { WattlineConfig } from '../config/parse-config.ts'
import { savingsCounters } from '../http/metrics.ts'
import { forecastZone, type ZoneForecast } from './batch-forecast.ts'
import { errorLine, outputLine } from './batch-objects.ts'
import type { BatchStore } from './batch-store.ts'
import type { BatchLineRow, BatchRow, BatchStatus } from './batch-tables.ts'
import { PLACEMENT_HEADER, type LinePlacements } from './line-placements.ts'

export const SCHEDULER_LEASE = 'batch-scheduler'
export const CARBON_SAVED_BASIS = 'estimated-counterfactual'
const EXPIRED_MESSAGE = 'batch_expired: the completion window ended before this line ran'
/**
 * Attempts after which a line the gateway could not serve (502/504: every backend tried failed)
 * is recorded as failed rather than sent again: a line that makes every backend fail would
 * otherwise be retried until its window ends. Refusals (429/503/408) never count against it.
 */
export const MAX_UPSTREAM_FAILED_ATTEMPTS = 5

export interface BatchSchedulerDeps {
  readonly store: BatchStore
  readonly config: WattlineConfig
  readonly source: CarbonIntensitySource
  /** The scheduler's clock (sped up in tests): deadlines, plans, `ran_at`. */
  readonly clock: Clock
  /** Real time, for the lease's expiry (shared by every gateway). */
  readonly wallNow: () => number
  readonly logger: Logger
  /** Requests in flight in this gateway (interactive + batch). */
  readonly inflight: () => number
  /** Where lines' placements go to the gateway's routing; omitted = lines are not placed. */
  readonly placements?: LinePlacements
  /** Whether a backend is up now (as /readyz: its breaker admits requests and its last probe did not fail); omitted = every backend is. */
  readonly backendUp?: (backendId: string) => boolean
  /** Counts `wattline_carbon_saved_grams_total{lever="time-shift"}`; omitted = not counted. */
  readonly registry?: Registry
}

export interface BatchScheduler {
  readonly holder: string
  /** Starts ticking against the gateway at `baseUrl` (its own listen address). */
  start(baseUrl: string): void
  /** One scheduling pass (tests call it; the timer calls it every `batch.tick_ms`). */
  tick(): Promise<void>
  /** Stops ticking, waits for lines in flight, releases the lease. */
  close(): Promise<void>
  /** Lines this gateway has in flight. */
  running(): number
}

export function createBatchScheduler(deps: BatchSchedulerDeps): BatchScheduler {
  const { store, config, clock, logger } = deps
  const cfg = config.batch
  const holder = `${process.pid}-${randomUUID()}`
  let baseUrl = ''
  let holding = false
  let timer: NodeJS.Timeout | undefined
  let ticking: Promise<void> | undefined
  let closed = false
  const inflight = new Map<string, number>() // batch id → lines in flight here
  const tasks = new Set<Promise<void>>()
  let lineMsMean: number | undefined // measured real ms per line (EWMA)
  let eligible: BatchRow[] = []
  const forced = new Set<string>() // batches whose plan the deadline forces
  const forecastCache = new Map<string, { slot: number; f: ZoneForecast }>()

  const own = (): number => [...inflight.values()].reduce((s, n) => s + n, 0)

  const placed = new Map<string, readonly string[]>() // batch id → zones for now, preferred first
  const waiting = new Set<string>() // batches with no backend up (logged once)
  const carbonSaved =
    deps.registry === undefined ? undefined : savingsCounters(deps.registry).carbon

  /** The zones a service's backends are in; `up`: only those with a backend up now. */
  const zonesOf = (service: string, up = false): string[] => {
    const svc = config.services.find((s) => s.name === service)
    const ids = svc?.backends
    return [
      ...new Set(
        config.backends
          .filter((b) => ids === undefined || ids.includes(b.id))
          .filter((b) => !up || (deps.backendUp?.(b.id) ?? true))
          .map((b) => b.zone),
      ),
    ]
  }
  const capacityOf = (service: string): number => {
    const svc = config.services.find((s) => s.name === service)
    const ids = svc?.backends
    return config.backends
      .filter((b) => ids === undefined || ids.includes(b.id))
      .reduce((s, b) => s + b.max_concurrency, 0)
  }
  const concurrencyOf = (service: string): number =>
    Math.max(
      1,
      Math.min(cfg.max_concurrent_lines, Math.floor(capacityOf(service) * cfg.max_capacity_share)),
    )

  async function forecast(zone: string, now: number): Promise<ZoneForecast> {
    const slot = slotStart(now, cfg.slot_ms)
    const hit = forecastCache.get(zone)
    if (hit !== undefined && hit.slot === slot) return hit.f
    let f: ZoneForecast
    try {
      f = await forecastZone(deps.source, zone, {
        now_ms: now,
        until_ms: slot + (cfg.max_completion_window_h + 1) * 3_600_000,
        slot_ms: cfg.slot_ms,
        history_days: cfg.forecast_history_days,
      })
    } catch (err) {
      logger.warn({ zone, err }, 'batch forecast unavailable; planning without it (runs early)')
      f = { points: [], basis: 'none' }
    }
    forecastCache.set(zone, { slot, f })
    return f
  }

  async function finalize(b: BatchRow, to: BatchStatus, now: number): Promise<void> {
    const lines = await store.lines(b.id)
    const ok = lines.filter((l) => l.status === 'done')
    const bad = lines.filter((l) => l.status !== 'done')
    const outId = ok.length === 0 ? null : `file-${b.id.slice('batch_'.length)}-output`
    const errId = bad.length === 0 ? null : `file-${b.id.slice('batch_'.length)}-errors`
    const stamp =
      to === 'completed'
        ? { completed_at_ms: now }
        : to === 'cancelled'
          ? { cancelled_at_ms: now }
          : to === 'expired'
            ? { expired_at_ms: now }
            : { failed_at_ms: now }
    await store.db.transaction().execute(async (tx) => {
      const files = [
        [outId, ok.map((l) => outputLine(b.id, l)), 'batch_output'] as const,
        [errId, bad.map((l) => errorLine(b.id, l)), 'batch_output'] as const,
      ]
      for (const [id, rows, purpose] of files) {
        if (id === null) continue
        const content = rows.length === 0 ? '' : `${rows.join('\n')}\n`
        await tx
          .insertInto('batch_files')
          .values({
            id,
            purpose,
            filename: id === outId ? `${b.id}_output.jsonl` : `${b.id}_error.jsonl`,
            bytes: Buffer.byteLength(content),
            service: b.service,
            tenant: b.tenant,
            created_at_ms: now,
            content,
          })
          .execute()
      }
      await tx
        .updateTable('batches')
        .set({
          status: to,
          output_file_id: outId,
          error_file_id: errId,
          finalizing_at_ms: now,
          ...stamp,
        })
        .where('id', '=', b.id)
        .where('status', '=', b.status)
        .execute()
    })
    placed.delete(b.id)
    waiting.delete(b.id)
    logger.info(
      { batch: b.id, status: to, completed: ok.length, failed: bad.length },
      'batch finished',
    )
  }

  async function runLine(b: BatchRow, l: BatchLineRow): Promise<void> {
    const started = performance.now()
    const requestId = `${b.id}-${l.line_no}-${l.attempts}`
    const key = config.secrets.tenantKeys.find(
      (k) => k.service === b.service && (b.tenant === null || k.tenant === b.tenant),
    )?.key
    let status = 0
    let text = ''
    let headers: Record<string, string | string[] | undefined> = {}
    const submit = JSON.parse(b.submit_intensity) as Record<string, number>
    const submitMin = Math.min(...Object.values(submit).filter((v) => Number.isFinite(v)))
    const zones = placed.get(b.id)
    const token = deps.placements?.issue({
      caller: { service: b.service, tenant: b.tenant },
      zones: zones ?? zonesOf(b.service),
      ...(Number.isFinite(submitMin) ? { timeShiftFromGPerKwh: submitMin } : {}),
    })
    try {
      const res = await request(`${baseUrl}${b.endpoint}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': requestId,
          'x-wattline-service': b.service,
          ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
          ...(token === undefined ? {} : { [PLACEMENT_HEADER]: token }),
        },
        body: l.body ?? '{}',
      })
      status = res.statusCode
      headers = res.headers
      text = await res.body.text()
    } catch (err) {
      logger.warn({ batch: b.id, line: l.line_no, err }, 'batch line not sent; back to pending')
    } finally {
      if (token !== undefined) deps.placements?.drop(token)
    }
    // Refused (queue full, draining, no healthy backend) or every backend tried failed: the line
    // is sent again later, never lost (the latter at most MAX_UPSTREAM_FAILED_ATTEMPTS times).
    const refused = status === 0 || status === 429 || status === 503 || status === 408
    const upstreamFailed =
      (status === 502 || status === 504) && l.attempts < MAX_UPSTREAM_FAILED_ATTEMPTS
    if (refused || upstreamFailed) {
      if (upstreamFailed)
        logger.warn(
          { batch: b.id, line: l.line_no, status, attempts: l.attempts },
          'batch line: no backend could serve it; back to pending',
        )
      await store.db
        .updateTable('batch_lines')
        .set({ status: 'pending', claimed_by: null })
        .where('batch_id', '=', b.id)
        .where('line_no', '=', l.line_no)
        .where('status', '=', 'running')
        .where('claimed_by', '=', holder)
        .execute()
      return
    }
    const realMs = performance.now() - started
    lineMsMean = lineMsMean === undefined ? realMs : 0.8 * lineMsMean + 0.2 * realMs
    const num = (h: string): number | null => {
      const v = Number(headers[h])
      return headers[h] === undefined || !Number.isFinite(v) ? null : v
    }
    const carbon = num('x-wattline-carbon-g')
    const intensity = num('x-wattline-intensity-g-per-kwh')
    // counterfactual: the same facility energy at the intensity run-now would have met. The
    // gateway states it (the ledger row's time-shift saving, unrounded) for a placed line; else
    // it is derived from the rounded headers.
    const stated = num('x-wattline-carbon-saved-g')
    const saved =
      stated !== null
        ? stated
        : carbon !== null && intensity !== null && intensity > 0 && Number.isFinite(submitMin)
          ? (carbon / intensity) * submitMin - carbon
          : null
    const zone = headers['x-wattline-zone']
    if (zones !== undefined && typeof zone === 'string' && zone !== zones[0])
      logger.warn(
        { batch: b.id, line: l.line_no, planned_zone: zones[0], zone },
        'batch line ran outside its planned zone (no healthy backend there)',
      )
    const recorded = await store.finishLine(
      b.id,
      l.line_no,
      holder,
      status >= 200 && status < 300 ? 'done' : 'failed',
      {
        request_id: requestId,
        response_status: status,
        response_body: text,
        error: null,
        ran_at_ms: clock.now(),
        zone: typeof zone === 'string' ? zone : null,
        energy_j: num('x-wattline-energy-j'),
        carbon_g: carbon,
        intensity_g_per_kwh: intensity,
        carbon_saved_g: saved,
        carbon_saved_basis: saved === null ? null : CARBON_SAVED_BASIS,
      },
    )
    if (!recorded)
      logger.warn({ batch: b.id, line: l.line_no }, 'batch line result not recorded: lease lost')
    // Counted once per recorded line; a dirtier run (negative saving) is in the ledger, not here.
    else if (saved !== null && saved > 0 && stated !== null)
      carbonSaved?.inc({ lever: 'time-shift', service: b.service }, saved)
  }

  // one fill at a time (claims are async: two at once would both see the same free budget)
  let filling: Promise<void> | undefined
  let refill = false
  function fill(): Promise<void> {
    if (filling !== undefined) {
      refill = true
      return filling
    }
    filling = (async () => {
      do {
        refill = false
        await fillOnce()
      } while (refill)
    })().finally(() => {
      filling = undefined
    })
    return filling
  }

  /** Starts lines of the eligible batches up to the throttle budget. */
  async function fillOnce(): Promise<void> {
    if (!holding || closed) return
    for (const b of eligible) {
      const budget =
        batchLineBudget({
          capacity: capacityOf(b.service),
          interactive_in_flight: deps.inflight() - own(),
          max_share: cfg.max_capacity_share,
          max_concurrent_lines: cfg.max_concurrent_lines,
        }) - own()
      // a batch the deadline forces keeps one line going even under full interactive load
      const allowed =
        forced.has(b.id) && (inflight.get(b.id) ?? 0) === 0 ? Math.max(1, budget) : budget
      if (allowed <= 0) continue
      const claimed = await store.claim(b.id, allowed, holder)
      for (const l of claimed) {
        inflight.set(b.id, (inflight.get(b.id) ?? 0) + 1)
        const task = runLine(b, l)
          .catch((err: unknown) => logger.error({ err, batch: b.id }, 'batch line failed'))
          .finally(() => {
            inflight.set(b.id, (inflight.get(b.id) ?? 1) - 1)
            tasks.delete(task)
            void fill().catch((err: unknown) => logger.error({ err }, 'batch fill failed'))
          })
        tasks.add(task)
      }
    }
  }

  async function pass(): Promise<void> {
    const held = await store.lease(SCHEDULER_LEASE, holder, deps.wallNow(), cfg.lease_ms)
    if (!held) {
      if (holding) logger.warn('batch scheduler lease lost to another gateway')
      holding = false
      eligible = []
      return
    }
    if (!holding) {
      holding = true
      const orphans = await store.releaseOrphans(holder)
      logger.info({ holder, orphans }, 'batch scheduler lease taken')
    }
    const now = clock.now()
    const next: BatchRow[] = []
    for (const b of await store.activeBatches()) {
      const mine = inflight.get(b.id) ?? 0
      const counts = await store.counts(b.id)
      if (b.status === 'cancelling') {
        if (mine === 0) {
          await store.closePending(b.id, 'cancelled', `line cancelled before it ran`)
          await finalize(b, 'cancelled', now)
        }
        continue
      }
      if (now >= b.deadline_ms) {
        // the window ended: lines not started fail as expired; the batch ends once none is in flight
        if (counts.pending > 0) await store.closePending(b.id, 'failed', EXPIRED_MESSAGE)
        if (mine === 0) {
          const expired = counts.pending > 0 || (await store.failedWith(b.id, 'batch_expired')) > 0
          await finalize(b, expired ? 'expired' : 'completed', now)
        }
        continue
      }
      if (counts.pending === 0 && counts.running === 0 && mine === 0) {
        await finalize(b, 'completed', now)
        continue
      }
      if (counts.pending === 0) continue
      // Zones with a backend up: a zone whose backends are all down is planned out (re-planned
      // back in once one answers its health probe again).
      const healthy = zonesOf(b.service, true)
      const zones = healthy.length > 0 ? healthy : zonesOf(b.service)
      const fc = new Map<string, readonly SlotIntensity[]>()
      const bases: Record<string, string> = {}
      for (const z of zones) {
        const f = await forecast(z, now)
        fc.set(z, f.points)
        bases[z] = f.basis
      }
      const lineMs = (lineMsMean ?? cfg.estimated_line_ms) * cfg.clock_speed
      const workMs = ((counts.pending + mine) * lineMs) / concurrencyOf(b.service)
      const plan = planGreenestSlots({
        now_ms: now,
        deadline_ms: b.deadline_ms,
        slots_needed: workMs / cfg.slot_ms,
        slot_ms: cfg.slot_ms,
        forecast: fc,
        margin_slots: cfg.margin_slots,
      })
      const summary = JSON.stringify({
        planned_at: new Date(now).toISOString(),
        run_now: plan.run_now,
        forced: plan.forced,
        slots: plan.slots.map((s) => ({
          start: new Date(s.start_ms).toISOString(),
          zone: s.zone,
          intensity_g_per_kwh: Number.isFinite(s.intensity_g_per_kwh)
            ? Math.round(s.intensity_g_per_kwh * 10) / 10
            : null,
        })),
        mean_forecast_intensity_g_per_kwh: Number.isFinite(plan.mean_intensity_g_per_kwh)
          ? Math.round(plan.mean_intensity_g_per_kwh * 10) / 10
          : null,
        forecast_basis: bases,
        estimated_work_ms: Math.round(workMs),
      })
      const slotsKey = (p: string | null): string =>
        p === null ? '' : JSON.stringify((JSON.parse(p) as { slots: unknown }).slots)
      if (slotsKey(b.plan) !== slotsKey(summary)) await store.setPlan(b.id, summary)
      // a slot starts once the gateway's intensity board has refreshed into it, so lines are
      // charged the slot's intensity, not the previous hour's (unless the deadline forces)
      const grace = config.gateway.intensity_refresh_ms * cfg.clock_speed
      const settled = now - slotStart(now, cfg.slot_ms) >= Math.min(grace, cfg.slot_ms / 4)
      placed.set(
        b.id,
        zoneOrder({ planned: plan.zone_now, now_ms: now, slot_ms: cfg.slot_ms, forecast: fc }),
      )
      if (healthy.length === 0) {
        // nothing to send lines to: wait (lines sent now would only be refused)
        if (!waiting.has(b.id)) logger.warn({ batch: b.id }, 'batch waits: no backend is up')
        waiting.add(b.id)
      } else {
        if (waiting.delete(b.id)) logger.info({ batch: b.id }, 'batch resumes: a backend is up')
        if (plan.run_now && (settled || plan.forced)) next.push(b)
      }
      if (plan.forced) forced.add(b.id)
      else forced.delete(b.id)
    }
    eligible = next
    await fill()
  }

  return {
    holder,
    running: own,
    tick: () => {
      ticking ??= pass()
        .catch((err: unknown) => logger.error({ err }, 'batch scheduler pass failed'))
        .finally(() => {
          ticking = undefined
        })
      return ticking
    },
    start(url) {
      baseUrl = url
      const t = setInterval(() => void this.tick(), cfg.tick_ms)
      t.unref()
      timer = t
      void this.tick()
    },
    async close() {
      closed = true
      if (timer !== undefined) clearInterval(timer)
      await ticking
      await Promise.allSettled([...tasks])
      if (holding) await store.releaseLease(SCHEDULER_LEASE, holder).catch(() => undefined)
    },
  }
}
