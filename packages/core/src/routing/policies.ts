/**
 * @module routing/policies
 * The policy registry: a name from config (`routing: carbon-aware`) to a policy function.
 */
import { createCarbonAware, type CarbonAwareOptions } from './carbon-aware.ts'
import { createLatencyFirst } from './latency-first.ts'
import { createLeastLoaded } from './least-loaded.ts'
import type { RoutingPolicy, RoutingPolicyName } from './policy.ts'
import { createRoundRobin } from './round-robin.ts'
import { createWeighted } from './weighted.ts'

export interface PolicyOptions {
  readonly carbonAware?: CarbonAwareOptions
}

/** Returns the policy named `name` (one of `ROUTING_POLICIES`). */
export function createPolicy(name: RoutingPolicyName, options: PolicyOptions = {}): RoutingPolicy {
  switch (name) {
    case 'carbon-aware':
      return createCarbonAware(options.carbonAware)
    case 'round-robin':
      return createRoundRobin()
    case 'least-loaded':
      return createLeastLoaded()
    case 'latency-first':
      return createLatencyFirst()
    case 'weighted':
      return createWeighted()
  }
}
