/**
 * @module batch/batch-jsonl
 * Reads a Batch API input file (JSONL, one request per line, OpenAI's shape:
 * `{"custom_id","method":"POST","url":"/v1/chat/completions","body":{…}}`). A malformed line is not
 * fatal: it is returned with its 1-based line number and a precise message, and goes to the error
 * file while the rest run. Blank lines are skipped (they hold no request).
 */
export interface ValidLine {
  readonly line_no: number
  readonly custom_id: string
  readonly body: Readonly<Record<string, unknown>>
}

export interface InvalidLine {
  readonly line_no: number
  readonly custom_id: string | null
  readonly message: string
  readonly code: string
}

export interface ParsedBatchInput {
  readonly valid: readonly ValidLine[]
  readonly invalid: readonly InvalidLine[]
}

/** Endpoints a batch line may call (the gateway's chat endpoint). */
export const BATCH_ENDPOINTS = ['/v1/chat/completions'] as const

export function parseBatchJsonl(text: string, endpoint: string): ParsedBatchInput {
  const valid: ValidLine[] = []
  const invalid: InvalidLine[] = []
  const seen = new Set<string>()
  const lines = text.split('\n')
  lines.forEach((raw, i) => {
    const line_no = i + 1
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') return
    const bad = (message: string, custom_id: string | null = null): void => {
      invalid.push({
        line_no,
        custom_id,
        message: `line ${line_no}: ${message}`,
        code: 'invalid_request',
      })
    }
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      bad(`not valid JSON (${(error as Error).message})`)
      return
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      bad('must be a JSON object with custom_id, method, url and body')
      return
    }
    const o = value as Record<string, unknown>
    const custom_id = typeof o['custom_id'] === 'string' ? o['custom_id'] : null
    if (custom_id === null || custom_id === '') {
      bad('custom_id must be a non-empty string')
      return
    }
    if (seen.has(custom_id)) {
      bad(`custom_id '${custom_id}' is used by an earlier line`, custom_id)
      return
    }
    if (o['method'] !== 'POST') {
      bad(`method must be "POST" (got ${JSON.stringify(o['method'])})`, custom_id)
      return
    }
    if (o['url'] !== endpoint) {
      bad(
        `url must be the batch's endpoint "${endpoint}" (got ${JSON.stringify(o['url'])})`,
        custom_id,
      )
      return
    }
    const body = o['body']
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      bad('body must be a JSON object (the request)', custom_id)
      return
    }
    if (typeof (body as Record<string, unknown>)['model'] !== 'string') {
      bad('body.model must be a string', custom_id)
      return
    }
    if ((body as Record<string, unknown>)['stream'] === true) {
      bad('body.stream must not be true in a batch', custom_id)
      return
    }
    seen.add(custom_id)
    valid.push({ line_no, custom_id, body: body as Record<string, unknown> })
  })
  return { valid, invalid }
}
