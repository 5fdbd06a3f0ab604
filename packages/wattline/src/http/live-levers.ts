/**
 * @module http/live-levers
 * Prefix-affinity routing and occupancy shaping in the live gateway, with the same core lever code
 * `wattline replay --levers prefix,occupancy` runs (`createPrefixAffinityLever`,
 * `createOccupancyLever`, `targetOccupancy`, `createPrefixCacheTable` from @wattline/core), plugged
 * into the one router through its `levers` hook. This shell only feeds them what the gateway knows:
 *
 * - prefix identity: the request's prompt hashed in character blocks (`prompt-blocks.ts`); each
 *   answered request's blocks are recorded in its backend's prefix table after it was served;
 * - occupancy targets: per backend, core's `targetOccupancy` on the backend's profile for the
 *   service's typical request (running mean of its requests' prompt and output tokens) and p95
 *   objective, or the configured count;
 * - what each lever did to a decision (which backend the policy chose, which one served, the
 *   in-flight counts), from which the saving of each request is estimated at `finish`.
 *
 * Levers are configured per service (`services[].levers`); the router holds one wrapper per lever
 * that hands a decision to the service's own core lever (or to none). A service limited to some
 * backends sees them in its own order, so its core levers get its own backend list and a view of
 * the shared per-backend prefix table in that order. Order: prefix, then occupancy (as in replay).
 */
import {
  createOccupancyLever,
  createPrefixAffinityLever,
  createPrefixCacheTable,
  targetOccupancy,
  type EnergyProfile,
  type LeverContext,
  type LeverEnergySaving,
  type PrefixCacheTable,
  type RoutingLever,
  carbonOfItEnergy,
} from '@wattline/core'
import type { Registry } from 'prom-client'
import { gaugeIn } from '../metrics/registry-metrics.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { profileOf, type BackendRuntime } from './backend-runtime.ts'
import { promptBlocks, skippedPromptTokens, type PromptBlocks } from './prompt-blocks.ts'

export const OCCUPANCY_TARGET_METRIC = 'wattline_backend_occupancy_target'
export const OCCUPANCY_METRIC = 'wattline_backend_occupancy'

/** Relative change of a service's mean request size that makes its `auto` targets recomputed. */
const RETARGET_CHANGE = 0.05

/** What the levers did to one routed request (fleet backend indices). */
export interface LeverNote {
  readonly service: number
  /** The request's prompt blocks (prefix affinity on for its service), else undefined. */
  readonly prompt: PromptBlocks | undefined
  readonly blockChars: number
  /** The policy's choice, before any lever. */
  readonly policyBackend: number
  /** The backend the request was routed to. */
  readonly backend: number
  /** Leading blocks each held at decision time. */
  readonly matchedPolicy: number
  readonly matched: number
  /** The prefix lever moved the request. */
  readonly prefixActed: boolean
  /** The occupancy lever moved it away from `occupancyFrom` (in flight there then). */
  readonly occupancyFrom: number
  readonly occupancyFromInflight: number
  /** In flight on `backend` at decision time (this request not counted). */
  readonly inflight: number
}

export interface LiveLevers {
  /** The router's `levers` (empty when no service enables one). */
  readonly routing: readonly RoutingLever[]
  /**
   * Sets the request the router decides next (call right before `router.decide`); `request`
   * identifies it across its retries and queue waits (its tokens count once in the mean).
   */
  begin(
    service: number,
    request: object,
    model: string,
    prompt: unknown,
    inputTokens: number,
    outputTokens: number,
  ): void
  /** What the levers did, once the router routed to fleet backend `backend` (-1: not routed). */
  end(backend: number): LeverNote | undefined
  /** Prompt tokens the backend still prefills (its prefix cache holds the matched blocks). */
  prefillTokens(note: LeverNote | undefined, inputTokens: number): number
  /** Records an answered request's blocks in its backend's prefix table. */
  served(note: LeverNote | undefined): void
  /** The savings of an answered request (empty when no lever saved anything). */
  savings(note: LeverNote | undefined, work: SavingWork): LeverEnergySaving[]
  /** Occupancy target of each backend (fleet order), undefined where no service shapes it. */
  target(backend: number): number | undefined
  /** Sets `wattline_backend_occupancy` of a backend (no-op without occupancy shaping). */
  occupancy(backend: number, inflight: number): void
}

/** The work of an answered request, for its savings. */
export interface SavingWork {
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly pue: number
  readonly intensityGPerKwh: number
}

interface ServiceLevers {
  readonly prefix?: RoutingLever
  readonly occupancy?: RoutingLever
  readonly blockChars: number
  /** Fleet index of each of the service's backends (its order). */
  readonly fleet: Int32Array
  /** Occupancy targets, the service's order (read by the core lever at each decision). */
  readonly targets: number[]
  readonly auto: boolean
  readonly config: ServiceConfig
  meanIn: number
  meanOut: number
  count: number
  targetedIn: number
  targetedOut: number
}

/** Builds the levers of the configured services over the router's backends (`runtimes` order). */
export function createLiveLevers(
  config: WattlineConfig,
  runtimes: readonly BackendRuntime[],
  registry: Registry,
): LiveLevers {
  const ids = runtimes.map((rt) => rt.config.id)
  const fleetIndex = new Map(ids.map((id, j) => [id, j] as const))
  const prefixOn = config.services.filter((s) => s.levers.prefix_affinity.enabled)
  const capacity = Math.max(
    0,
    ...prefixOn.map((s) => s.levers.prefix_affinity.max_blocks_per_backend),
  )
  const table = createPrefixCacheTable(runtimes.map(() => capacity))
  const anyOccupancy = config.services.some((s) => s.levers.occupancy.enabled)

  let current: { service: number; prompt: PromptBlocks | undefined } | undefined
  /** Requests already counted in their service's mean request size. */
  const observed = new WeakSet<object>()
  /** The latest prompt hashed (a request's retries and queue waits decide again). */
  let hashed: { prompt: unknown; key: string; blocks: PromptBlocks } | undefined
  let note: {
    policyBackend: number
    prefixActed: boolean
    occupancyFrom: number
    occupancyFromInflight: number
    inflight: Map<string, number>
  } = fresh()
  function fresh(): typeof note {
    return {
      policyBackend: -1,
      prefixActed: false,
      occupancyFrom: -1,
      occupancyFromInflight: 0,
      inflight: new Map(),
    }
  }

  const services: ServiceLevers[] = config.services.map((s) => {
    const own = s.backends === undefined ? ids : ids.filter((id) => s.backends?.includes(id))
    const fleet = Int32Array.from(own, (id) => fleetIndex.get(id) as number)
    const view: PrefixCacheTable = {
      match: (b, blocks) => table.match(fleet[b] as number, blocks),
      admit: (b, blocks) => table.admit(fleet[b] as number, blocks),
      size: (b) => table.size(fleet[b] as number),
    }
    const p = s.levers.prefix_affinity
    const o = s.levers.occupancy
    const targets = Array.from(fleet, (j) => {
      const max = (runtimes[j] as BackendRuntime).config.max_concurrency
      return o.target === 'auto' ? max : Math.min(o.target, max)
    })
    return {
      ...(p.enabled
        ? {
            prefix: createPrefixAffinityLever({
              table: view,
              backendIds: own,
              blocksOf: () => current?.prompt?.blocks,
              maxCarbonPenaltyPct: p.max_carbon_penalty_pct,
            }),
          }
        : {}),
      ...(o.enabled
        ? {
            occupancy: createOccupancyLever({
              backendIds: own,
              targets,
              // With prefix affinity on, a request whose prefix is cached where it is stays there.
              ...(p.enabled
                ? {
                    pinned: (b: number) => {
                      const blocks = current?.prompt?.blocks
                      return blocks !== undefined && view.match(b, blocks) > 0
                    },
                  }
                : {}),
            }),
          }
        : {}),
      blockChars: p.block_chars,
      fleet,
      targets,
      auto: o.target === 'auto',
      config: s,
      meanIn: 0,
      meanOut: 0,
      count: 0,
      targetedIn: -1,
      targetedOut: -1,
    }
  })

  const gauges = anyOccupancy
    ? {
        target: gaugeIn(
          registry,
          OCCUPANCY_TARGET_METRIC,
          'Occupancy shaping: running requests (all replicas) the lever fills a backend to before spreading to the next, from its profile and the tightest p95 objective of the services shaping it (modelled).',
          ['backend'],
        ),
        actual: gaugeIn(
          registry,
          OCCUPANCY_METRIC,
          'Requests running on a backend now (this gateway replica), the batch occupancy occupancy shaping fills toward its target.',
          ['backend'],
        ),
      }
    : undefined

  /** The smallest target any service shaping backend `j` holds for it. */
  function targetOf(j: number): number | undefined {
    let t: number | undefined
    for (const s of services) {
      if (s.occupancy === undefined) continue
      const k = s.fleet.indexOf(j)
      if (k >= 0) t = Math.min(t ?? Number.POSITIVE_INFINITY, s.targets[k] as number)
    }
    return t
  }
  const publishTargets = (): void => {
    if (gauges === undefined) return
    for (let j = 0; j < runtimes.length; j++) {
      const t = targetOf(j)
      if (t !== undefined) gauges.target.set({ backend: ids[j] as string }, t)
    }
  }
  publishTargets()
  for (const id of ids) gauges?.actual.set({ backend: id }, 0)

  /** Recomputes a service's `auto` targets for its typical request so far. */
  function retarget(s: ServiceLevers, model: string): void {
    const slo = s.config.slo.p95_latency_ms
    s.fleet.forEach((j, k) => {
      const rt = runtimes[j] as BackendRuntime
      const profile: EnergyProfile = profileOf(rt, model)
      s.targets[k] = targetOccupancy(profile, rt.config.max_concurrency, s.meanIn, s.meanOut, slo)
    })
    s.targetedIn = s.meanIn
    s.targetedOut = s.meanOut
    publishTargets()
  }

  const moved = (a: number, b: number): boolean =>
    Math.abs(a - b) > RETARGET_CHANGE * Math.max(1, Math.abs(b))

  const wrap = (name: 'prefix' | 'occupancy'): RoutingLever => ({
    name,
    review(context: LeverContext) {
      const s = services[context.service]
      const from = fleetIndex.get(context.decision.backend) ?? -1
      if (note.policyBackend < 0) {
        note.policyBackend = from
        for (const b of context.snapshot.backends) note.inflight.set(b.id, b.inflight)
      }
      const lever = name === 'prefix' ? s?.prefix : s?.occupancy
      if (lever === undefined) return undefined
      const result = lever.review(context)
      if (result !== undefined) {
        if (name === 'prefix') note.prefixActed = true
        else {
          note.occupancyFrom = from
          note.occupancyFromInflight = note.inflight.get(context.decision.backend) ?? 0
        }
      }
      return result
    },
  })
  const routing: RoutingLever[] = []
  if (prefixOn.length > 0) routing.push(wrap('prefix'))
  if (anyOccupancy) routing.push(wrap('occupancy'))

  return {
    routing,
    begin(service, request, model, prompt, inputTokens, outputTokens) {
      const s = services[service]
      note = fresh()
      if (s === undefined) {
        current = undefined
        return
      }
      if (s.occupancy !== undefined && s.auto && !observed.has(request)) {
        observed.add(request)
        s.count++
        s.meanIn += (inputTokens - s.meanIn) / s.count
        s.meanOut += (outputTokens - s.meanOut) / s.count
        if (moved(s.meanIn, s.targetedIn) || moved(s.meanOut, s.targetedOut)) retarget(s, model)
      }
      let blocks: PromptBlocks | undefined
      if (s.prefix !== undefined && prompt !== undefined) {
        // A request deciding again (retry, queue wait) reuses its blocks: hashed once.
        const key = `${model}\u0000${s.blockChars}`
        if (hashed?.prompt !== prompt || hashed.key !== key) {
          hashed = { prompt, key, blocks: promptBlocks(prompt, model, s.blockChars) }
        }
        blocks = hashed.blocks
      }
      current = { service, prompt: blocks }
    },
    end(backend) {
      const c = current
      current = undefined
      if (c === undefined || backend < 0 || routing.length === 0) return undefined
      const s = services[c.service] as ServiceLevers
      const blocks = c.prompt?.blocks
      const policyBackend = note.policyBackend < 0 ? backend : note.policyBackend
      return {
        service: c.service,
        prompt: c.prompt,
        blockChars: s.blockChars,
        policyBackend,
        backend,
        matchedPolicy: blocks === undefined ? 0 : table.match(policyBackend, blocks),
        matched: blocks === undefined ? 0 : table.match(backend, blocks),
        prefixActed: note.prefixActed,
        occupancyFrom: note.occupancyFrom,
        occupancyFromInflight: note.occupancyFromInflight,
        inflight: note.inflight.get(ids[backend] as string) ?? 0,
      }
    },
    prefillTokens(n, inputTokens) {
      if (n?.prompt === undefined) return inputTokens
      return inputTokens - skippedPromptTokens(inputTokens, n.matched, n.blockChars, n.prompt.chars)
    },
    served(n) {
      if (n?.prompt === undefined || n.prompt.blocks.length === 0) return
      table.admit(n.backend, n.prompt.blocks)
    },
    savings(n, work) {
      if (n === undefined) return []
      const out: LeverEnergySaving[] = []
      const served = runtimes[n.backend] as BackendRuntime
      const profile = profileOf(served, work.model)
      const carbonOf = (energyJ: number): number =>
        carbonOfItEnergy(energyJ, work.pue, work.intensityGPerKwh)
      if (n.prefixActed && n.prompt !== undefined) {
        const skip = (m: number): number =>
          skippedPromptTokens(work.inputTokens, m, n.blockChars, n.prompt?.chars ?? 0)
        const tokens = skip(n.matched) - skip(n.matchedPolicy)
        if (tokens > 0) {
          const e = profile.energyPerInputToken(Math.max(1, n.inflight + 1))
          out.push({
            lever: 'prefix',
            energy_saved_j: tokens * e.value,
            energy_saved_low_j: tokens * e.low,
            energy_saved_high_j: tokens * e.high,
            carbon_saved_g: carbonOf(tokens * e.value),
            basis: 'estimated-counterfactual',
          })
        }
      }
      if (n.occupancyFrom >= 0 && n.occupancyFrom !== n.backend && work.outputTokens > 0) {
        const other = profileOf(runtimes[n.occupancyFrom] as BackendRuntime, work.model)
        const batch = (p: EnergyProfile, inflight: number): number =>
          Math.min(p.maxBatch, Math.max(1, inflight + 1))
        const would = other.energyPerOutputToken(batch(other, n.occupancyFromInflight))
        const actual = profile.energyPerOutputToken(batch(profile, n.inflight))
        const per = [would.value - actual.value, would.low - actual.low, would.high - actual.high]
        const value = Math.max(0, per[0] as number) * work.outputTokens
        if (value > 0) {
          const bounds = per.map((d) => Math.max(0, d) * work.outputTokens)
          out.push({
            lever: 'occupancy',
            energy_saved_j: value,
            energy_saved_low_j: Math.min(...bounds),
            energy_saved_high_j: Math.max(...bounds),
            carbon_saved_g: carbonOf(value),
            basis: 'estimated-counterfactual',
          })
        }
      }
      return out
    },
    target: targetOf,
    occupancy(backend, inflight) {
      gauges?.actual.set({ backend: ids[backend] as string }, inflight)
    },
  }
}
