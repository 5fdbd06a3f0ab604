import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../config/parse-config.ts'
import { resolveCaller } from '../../http/auth.ts'
import { TEST_CATALOG } from '../../http/harness.test-support.ts'
import { runCaptured } from '../run-cli.test-support.ts'

const KEY = 'sk-acme-7f3a9c'

describe('wattline keys hash', () => {
  it('prints a digest the gateway accepts the key against, and never the key', async () => {
    const run = await runCaptured(['keys', 'hash', '--from-env', 'ACME_KEY', '--tenant', 'acme'], {
      env: { ACME_KEY: KEY },
    })
    expect(run.code).toBe(0)
    expect(run.out).not.toContain(KEY)
    const m = /^- \{ tenant: "acme", key_sha256: ([0-9a-f]{64}) \}\n$/.exec(run.out)
    expect(m).not.toBeNull()
    const parsed = parseConfig(
      {
        services: [{ name: 'chat', api_keys: [{ tenant: 'acme', key_sha256: m?.[1] }] }],
        backends: [
          {
            id: 'x',
            url: 'http://127.0.0.1:1/v1',
            zone: 'FR',
            hardware: 'H100-SXM',
            models: ['llama-3'],
          },
        ],
      },
      { catalog: TEST_CATALOG, env: {} },
    )
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
    expect(resolveCaller({ authorization: `Bearer ${KEY}` }, parsed.value).tenant).toBe('acme')
    expect(() => resolveCaller({ authorization: 'Bearer sk-other' }, parsed.value)).toThrow(
      /missing or invalid API key/,
    )
  })

  it('reads a key file (one trailing newline dropped) and prints JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wl-keys-'))
    await writeFile(join(dir, 'key.txt'), `${KEY}\n`)
    const fromFile = await runCaptured(['keys', 'hash', '--key-file', 'key.txt', '--json'], {
      cwd: dir,
    })
    const fromEnv = await runCaptured(['keys', 'hash', '--from-env', 'K'], { env: { K: KEY } })
    expect(fromFile.code).toBe(0)
    expect(JSON.parse(fromFile.out)).toEqual({ key_sha256: fromEnv.out.trim() })
  })

  it('exits 2 with the reason on bad input', async () => {
    const none = await runCaptured(['keys', 'hash'])
    expect(none.code).toBe(2)
    expect(none.err).toMatch(/exactly one of --from-env NAME or --key-file FILE/)
    const unset = await runCaptured(['keys', 'hash', '--from-env', 'NOPE'])
    expect(unset.code).toBe(2)
    expect(unset.err).toMatch(/environment variable NOPE is not set/)
    const spaced = await runCaptured(['keys', 'hash', '--from-env', 'K'], {
      env: { K: 'sk-half key' },
    })
    expect(spaced.code).toBe(2)
    expect(spaced.err).toMatch(/contains whitespace/)
    expect(spaced.err).not.toContain('sk-half')
    const missing = await runCaptured(['keys', 'hash', '--key-file', '/nonexistent/k'])
    expect(missing.code).toBe(2)
    expect(missing.err).toMatch(/--key-file: cannot read \/nonexistent\/k: ENOENT/)
  })
})
