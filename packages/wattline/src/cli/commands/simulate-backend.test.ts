import { describe, expect, it } from 'vitest'
import { runCli } from '../program.ts'
import { captureIo, type CapturedIo } from '../run-cli.test-support.ts'

const io = (stop: AbortSignal): CapturedIo => captureIo({ stopSignal: stop })

describe('wattline simulate-backend', () => {
  it('serves a simulated model until stopped', async () => {
    const stop = new AbortController()
    const cli = io(stop.signal)
    const run = runCli(
      [
        'simulate-backend',
        '--model',
        'llama-3.1-8b-instruct',
        '--hardware',
        'H100-SXM',
        '--zone',
        'FR',
        '--time-scale',
        '50',
        '--json',
      ],
      cli.io,
    )
    let line = ''
    for (let i = 0; i < 200 && !line; i += 1) {
      await new Promise((r) => setTimeout(r, 10))
      line = cli.out().split('\n')[0] ?? ''
    }
    const info = JSON.parse(line) as { url: string; zone: string; simulated: boolean }
    expect(info).toMatchObject({ zone: 'FR', simulated: true })
    const res = await fetch(`${info.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'llama-3.1-8b-instruct',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 4,
      }),
    })
    expect(res.headers.get('x-simulated')).toBe('true')
    expect(
      ((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(4)
    stop.abort()
    expect(await run).toBe(0)
    expect(cli.err()).toMatch(/1 requests completed, 4 tokens/)
  })

  it('rejects an unknown zone or hardware with exit 2', async () => {
    const cli = io(new AbortController().signal)
    const base = ['simulate-backend', '--model', 'llama-3.1-8b-instruct']
    expect(await runCli([...base, '--hardware', 'H100-SXM', '--zone', 'Atlantis'], cli.io)).toBe(2)
    expect(cli.err()).toMatch(/WL_UNKNOWN_ZONE/)
    expect(await runCli([...base, '--hardware', 'H1000', '--zone', 'FR'], cli.io)).toBe(2)
    expect(cli.err()).toMatch(/WL_UNKNOWN_HARDWARE/)
    expect(
      await runCli([...base, '--hardware', 'H100-SXM', '--zone', 'FR', '--port', 'x'], cli.io),
    ).toBe(2)
  })
})
