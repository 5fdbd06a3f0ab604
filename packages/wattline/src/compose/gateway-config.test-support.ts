/**
 * @module compose/gateway-config.test-support
 * Test support: the smallest gateway config the live tests start from — silent logs, a SQLite ledger
 * in the working directory, one default service `chat` and one backend `paris` (zone FR, H100-SXM,
 * `llama-3.1-8b-instruct`) at a stub upstream — with room for the lines a test adds.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface OneBackendConfigOptions {
  /** Extra lines under `gateway:`, after `log_level`, e.g. `accounting_interval_ms: 100`. */
  readonly gateway?: readonly string[]
  /** Extra lines under the backend `paris`, after `models`, e.g. a `meter: {…}`. */
  readonly backend?: readonly string[]
}

/** The YAML text of that config, with the backend's upstream at `upstreamUrl`. */
export function oneBackendConfig(
  upstreamUrl: string,
  options: OneBackendConfigOptions = {},
): string {
  return [
    'gateway:',
    '  log_level: silent',
    ...(options.gateway ?? []).map((l) => `  ${l}`),
    'ledger:',
    '  url: sqlite:./ledger.db',
    'services:',
    '  - name: chat',
    '    default: true',
    'backends:',
    '  - id: paris',
    `    url: ${upstreamUrl}`,
    '    zone: FR',
    '    hardware: H100-SXM',
    '    models: [llama-3.1-8b-instruct]',
    ...(options.backend ?? []).map((l) => `    ${l}`),
    '',
  ].join('\n')
}

/** Writes that config as `wattline.yaml` in `dir`. */
export function writeOneBackendConfig(
  dir: string,
  upstreamUrl: string,
  options: OneBackendConfigOptions = {},
): void {
  writeFileSync(join(dir, 'wattline.yaml'), oneBackendConfig(upstreamUrl, options))
}
