/**
 * @module batch/line-placements
 * How a batch line's placement reaches the gateway's routing. A line runs as an ordinary loopback
 * request to `/v1/chat/completions`; the scheduler registers the line's placement here (the zones
 * it may run in, in preference order, and the intensity run-now would have met) and sends the
 * returned token in `x-wattline-batch-placement`. The proxy route takes the placement by its token
 * (once) and hands it to `dispatch`. The token is random (122 bits) and lives only in this
 * process while the line is in flight, so a client cannot pin a zone or claim a time-shift saving
 * by sending the header itself: an unknown token is ignored.
 */
import { randomUUID } from 'node:crypto'

/** The request header carrying a placement token. */
export const PLACEMENT_HEADER = 'x-wattline-batch-placement'

export interface LinePlacement {
  /**
   * Who the line runs for: the batch's service and tenant. The route takes them from the placement
   * rather than from an API key, so a tenant configured with a hashed key only (`key_sha256`: the
   * gateway never holds the raw key) still has its lines run, as that tenant.
   */
  readonly caller?: { readonly service: string; readonly tenant: string | null }
  /** Zones in preference order: the plan's zone for the current slot first (`zoneOrder`). */
  readonly zones: readonly string[]
  /** Intensity at submission the run-now baseline would have met, gCO2e/kWh (time-shift saving). */
  readonly timeShiftFromGPerKwh?: number
}

export interface LinePlacements {
  /** Registers a placement for one request; returns the token to send in `PLACEMENT_HEADER`. */
  issue(placement: LinePlacement): string
  /** The placement of a header's token, once; undefined for none, an unknown or a taken token. */
  take(header: string | string[] | undefined): LinePlacement | undefined
  /** The placement of a header's token, left in place (authentication reads it before `take`). */
  peek(header: string | string[] | undefined): LinePlacement | undefined
  /** Forgets a token that was never taken (the request did not reach the route). */
  drop(token: string): void
  /** Tokens issued and not yet taken or dropped. */
  readonly size: number
}

export function createLinePlacements(): LinePlacements {
  const open = new Map<string, LinePlacement>()
  return {
    issue(placement) {
      const token = randomUUID()
      open.set(token, placement)
      return token
    },
    take(header) {
      if (typeof header !== 'string') return undefined
      const p = open.get(header)
      if (p !== undefined) open.delete(header)
      return p
    },
    peek(header) {
      return typeof header === 'string' ? open.get(header) : undefined
    },
    drop(token) {
      open.delete(token)
    },
    get size() {
      return open.size
    },
  }
}
