/**
 * @module accounting/network-rollup
 * Network energy at the service boundary (request + response bytes × a transmission intensity),
 * added over the requests that recorded it. Kept apart from compute energy: it is in neither the IT
 * nor the facility totals. The report's network section and the dashboard API's `network` both add
 * it up here.
 */
import type { RequestRecord } from '../ledger/records.ts'

export class NetworkRollup {
  /** Requests that recorded network energy. */
  requests = 0
  bytes = 0
  energyJ = 0
  carbonG = 0

  /** Adds a request's network figures; false (nothing added) when it recorded none. */
  add(r: Pick<RequestRecord, 'network_bytes' | 'network_energy_j' | 'network_carbon_g'>): boolean {
    if (r.network_bytes === undefined || r.network_energy_j === undefined) return false
    this.requests += 1
    this.bytes += r.network_bytes
    this.energyJ += r.network_energy_j
    this.carbonG += r.network_carbon_g ?? 0
    return true
  }
}
