/**
 * The live composition root wires measured meters through the staleness fallback: a fake
 * `nvidia-smi` (a shell script) reads, then fails long enough to go stale, then reads again.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import { writeOneBackendConfig } from './gateway-config.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

const dir = mkdtempSync(join(tmpdir(), 'wattline-live-meter-'))
let stub: StubBackend | undefined
let live: LiveGateway | undefined
afterAll(async () => {
  await live?.close()
  await stub?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('live gateway with a measured meter', () => {
  it.skipIf(process.platform === 'win32')(
    'falls back to modelled power while the meter fails, and recovers',
    async () => {
      stub = await startStub()
      const smi = join(dir, 'fake-nvidia-smi.sh')
      const failFlag = join(dir, 'fail')
      writeFileSync(
        smi,
        `#!/bin/sh\nif [ -e '${failFlag}' ]; then echo 'NVIDIA-SMI has failed' >&2; exit 9; fi\necho '0, 250.5'\n`,
      )
      chmodSync(smi, 0o755)
      writeOneBackendConfig(dir, stub.url, {
        gateway: ['accounting_interval_ms: 100'],
        backend: [
          `meter: {type: nvidia-smi, command: '${smi}', interval_ms: 100, stale_after_ms: 1000}`,
        ],
      })
      live = await startLiveGateway({
        configPath: 'wattline.yaml',
        cwd: dir,
        env: {},
        host: '127.0.0.1',
        port: 0,
        logger: pino({ level: 'silent' }),
      })
      const metrics = async (): Promise<string> => (await fetch(`${live!.url}/metrics`)).text()
      const chat = async (): Promise<string | null> => {
        const res = await fetch(`${live!.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'llama-3.1-8b-instruct',
            messages: [{ role: 'user', content: 'hi' }],
          }),
        })
        await res.text()
        return res.headers.get('x-wattline-method')
      }
      const up = (v: 0 | 1): RegExp =>
        new RegExp(`wattline_meter_up\\{backend="paris",zone="FR"\\} ${v}`)
      await expect.poll(metrics, { timeout: 10_000 }).toMatch(up(1))
      expect(await chat()).toBe('measured')
      expect(await metrics()).toMatch(
        /wattline_backend_power_watts\{backend="paris",zone="FR",method="measured"\} 250\.5/,
      )

      writeFileSync(failFlag, '')
      await expect.poll(metrics, { timeout: 10_000 }).toMatch(up(0))
      const stale = await metrics()
      expect(stale).toMatch(/wattline_meter_fallback_total\{backend="paris",zone="FR"\} 1/)
      expect(stale).toMatch(/wattline_meter_read_failures_total\{backend="paris",zone="FR"\} [1-9]/)
      expect(await chat()).toBe('modelled')

      rmSync(failFlag)
      await expect.poll(metrics, { timeout: 10_000 }).toMatch(up(1))
      expect(await chat()).toBe('measured')
    },
    30_000,
  )
})
