/**
 * @module routing/reference
 * FROZEN REFERENCE (test-only): the routing policies as they were before the allocation-light
 * rewrite, by name, for the differential test and the decision micro-benchmark.
 */
import type { RoutingPolicy, RoutingPolicyName } from '../policy.ts'
import { createCarbonAware, type CarbonAwareOptions } from './carbon-aware.test-support.ts'
import { createLatencyFirst } from './latency-first.test-support.ts'
import { createLeastLoaded } from './least-loaded.test-support.ts'
import { createRoundRobin } from './round-robin.test-support.ts'
import { createWeighted } from './weighted.test-support.ts'

export { assess as referenceAssess, predict as referencePredict } from './predict.test-support.ts'

/** The reference policy named `name`. */
export function createReferencePolicy(
  name: RoutingPolicyName,
  options: { readonly carbonAware?: CarbonAwareOptions } = {},
): RoutingPolicy {
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
