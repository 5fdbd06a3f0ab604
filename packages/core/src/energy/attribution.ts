/**
 * @module energy/attribution
 * Splits a backend's energy over a window among the requests it served. Power is a step function:
 * each sample's power holds until the next sample (the last one until the window's end; the first
 * one also covers the time before it). The timeline is cut at every sample and request boundary;
 * in each piece, the energy P·Δt goes to the requests active in it in proportion to the work
 * (tokens) each did in the piece — a request's tokens are spread evenly over its lifetime — or,
 * when none is active, to idle. Nothing is dropped: Σ shares + idle = ∫P dt (energy conservation,
 * a property test).
 */
import { WattlineError } from '../errors.ts'
import type { Instant, Joules, Watts } from '../units/quantity.ts'
import { joules } from '../units/quantity.ts'

/** One power reading (measured or modelled). */
export interface PowerPoint {
  readonly at: Instant
  readonly power: Watts
}

/** A request's lifetime on the backend and the tokens it processed (prompt + generated). */
export interface RequestSpan {
  readonly id: string
  readonly start: Instant
  readonly end: Instant
  readonly tokens: number
}

export interface AttributionInput {
  readonly samples: readonly PowerPoint[]
  readonly requests: readonly RequestSpan[]
  readonly from: Instant
  readonly to: Instant
}

export interface Attribution {
  /** ∫P dt over the window, J. */
  readonly total: Joules
  /** Energy while no request was active, J. */
  readonly idle: Joules
  /** Each request's share, J (requests entirely outside the window get 0). */
  readonly perRequest: ReadonlyMap<string, Joules>
}

/** ∫P dt over [from, to) for a step-held power series, J. */
export function integratePower(samples: readonly PowerPoint[], from: Instant, to: Instant): Joules {
  const sorted = sortSamples(samples)
  let total = 0
  forEachPiece(sorted, [], from, to, (t0, t1, power) => {
    total += (power * (t1 - t0)) / 1000
  })
  return joules(total)
}

/** Attributes the window's energy to requests by share of work, keeping idle energy separate. */
export function attributeEnergy(input: AttributionInput): Attribution {
  validate(input)
  const sorted = sortSamples(input.samples)
  const perRequest = new Map<string, number>(input.requests.map((r) => [r.id, 0]))
  const cuts = input.requests.flatMap((r) => [r.start, r.end])
  let idle = 0
  let total = 0
  forEachPiece(sorted, cuts, input.from, input.to, (t0, t1, power) => {
    const energy = (power * (t1 - t0)) / 1000
    total += energy
    const active = input.requests.filter((r) => r.start <= t0 && r.end >= t1 && r.end > r.start)
    if (active.length === 0) {
      idle += energy
      return
    }
    const work = active.map((r) => (r.tokens * (t1 - t0)) / (r.end - r.start))
    const sumWork = work.reduce((a, b) => a + b, 0)
    active.forEach((r, i) => {
      const share = sumWork > 0 ? (work[i] ?? 0) / sumWork : 1 / active.length
      perRequest.set(r.id, (perRequest.get(r.id) ?? 0) + energy * share)
    })
  })
  return {
    total: joules(total),
    idle: joules(idle),
    perRequest: new Map([...perRequest].map(([k, v]) => [k, joules(v)])),
  }
}

function forEachPiece(
  sorted: readonly PowerPoint[],
  cuts: readonly number[],
  from: number,
  to: number,
  visit: (t0: number, t1: number, power: number) => void,
): void {
  if (sorted.length === 0 || !(to > from)) return
  const points = [...new Set([from, to, ...sorted.map((s) => s.at as number), ...cuts])]
    .filter((t) => t >= from && t <= to)
    .sort((a, b) => a - b)
  let si = 0
  for (let i = 0; i + 1 < points.length; i++) {
    const t0 = points[i] ?? from
    const t1 = points[i + 1] ?? to
    while (si + 1 < sorted.length && (sorted[si + 1]?.at ?? Infinity) <= t0) si++
    visit(t0, t1, sorted[si]?.power ?? 0)
  }
}

function sortSamples(samples: readonly PowerPoint[]): PowerPoint[] {
  return [...samples].sort((a, b) => a.at - b.at)
}

function validate(input: AttributionInput): void {
  for (const s of input.samples) {
    if (!(Number.isFinite(s.power) && s.power >= 0) || !Number.isFinite(s.at)) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `power sample at ${s.at} is not a finite, non-negative power`,
        {
          details: { field: 'samples' },
        },
      )
    }
  }
  const ids = new Set<string>()
  for (const r of input.requests) {
    if (ids.has(r.id)) {
      throw new WattlineError('WL_INVALID_INPUT', `request id "${r.id}" appears twice`, {
        details: { field: 'requests' },
      })
    }
    ids.add(r.id)
    if (!(r.end >= r.start) || !(Number.isFinite(r.tokens) && r.tokens >= 0)) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `request "${r.id}" needs end ≥ start and a non-negative token count`,
        { details: { field: 'requests', id: r.id } },
      )
    }
  }
}
