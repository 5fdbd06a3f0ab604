import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createConfigCatalog } from '../../config/catalog.ts'
import { loadConfig } from '../../config/load-config.ts'
import { ledgerOptionsFromConfig, openLedger } from './open-ledger.ts'
import { defaultSigningKeyPath, loadOrCreateSigningKey, SIGNING_KEY_FILE } from './signing-key.ts'

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url))
const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'wl-key-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const mode = (path: string): number => statSync(path).mode & 0o777

describe('ledger signing key', () => {
  it('is created with mode 0600, in a folder created 0700, and never overwritten', async () => {
    const dir = tempDir()
    const path = join(dir, 'data', 'nested', 'k.key')
    const first = await loadOrCreateSigningKey(path)
    expect(first.created).toBe(true)
    expect(mode(path)).toBe(0o600)
    expect(mode(dirname(path))).toBe(0o700)
    const pem = readFileSync(path, 'utf8')
    const again = await loadOrCreateSigningKey(path)
    expect(again).toMatchObject({ created: false, keyId: first.keyId })
    expect(readFileSync(path, 'utf8')).toBe(pem)
  })

  it('is never created when create is false (export-key): WL_INVALID_INPUT naming the path', async () => {
    const dir = tempDir()
    const path = join(dir, 'missing', 'k.key')
    await expect(loadOrCreateSigningKey(path, { create: false })).rejects.toMatchObject({
      code: 'WL_INVALID_INPUT',
      message: expect.stringContaining(`no ledger signing key at ${path}`),
    })
    expect(existsSync(join(dir, 'missing'))).toBe(false)
  })

  it('defaults to beside a SQLite ledger, else wattline-data/; an earlier key in the base folder is kept', () => {
    const dir = tempDir()
    expect(defaultSigningKeyPath('sqlite:../data/l.db', join(dir, 'conf'))).toBe(
      join(dir, 'data', SIGNING_KEY_FILE),
    )
    expect(defaultSigningKeyPath(`sqlite:${join(dir, 'x', 'l.db')}`, '/elsewhere')).toBe(
      join(dir, 'x', SIGNING_KEY_FILE),
    )
    expect(defaultSigningKeyPath('sqlite::memory:', dir)).toBe(
      join(dir, 'wattline-data', SIGNING_KEY_FILE),
    )
    expect(defaultSigningKeyPath('postgres://u@h/db', dir)).toBe(
      join(dir, 'wattline-data', SIGNING_KEY_FILE),
    )
    // upgrading: a key the previous default created in the config's folder stays in use
    mkdirSync(join(dir, 'conf'))
    writeFileSync(join(dir, 'conf', SIGNING_KEY_FILE), 'pem')
    expect(defaultSigningKeyPath('sqlite:../data/l.db', join(dir, 'conf'))).toBe(
      join(dir, 'conf', SIGNING_KEY_FILE),
    )
  })

  it('examples/wattline.yaml keeps its ledger and key outside examples/, in a git-ignored folder, key 0600', async () => {
    // the example, copied to a scratch checkout layout: <root>/examples/wattline.yaml
    const root = tempDir()
    mkdirSync(join(root, 'examples'))
    const example = join(root, 'examples', 'wattline.yaml')
    writeFileSync(example, readFileSync(join(REPO, 'examples', 'wattline.yaml')))
    const config = await loadConfig(example, {
      readFile,
      env: {},
      catalog: createConfigCatalog(),
    })
    const ledger = await openLedger(
      config.ledger.url,
      ledgerOptionsFromConfig(config.ledger, join(root, 'examples')),
    )
    await ledger.close()
    const key = join(root, 'wattline-data', SIGNING_KEY_FILE)
    expect(mode(key)).toBe(0o600)
    expect(existsSync(join(root, 'wattline-data', 'wattline.db'))).toBe(true)
    expect(existsSync(join(root, 'examples', SIGNING_KEY_FILE))).toBe(false)
    // the same relative paths in this repository are ignored by git
    const ignored = [relative(root, key), join('examples', 'stray.key')]
    if (existsSync(join(REPO, '.git'))) {
      const out = execFileSync('git', ['check-ignore', ...ignored], { cwd: REPO, encoding: 'utf8' })
      expect(out.trim().split('\n')).toEqual(ignored)
    } else {
      console.warn('signing-key test: no .git here, .gitignore coverage not checked')
    }
  })
})
