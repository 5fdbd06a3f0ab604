import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { afterEach, describe, expect, it } from 'vitest'
import { startStub, type StubBackend } from '../../http/harness.test-support.ts'
import { writeOneBackendConfig } from '../../compose/gateway-config.test-support.ts'
import { runCli } from '../program.ts'
import { captureIo } from '../run-cli.test-support.ts'

const dirs: string[] = []
const stubs: StubBackend[] = []
afterEach(async () => {
  for (const s of stubs.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('wattline serve', () => {
  it('serves the config, answers through the openai client, and drains on stop', async () => {
    const stub = await startStub()
    stubs.push(stub)
    const dir = mkdtempSync(join(tmpdir(), 'wattline-serve-'))
    dirs.push(dir)
    writeOneBackendConfig(dir, stub.url)
    const stop = new AbortController()
    const cli = captureIo({ cwd: dir, stopSignal: stop.signal })
    const done = runCli(
      ['serve', '--config', 'wattline.yaml', '--host', '127.0.0.1', '--port', '0'],
      cli.io,
    )
    await expect
      .poll(() => cli.err(), { timeout: 15_000 })
      .toMatch(/wattline gateway on http:\/\/127\.0\.0\.1:\d+\/v1/)
    const url = /on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(cli.err())?.[1] as string
    const base = url.slice(0, -'/v1'.length)
    expect(cli.err()).toContain(`dashboard ${base}/dashboard/`)
    const client = new OpenAI({ baseURL: url, apiKey: 'x', maxRetries: 0 })
    const { response } = await client.chat.completions
      .create({ model: 'llama-3.1-8b-instruct', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    expect(response.headers.get('x-wattline-zone')).toBe('FR')
    expect(Number(response.headers.get('x-wattline-intensity-g-per-kwh'))).toBeGreaterThan(0)
    const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text()
    expect(metrics).toMatch(
      /wattline_grid_intensity_grams_per_kwh\{zone="FR",signal="average"\} \d+/,
    )
    stop.abort()
    expect(await done).toBe(0)
  })

  it('exits 2 naming file, line and column for an invalid config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattline-serve-'))
    dirs.push(dir)
    writeFileSync(
      join(dir, 'w.yaml'),
      'services:\n  - name: chat\nbackends:\n  - id: a\n    url: http://127.0.0.1:1/v1\n    zone: XX\n    hardware: H100-SXM\n    models: [llama-3.1-8b-instruct]\n',
    )
    const cli = captureIo({ cwd: dir })
    expect(await runCli(['serve', '--config', 'w.yaml'], cli.io)).toBe(2)
    expect(cli.err()).toMatch(/w\.yaml:6:5 backends\[0\]\.zone: unknown zone 'XX'/)
  })

  it.each(['two', '-1', '1.5', '', '257'])(
    'exits 2 with WL_INVALID_INPUT for --workers %j',
    async (v) => {
      const cli = captureIo({ cwd: tmpdir() })
      expect(await runCli(['serve', '--config', 'none.yaml', '--workers', v], cli.io)).toBe(2)
      expect(cli.err()).toMatch(
        /WL_INVALID_INPUT: --workers must be an integer in 1\.\.256, 0 or auto/,
      )
    },
  )

  it('refuses --workers 2 with an in-memory SQLite ledger (it lives in one process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattline-serve-'))
    dirs.push(dir)
    writeOneBackendConfig(dir, 'http://127.0.0.1:9/v1')
    const file = join(dir, 'wattline.yaml')
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('sqlite:./ledger.db', '"sqlite::memory:"'),
    )
    const cli = captureIo({ cwd: dir })
    expect(await runCli(['serve', '--config', 'wattline.yaml', '--workers', '2'], cli.io)).toBe(2)
    expect(cli.err()).toMatch(/WL_CONFIG_INVALID.*ledger\.url: an in-memory SQLite ledger/)
  })

  it('refuses --workers 2 without cluster Redis when a backend limit cannot be split', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattline-serve-'))
    dirs.push(dir)
    writeOneBackendConfig(dir, 'http://127.0.0.1:9/v1', { backend: ['max_concurrency: 1'] })
    const cli = captureIo({ cwd: dir })
    expect(await runCli(['serve', '--config', 'wattline.yaml', '--workers', '2'], cli.io)).toBe(2)
    expect(cli.err()).toMatch(
      /WL_CONFIG_INVALID.*wattline\.yaml: backends\[0\]\.max_concurrency: 1 cannot be split across 2 workers/,
    )
  })
})
