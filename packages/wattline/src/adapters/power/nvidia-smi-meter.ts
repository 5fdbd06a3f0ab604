/**
 * @module adapters/power/nvidia-smi-meter
 * Measured power of a backend from `nvidia-smi --query-gpu=index,power.draw --format=csv,noheader,nounits`
 * (one `index, watts` line per GPU). The GPUs listed in `gpuIndices` (all when omitted) are summed.
 * Readings `[N/A]` / `[Not Supported]` are skipped; none left is an error.
 */
import { instant, watts, WattlineError, type PowerMeter, type PowerSample } from '@wattline/core'

/** The query arguments, fixed so that the output format is known. */
export const NVIDIA_SMI_QUERY = [
  '--query-gpu=index,power.draw',
  '--format=csv,noheader,nounits',
] as const

export interface NvidiaSmiMeterOptions {
  readonly backend: string
  readonly command: string
  /** Extra arguments placed before the query (e.g. `-i 0,1`). */
  readonly args: readonly string[]
  readonly gpuIndices?: readonly number[]
  /** Runs a command and resolves to its stdout (`execFile` in production). */
  readonly run: (command: string, args: readonly string[], signal?: AbortSignal) => Promise<string>
  readonly now: () => number
}

/** Parses the query output into `index → watts`. */
export function parseNvidiaSmi(text: string): Map<number, number> {
  const out = new Map<number, number>()
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '') continue
    const [idx, power] = line.split(',').map((s) => s.trim())
    const index = Number(idx)
    if (!Number.isInteger(index) || power === undefined) {
      throw new WattlineError(
        'WL_DATA_FORMAT',
        `nvidia-smi output line ${i + 1}: expected "index, power.draw", got "${line}"`,
      )
    }
    if (power.startsWith('[')) continue
    const w = Number(power)
    if (!Number.isFinite(w) || w < 0)
      throw new WattlineError(
        'WL_DATA_FORMAT',
        `nvidia-smi output line ${i + 1}: bad power "${power}"`,
      )
    out.set(index, w)
  }
  return out
}

/** Creates the meter. */
export function createNvidiaSmiMeter(options: NvidiaSmiMeterOptions): PowerMeter {
  const source = `nvidia-smi:${options.command}`
  return {
    name: source,
    method: 'measured',
    async read(signal): Promise<readonly PowerSample[]> {
      const text = await options.run(
        options.command,
        [...options.args, ...NVIDIA_SMI_QUERY],
        signal,
      )
      const readings = parseNvidiaSmi(text)
      const wanted = options.gpuIndices ?? [...readings.keys()]
      let total = 0
      let n = 0
      for (const i of wanted) {
        const w = readings.get(i)
        if (w !== undefined) {
          total += w
          n++
        }
      }
      if (n === 0)
        throw new WattlineError(
          'WL_DATA_FORMAT',
          `nvidia-smi reported no power for GPUs ${wanted.join(', ')}`,
        )
      return [
        {
          backend: options.backend,
          at: instant(options.now()),
          power: watts(total),
          method: 'measured',
          source,
        },
      ]
    },
  }
}
