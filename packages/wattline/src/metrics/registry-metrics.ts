/**
 * @module metrics/registry-metrics
 * Prometheus metrics got from a registry by name, created on first use: several gateways, ledgers
 * or test harnesses share one registry, and prom-client refuses a second registration of a name.
 * Not an adapter (it implements no port): a helper over prom-client that any module may call.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

/**
 * The registry's counter `name`, registered with `help` and `labelNames` if it is not there yet —
 * as a `Counter`, or as `Kind` (a subclass, e.g. the gateway's `CachedCounter`).
 */
export function counterIn<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  Kind: new (config: ConstructorParameters<typeof Counter<L>>[0]) => Counter<L> = Counter,
): Counter<L> {
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Kind({ name, help, labelNames, registers: [registry] })
  )
}

/** The registry's gauge `name`, registered with `help` and `labelNames` if it is not there yet. */
export function gaugeIn<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  return (
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] })
  )
}
