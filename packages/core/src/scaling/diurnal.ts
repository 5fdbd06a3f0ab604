/**
 * @module scaling/diurnal
 * A day of traffic from a short trace. The Azure LLM inference traces span one hour and the Mooncake
 * trace about 17 minutes, too short to show what right-sizing saves over a day. `buildDiurnalDay`
 * stretches such a trace over whole days by time rescaling: it walks the trace's own inter-arrival
 * gaps in order (looping), scaled by peak rate ÷ the hour's rate, so each hour keeps the trace's token
 * mix and burstiness while its rate follows a published day-long shape. The trace itself is taken as
 * the peak hour. Deterministic: no random draws.
 *
 * Shape: BURSTGPT_CONVERSATION_HOURLY, the median requests per hour of ChatGPT conversation traffic
 * in an Azure OpenAI deployment by hour of day, read off Fig. 3 (left panel, "ChatGPT (Conv.)") of
 * BurstGPT (Wang et al., "BurstGPT: A Real-World Workload Dataset to Optimize LLM Serving Systems",
 * 2024; figure file img/Fig3-4.png in the HPMLL/BurstGPT repository, commit e92f533). Values were
 * transcribed by reading each box's median line against the y axis (about ±3 requests); only the
 * shape (relative rate per hour) is used. Hour 0 is the dataset's own clock.
 */
import { WattlineError } from '../errors.ts'
import type { FleetTrace } from './simulate-fleet.ts'

/** Median requests per hour by hour of day (0–23), BurstGPT Fig. 3, ChatGPT conversation (transcribed). */
export const BURSTGPT_CONVERSATION_HOURLY: readonly number[] = Object.freeze([
  46, 28, 16, 8, 7, 5, 5, 4, 20, 106, 157, 158, 69, 93, 155, 184, 188, 132, 77, 101, 118, 107, 94,
  75,
])

export interface DiurnalTrace extends FleetTrace {
  readonly arrivalMs: Float64Array
  readonly inputTokens: Int32Array
  readonly outputTokens: Int32Array
}

/**
 * Stretches `source` (arrivals ascending) over `days` days from `startMs`, hour h running at
 * `shape[h] / max(shape)` of the source's own rate.
 */
export function buildDiurnalDay(
  source: FleetTrace,
  startMs: number,
  days = 1,
  shape: readonly number[] = BURSTGPT_CONVERSATION_HOURLY,
): DiurnalTrace {
  const n = source.arrivalMs.length
  if (n < 2)
    throw new WattlineError(
      'WL_INVALID_INPUT',
      'a diurnal day needs a trace of at least 2 requests',
    )
  if (shape.length !== 24 || shape.some((v) => !(v > 0)))
    throw new WattlineError('WL_INVALID_INPUT', 'a diurnal shape has 24 positive hourly values')
  const peak = Math.max(...shape)
  const span = (source.arrivalMs[n - 1] as number) - (source.arrivalMs[0] as number)
  const wrapGap = span / (n - 1) // the gap closing the loop: the trace's mean gap
  const end = startMs + days * 86_400_000
  const at: number[] = []
  const ins: number[] = []
  const outs: number[] = []
  let t = startMs
  let i = 0
  while (t < end) {
    at.push(t)
    ins.push(source.inputTokens[i] as number)
    outs.push(source.outputTokens[i] as number)
    const gap =
      i + 1 < n ? (source.arrivalMs[i + 1] as number) - (source.arrivalMs[i] as number) : wrapGap
    const hour = Math.floor((t - startMs) / 3_600_000) % 24
    t += gap * (peak / (shape[hour] as number))
    i = (i + 1) % n
  }
  return {
    arrivalMs: Float64Array.from(at),
    inputTokens: Int32Array.from(ins),
    outputTokens: Int32Array.from(outs),
  }
}
