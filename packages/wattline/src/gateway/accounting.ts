/**
 * @module gateway/accounting
 * When a response has ended: the request's energy (attributed by the lease's live mark), facility
 * energy and carbon at the zone's intensity now (`http/accounting.ts`), the measured latency
 * overhead that routing learns from, the Prometheus counters and the ledger row — without blocking
 * the request (a ledger that refuses a row is logged, never thrown). The figures land on the
 * exchange for the accounting headers and the usage chunk.
 */
import type { LedgerSink, RequestRecord } from '@wattline/core'
import type { Logger } from 'pino'
import { account } from '../http/accounting.ts'
import { observeLatency, profileOf, type BackendRuntime } from '../http/backend-runtime.ts'
import type { IntensityBoard } from '../http/intensity-board.ts'
import type { GatewayMetrics } from '../http/metrics.ts'
import type { Exchange, Interceptor } from './pipeline.ts'

export interface AccountingDeps {
  readonly intensity: IntensityBoard
  readonly metrics: GatewayMetrics
  readonly ledger: LedgerSink
  readonly logger: Logger
}

/** The label objects of one (service, model, backend): built once, shared, never mutated. */
interface RequestLabels {
  readonly base: {
    readonly service: string
    readonly model: string
    readonly backend: string
    readonly zone: string
  }
  readonly byStatus: Map<
    number,
    Record<'service' | 'model' | 'backend' | 'zone' | 'status', string>
  >
  readonly byMethod: Map<
    string,
    Record<'service' | 'model' | 'backend' | 'zone' | 'method', string>
  >
}

export function createAccounting(deps: AccountingDeps): Interceptor {
  const { metrics } = deps
  // Metric label objects per (service, model, backend) instead of per request: the set is bounded
  // by the config (models are checked before a request is routed).
  const requestLabels = new Map<string, RequestLabels>()
  const labelsFor = (service: string, model: string, rt: BackendRuntime): RequestLabels => {
    const key = `${service}\u0000${model}\u0000${rt.config.id}`
    let l = requestLabels.get(key)
    if (l === undefined) {
      l = {
        base: { service, model, backend: rt.config.id, zone: rt.config.zone },
        byStatus: new Map(),
        byMethod: new Map(),
      }
      requestLabels.set(key, l)
    }
    return l
  }
  return {
    name: 'accounting',
    finish(ex: Exchange, input): void {
      const rt = ex.backend
      const energy = ex.energy
      if (energy === undefined) return // the lease did not run: nothing was attributed
      const endMs = ex.endedMs
      const model = ex.model
      const a = account({
        energy,
        meterSource: rt.meterSource,
        profile: profileOf(rt, model),
        pue: rt.config.pue,
        intensity: deps.intensity.current(rt.config.zone),
      })
      ex.accounting = a
      const latencyMs = endMs - input.arrivedMs
      if (input.completed && input.status < 400) {
        observeLatency(
          rt,
          model,
          endMs - ex.startedMs,
          input.inputTokens,
          input.outputTokens,
          energy.meanOccupancy,
        )
      }
      const l = labelsFor(ex.service, model, rt)
      const labels = l.base
      let withStatus = l.byStatus.get(input.status)
      if (withStatus === undefined) {
        withStatus = { ...labels, status: String(input.status) }
        l.byStatus.set(input.status, withStatus)
      }
      let withMethod = l.byMethod.get(a.method)
      if (withMethod === undefined) {
        withMethod = { ...labels, method: a.method }
        l.byMethod.set(a.method, withMethod)
      }
      metrics.requests.inc(withStatus)
      metrics.duration.observe(labels, latencyMs / 1000)
      metrics.energy.inc(withMethod, a.energyJ)
      metrics.carbon.inc(labels, a.carbonG)
      const d = ex.decision
      const record: RequestRecord = {
        kind: 'request',
        id: input.requestId,
        at_ms: input.arrivedMs,
        service: labels.service,
        tenant: input.tenant,
        model,
        backend: rt.config.id,
        zone: rt.config.zone,
        endpoint: input.endpoint,
        status: input.status,
        streamed: input.streamed,
        input_tokens: input.inputTokens,
        output_tokens: input.outputTokens,
        latency_ms: latencyMs,
        ttft_ms: input.ttftMs,
        energy_j: a.energyJ,
        energy_low_j: a.energyLowJ,
        energy_high_j: a.energyHighJ,
        facility_energy_j: a.facilityEnergyJ,
        pue: a.pue,
        carbon_g: a.carbonG,
        carbon_low_g: a.carbonLowG,
        carbon_high_g: a.carbonHighG,
        intensity_g_per_kwh: a.intensity.intensity,
        intensity_source: a.intensity.source,
        intensity_signal: a.intensity.signal,
        intensity_stale: a.intensity.stale,
        method: a.method,
        energy_source: a.energySource,
        routing_policy: d.policy,
        routing_reason: JSON.stringify({
          reason: d.reason,
          scores: d.scores.map((s) => ({
            backend: s.backend,
            eligible: s.eligible,
            ...(s.reason === undefined ? {} : { why: s.reason }),
            score: Number.isFinite(s.score) ? Number(s.score.toPrecision(6)) : null,
            carbon_g: Number(s.predictedCarbon.toPrecision(6)),
            latency_ms: Math.round(s.predictedLatency),
          })),
        }),
        attempts: ex.attempts,
        error_code: input.errorCode,
      }
      appendSafely(deps, record)
    },
  }
}

/** Appends to the ledger; a refusal is logged, never thrown (accounting never fails a request). */
export function appendSafely(
  deps: Pick<AccountingDeps, 'ledger' | 'logger'>,
  record: Parameters<LedgerSink['append']>[0],
): void {
  try {
    deps.ledger.append(record)
  } catch (error) {
    deps.logger.error({ err: error, kind: record.kind }, 'ledger sink refused a record')
  }
}
