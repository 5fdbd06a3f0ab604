/**
 * @module levers/prefix-affinity
 * Prefix-affinity routing: a request whose prompt prefix a backend already holds goes there, so the
 * model server skips that part of the prefill, while that backend has a free slot and (composing
 * with carbon-aware routing) its zone is not dirtier than the policy's choice by more than
 * `maxCarbonPenaltyPct`. The policy weight between affinity and a greener zone is that percentage.
 */
import type { LeverContext, RoutingLever } from '../engine/router.ts'
import { PREFIX_BLOCK_TOKENS, type PrefixCacheTable } from './prefix-cache.ts'

export interface PrefixAffinityOptions {
  readonly table: PrefixCacheTable
  /** Backend ids in table order. */
  readonly backendIds: readonly string[]
  /** The blocks of the request being decided (undefined = no prefix identity). */
  readonly blocksOf: () => ArrayLike<number> | undefined
  /** Affinity may choose a zone this much dirtier than the policy's choice, %. */
  readonly maxCarbonPenaltyPct: number
}

/** The lever, for the router's `levers` list. */
export function createPrefixAffinityLever(options: PrefixAffinityOptions): RoutingLever {
  const index = new Map(options.backendIds.map((id, i) => [id, i] as const))
  return {
    name: 'prefix',
    review(context: LeverContext) {
      const blocks = options.blocksOf()
      if (blocks === undefined || blocks.length === 0) return undefined
      const { decision, snapshot } = context
      const chosenIdx = index.get(decision.backend)
      if (chosenIdx === undefined) return undefined
      const chosenState = snapshotStateOf(snapshot, chosenIdx, decision.backend)
      const have = options.table.match(chosenIdx, blocks)
      let best = -1
      let bestMatch = have
      for (const s of decision.scores) {
        if (!s.eligible || s.backend === decision.backend) continue
        const j = index.get(s.backend)
        const state = j === undefined ? undefined : snapshotStateOf(snapshot, j, s.backend)
        if (j === undefined || state === undefined) continue
        if (state.inflight >= state.maxConcurrency) continue
        if (
          chosenState !== undefined &&
          state.intensity.intensity * state.pue >
            chosenState.intensity.intensity *
              chosenState.pue *
              (1 + options.maxCarbonPenaltyPct / 100)
        )
          continue
        const m = options.table.match(j, blocks)
        if (m > bestMatch) {
          best = j
          bestMatch = m
        }
      }
      if (best < 0) return undefined
      const id = options.backendIds[best] as string
      return {
        backend: id,
        action: {
          lever: 'prefix',
          detail: `moved to ${id}: ${bestMatch} of ${blocks.length} prompt blocks cached there (${have} on ${decision.backend})`,
        },
      }
    },
  }
}

/**
 * The state of backend `id` (index `j` in the lever's backend list) in a snapshot. A router
 * snapshot holds only the service's own backends (a service limited by `backends:` sees fewer, so
 * indices differ from the fleet's): the index is a fast path, the id decides.
 */
export function snapshotStateOf(
  snapshot: LeverContext['snapshot'],
  j: number,
  id: string,
): LeverContext['snapshot']['backends'][number] | undefined {
  const at = snapshot.backends[j]
  if (at !== undefined && at.id === id) return at
  return snapshot.backends.find((b) => b.id === id)
}

/** Prompt tokens a backend holding `matchedBlocks` leading blocks need not prefill (one always runs). */
export function skippedPrefillTokens(inputTokens: number, matchedBlocks: number): number {
  return Math.max(0, Math.min(inputTokens - 1, matchedBlocks * PREFIX_BLOCK_TOKENS))
}
