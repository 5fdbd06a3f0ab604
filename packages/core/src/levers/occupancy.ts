/**
 * @module levers/occupancy
 * Occupancy shaping: energy per output token falls as a replica's running batch grows (the fitted
 * E(b) = c + a·b^−k), until time per token makes the request miss its latency objective. The
 * target occupancy of a backend is the largest batch at which a typical request still meets the
 * SLO; the lever fills backends toward their target before spreading load to the next one
 * (consolidation), and only among backends of the policy's chosen zone, so it never undoes a
 * carbon-aware choice.
 */
import type { EnergyProfile } from '../energy/profile.ts'
import type { LeverContext, RoutingLever } from '../engine/router.ts'
import { snapshotStateOf } from './prefix-affinity.ts'

/**
 * Largest running batch (1..slots) at which a request of `inputTokens`/`outputTokens` finishes
 * within `sloMs` on `profile`; `slots` without an SLO.
 */
export function targetOccupancy(
  profile: EnergyProfile,
  slots: number,
  inputTokens: number,
  outputTokens: number,
  sloMs: number | undefined,
): number {
  const cap = Math.max(1, Math.floor(slots))
  if (sloMs === undefined) return cap
  const latency = (b: number): number =>
    inputTokens * profile.timePerInputToken(b) + outputTokens * profile.timePerOutputToken(b)
  if (latency(1) > sloMs) return 1
  let lo = 1
  let hi = cap
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (latency(mid) <= sloMs) lo = mid
    else hi = mid - 1
  }
  return lo
}

export interface OccupancyOptions {
  /** Backend ids in snapshot order. */
  readonly backendIds: readonly string[]
  /** Target running requests per backend (all its replicas), snapshot order. */
  readonly targets: readonly number[]
  /**
   * True when the request should stay on backend `j` (index in `backendIds`) — its prompt prefix
   * is cached there (prefix affinity): consolidation does not move it off while that backend is
   * below its target, so the two levers stack instead of undoing each other. Omitted: never.
   */
  readonly pinned?: (j: number) => boolean
}

/** The consolidation lever, for the router's `levers` list. */
export function createOccupancyLever(options: OccupancyOptions): RoutingLever {
  const index = new Map(options.backendIds.map((id, i) => [id, i] as const))
  return {
    name: 'occupancy',
    review(context: LeverContext) {
      const { decision, snapshot } = context
      const chosenIdx = index.get(decision.backend)
      const chosen =
        chosenIdx === undefined ? undefined : snapshotStateOf(snapshot, chosenIdx, decision.backend)
      if (chosenIdx === undefined || chosen === undefined) return undefined
      if (
        options.pinned?.(chosenIdx) === true &&
        chosen.inflight < (options.targets[chosenIdx] as number)
      )
        return undefined
      // The fullest backend of the chosen zone still below its target.
      let best = -1
      let bestInflight = -1
      for (const s of decision.scores) {
        if (!s.eligible) continue
        const j = index.get(s.backend)
        const state = j === undefined ? undefined : snapshotStateOf(snapshot, j, s.backend)
        if (j === undefined || state === undefined || state.zone !== chosen.zone) continue
        if (state.inflight >= (options.targets[j] as number)) continue
        if (state.inflight > bestInflight) {
          best = j
          bestInflight = state.inflight
        }
      }
      if (best < 0 || best === chosenIdx) return undefined
      if (
        bestInflight <= chosen.inflight &&
        chosen.inflight < (options.targets[chosenIdx] as number)
      )
        return undefined
      const id = options.backendIds[best] as string
      return {
        backend: id,
        action: {
          lever: 'occupancy',
          detail: `filled ${id} (${bestInflight} of ${options.targets[best]} target) before ${decision.backend} (${chosen.inflight})`,
        },
      }
    },
  }
}
