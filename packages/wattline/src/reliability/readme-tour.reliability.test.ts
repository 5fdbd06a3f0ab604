/**
 * The README is the contract: the "A five-minute tour" shell block is read from README.md and run
 * as written, one bash script, in a scratch folder laid out like a fresh clone (the repository's
 * `packages`, `examples`, `node_modules` and tsconfig files linked in, nothing else). The only
 * substitution is the gateway port (8080 becomes a free one); the alias line runs as written
 * (bash needs `expand_aliases` outside an interactive shell). Each command must exit 0, and the
 * outputs must be what the tour promises. Edit the README and this test runs the edit.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const REPO = resolve(import.meta.dirname, '../../../..')
const README = readFileSync(join(REPO, 'README.md'), 'utf8')

/** The shell block under "## A five-minute tour". */
export function tourBlock(readme: string): string {
  const section = readme.slice(readme.indexOf('## A five-minute tour'))
  const m = /```sh\n([\s\S]*?)```/.exec(section)
  if (!m?.[1]) throw new Error('README.md: no ```sh block under "## A five-minute tour"')
  return m[1]
}

/** The block's commands: comments and blank lines dropped, backslash continuations joined. */
export function tourCommands(block: string): string[] {
  const commands: string[] = []
  let current = ''
  for (const raw of block.split('\n')) {
    const line = raw.trimEnd()
    if (current === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trimEnd()} `
      continue
    }
    commands.push(`${current}${line.trim()}`)
    current = ''
  }
  if (current !== '') commands.push(current.trim())
  return commands
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => ok(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('the README tour', () => {
  const commands = tourCommands(tourBlock(README))

  it('names only files inside the repository', () => {
    expect(commands.length).toBeGreaterThanOrEqual(10)
    for (const c of commands) expect(c, c).not.toMatch(/\.\.\/|shared\/data|~\//)
    for (const file of [
      'examples/wattline.yaml',
      'examples/azure-llm-conv-sample.csv',
      'examples/eu.fleet.yaml',
    ]) {
      expect(commands.some((c) => c.includes(file))).toBe(true)
      expect(existsSync(join(REPO, file)), file).toBe(true)
    }
    // one ledger: every --ledger names the same one
    const ledgers = new Set(
      commands.flatMap((c) => [...c.matchAll(/--ledger (\S+)/g)].map((m) => m[1])),
    )
    expect(ledgers.size).toBe(1)
    // what the tour writes (--out, --html, --markdown) is git-ignored: a newcomer's clone stays clean
    const outputs = commands.flatMap((c) =>
      [...c.matchAll(/--(?:out|html|markdown) (\S+)/g)].map((m) => m[1] as string),
    )
    expect(outputs.length).toBeGreaterThanOrEqual(4)
    for (const file of outputs) {
      const ignored = spawnSync('git', ['check-ignore', '-q', file], { cwd: REPO })
      expect(ignored.status, `${file} is not git-ignored`).toBe(0)
    }
  })

  it('runs top to bottom as written, every command exiting 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattline-tour-'))
    dirs.push(dir)
    for (const name of [
      'packages',
      'examples',
      'node_modules',
      'package.json',
      'tsconfig.json',
      'tsconfig.base.json',
    ]) {
      symlinkSync(join(REPO, name), join(dir, name))
    }
    const port = String(await freePort())
    const steps = join(dir, '.tour-steps')
    const script = [
      'shopt -s expand_aliases',
      "trap 'kill $(jobs -p) 2>/dev/null' EXIT",
      ...commands.flatMap((c, i) => [
        c.replaceAll('8080', port),
        ...(c.endsWith('&') ? [] : [`echo "${String(i)} $?" >> ${steps}`]),
      ]),
    ].join('\n')
    const { output, code } = await new Promise<{ output: string; code: number | null }>((ok) => {
      const child = spawn('bash', ['-c', script], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let text = ''
      child.stdout.on('data', (b: Buffer) => (text += b.toString()))
      child.stderr.on('data', (b: Buffer) => (text += b.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), 150_000)
      child.on('exit', (c) => {
        clearTimeout(timer)
        ok({ output: text, code: c })
      })
    })
    const results = existsSync(steps)
      ? readFileSync(steps, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ').map(Number) as [number, number])
      : []
    const expected = commands.flatMap((c, i) => (c.endsWith('&') ? [] : [i]))
    const failed = results
      .filter(([, rc]) => rc !== 0)
      .map(([i, rc]) => `exit ${String(rc)}: ${commands[i] ?? '?'}`)
    expect(failed, output).toEqual([])
    expect(
      results.map(([i]) => i),
      output,
    ).toEqual(expected)
    expect(code, output).toBe(0)
    // what the steps promise
    expect(output).toMatch(/x-wattline-zone: (FR|DE|PL)/i) // step 3: the gateway answered
    expect(output).toContain('carbon-aware') // step 4: the policy table
    expect(readFileSync(join(dir, 'replay.html'), 'utf8')).toContain('<html')
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as {
      runs: { ok: number; errors: number }[]
    }
    expect(result.runs.every((r) => r.ok > 0 && r.errors === 0)).toBe(true) // step 5
    expect(output).toMatch(/^PASS chat/m)
    expect(readFileSync(join(dir, 'gate.md'), 'utf8').length).toBeGreaterThan(0)
    expect(output).toMatch(/^intact: \d+ blocks/m) // step 6
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<html')
    expect(existsSync(join(dir, 'wattline-data/wattline.db'))).toBe(true)
  }, 180_000)
})
