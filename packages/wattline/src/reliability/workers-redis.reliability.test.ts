/**
 * `wattline serve --workers 2` with the cluster Redis (issue 13): the workers are replicas sharing
 * each backend's `max_concurrency` through the Redis lease path, so a limit of 1, which cannot be
 * split across two workers without Redis (refused, see cli/commands/serve.test.ts), holds across
 * both with it. Real processes on loopback, one real Redis. Skipped with a notice when REDIS_URL is
 * unset (CI sets it).
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { atScale } from './scale.test-support.ts'
import {
  MODEL,
  chats,
  startCountingUpstream,
  startServe,
  type CountingUpstream,
} from './worker-gateway.test-support.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('workers-redis: REDIS_URL unset, skipped')
const AT_ONCE = atScale(12, 6)

let upstream: CountingUpstream | undefined
let child: ChildProcess | undefined
let dir = ''
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL')
  await upstream?.close()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(REDIS_URL === undefined)(
  'wattline serve --workers 2 with the cluster Redis',
  () => {
    it(`holds max_concurrency 1 across both workers for ${AT_ONCE} requests at once`, async () => {
      upstream = await startCountingUpstream()
      upstream.delayMs = 100
      dir = mkdtempSync(join(tmpdir(), 'wattline-workers-redis-'))
      const prefix = `wl-workers-${String(process.pid)}-${String(Date.now())}`
      writeFileSync(
        join(dir, 'wattline.yaml'),
        [
          'gateway: { log_level: warn, health: { interval_ms: 60000 } }',
          'ledger: { url: "sqlite:./ledger.db" }',
          `cluster: { redis_url_env: WL_WORKERS_REDIS, key_prefix: "${prefix}" }`,
          'services:',
          '  - name: chat',
          '    default: true',
          'backends:',
          '  - id: paris',
          `    url: ${upstream.url}`,
          '    zone: FR',
          '    hardware: H100-SXM',
          `    models: [${MODEL}]`,
          '    max_concurrency: 1',
          '',
        ].join('\n'),
      )
      const started = startServe(dir, ['--workers', '2'], {
        ...process.env,
        WL_WORKERS_REDIS: REDIS_URL as string,
      })
      child = started.child
      const base = await started.url
      const got = await chats(base, AT_ONCE, AT_ONCE)
      expect(got.map((r) => r.status)).toEqual(Array(AT_ONCE).fill(200))
      expect(upstream.peak).toBe(1)
      const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }, 60_000)
  },
)
