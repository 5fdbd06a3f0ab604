/**
 * @module gateway/routing-reason
 * The ledger's `routing_reason` of a routed request: the decision's reason, the zone a batch line
 * was placed in, and each backend's score (eligible or why not, the policy's score, predicted
 * carbon g and latency ms). Written straight into one string, byte for byte what
 * `JSON.stringify` gives for the object form (`routingReasonObject`, kept as the reference the
 * property test compares against): no intermediate objects, spreads or `Number(toPrecision)`
 * round trips (`sixSignificant`) through an object walk per request. The rows are hash-chained,
 * so the bytes must not change.
 *
 * The result is flattened before it is returned: a string built by `+=` is a rope of ~40 pieces,
 * and a row waits in the ledger's buffer long enough for the young-generation GC to copy every
 * piece; kept as a rope it measured slower than `JSON.stringify` (in-process A/B, docs/benchmarks.md).
 */
import type { BackendScore } from '@wattline/core'
import { sixSignificant } from './significant.ts'

/** What `routing_reason` reads of a decision (a `RoutingDecision` has it). */
export interface ScoredDecision {
  readonly reason: string
  readonly scores: readonly (Pick<BackendScore, 'backend' | 'eligible' | 'reason'> & {
    readonly predictedCarbon: number
    readonly predictedLatency: number
    readonly score: number
  })[]
}

/**
 * JSON strings of the backend ids and decision reasons seen (bounded: the config's backends, and
 * the policies' reasons — mostly a few constant sentences, e.g. carbon-aware's "greenest feasible").
 */
const quoted = new Map<string, string>()

function quote(s: string): string {
  let q = quoted.get(s)
  if (q === undefined) {
    q = JSON.stringify(s)
    if (quoted.size < 1024) quoted.set(s, q)
  }
  return q
}

/** `{"backend":<id>,"eligible":<true|false>` per backend id: one piece, not four, per score. */
const heads = new Map<string, readonly [eligible: string, ineligible: string]>()

function head(backend: string, eligible: boolean): string {
  let h = heads.get(backend)
  if (h === undefined) {
    const start = '{"backend":' + quote(backend) + ',"eligible":'
    h = [start + 'true', start + 'false']
    if (heads.size < 1024) heads.set(backend, h)
  }
  return eligible ? h[0] : h[1]
}

/** A number as `JSON.stringify` writes it (`null` when not finite; -0 as `0`). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null'
}

/** `routing_reason` of a routed decision (`placedInZone`: a batch line's zone, when pinned). */
export function routingReasonJson(d: ScoredDecision, placedInZone: string | undefined): string {
  let out = '{"reason":' + quote(d.reason)
  if (placedInZone !== undefined) out += ',"placed_in_zone":' + JSON.stringify(placedInZone)
  out += ',"scores":['
  const scores = d.scores
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as ScoredDecision['scores'][number]
    if (i > 0) out += ','
    out += head(s.backend, s.eligible)
    if (s.reason !== undefined) out += ',"why":' + JSON.stringify(s.reason)
    out +=
      ',"score":' +
      (Number.isFinite(s.score) ? num(sixSignificant(s.score)) : 'null') +
      ',"carbon_g":' +
      num(sixSignificant(s.predictedCarbon)) +
      ',"latency_ms":' +
      num(Math.round(s.predictedLatency)) +
      '}'
  }
  out += ']}'
  out.charCodeAt(0) // flatten the rope: one flat string to keep and clone, not ~40 pieces
  return out
}

/** The object form `routingReasonJson` serialises (the reference of its test). */
export function routingReasonObject(d: ScoredDecision, placedInZone: string | undefined): unknown {
  return {
    reason: d.reason,
    // batch placement: the other zones' backends were ineligible (scored `unhealthy`)
    ...(placedInZone === undefined ? {} : { placed_in_zone: placedInZone }),
    scores: d.scores.map((s) => ({
      backend: s.backend,
      eligible: s.eligible,
      ...(s.reason === undefined ? {} : { why: s.reason }),
      score: Number.isFinite(s.score) ? Number(s.score.toPrecision(6)) : null,
      carbon_g: Number(s.predictedCarbon.toPrecision(6)),
      latency_ms: Math.round(s.predictedLatency),
    })),
  }
}
