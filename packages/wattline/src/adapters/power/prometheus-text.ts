/**
 * @module adapters/power/prometheus-text
 * A small parser of the Prometheus text exposition format (version 0.0.4): comment and blank lines
 * skipped, label values with `\\`, `\"` and `\n` escapes, values including `NaN`/`±Inf`, optional
 * millisecond timestamps. Enough to read power gauges from the DCGM exporter and Kepler.
 */

export interface PromSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Parses exposition text; malformed lines throw with their line number. */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    if (line === '' || line.startsWith('#')) continue
    const sample = parseLine(line)
    if (sample === undefined)
      throw new Error(`line ${i + 1}: not a Prometheus sample: ${line.slice(0, 80)}`)
    out.push(sample)
  }
  return out
}

function parseLine(line: string): PromSample | undefined {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
  if (nameMatch === null) return undefined
  const name = nameMatch[0]
  let pos = name.length
  const labels: Record<string, string> = {}
  if (line[pos] === '{') {
    pos++
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++
      if (line[pos] === '}') {
        pos++
        break
      }
      const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos))
      if (
        key === null ||
        line[pos + key[0].length] !== '=' ||
        line[pos + key[0].length + 1] !== '"'
      )
        return undefined
      pos += key[0].length + 2
      let value = ''
      for (;;) {
        const c = line[pos]
        if (c === undefined) return undefined
        if (c === '\\') {
          const n = line[pos + 1]
          value += n === 'n' ? '\n' : (n ?? '')
          pos += 2
        } else if (c === '"') {
          pos++
          break
        } else {
          value += c
          pos++
        }
      }
      labels[key[0]] = value
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/)
  const raw = rest[0]
  if (raw === undefined || raw === '') return undefined
  const value =
    raw === 'NaN'
      ? Number.NaN
      : raw === '+Inf'
        ? Infinity
        : raw === '-Inf'
          ? -Infinity
          : Number(raw)
  if (Number.isNaN(value) && raw !== 'NaN') return undefined
  return { name, labels, value }
}
