/**
 * @module reliability/gateway-process.test-support
 * A gateway in its own process for the reliability suite: a simulated OpenAI-compatible backend
 * (the test harness's stub) and the real gateway app on 127.0.0.1, port 0, from the config in
 * `WL_CHILD_GATEWAY` (JSON of the `gateway:` section). Prints one JSON line `{"port":N,"pid":P}`
 * once listening, and closes on SIGTERM. Its file descriptors are its own (start it under
 * `ulimit -n`), so a test can exhaust them without touching the test runner's.
 */
import { startGateway, startStub } from '../http/harness.test-support.ts'

const gateway = JSON.parse(process.env['WL_CHILD_GATEWAY'] ?? '{}') as Record<string, unknown>
const stub = await startStub()
const gw = await startGateway(
  {
    gateway: { health: { interval_ms: 60_000 }, ...gateway },
    services: [{ name: 'chat', default: true }],
    backends: [
      {
        id: 'paris',
        url: stub.url,
        zone: 'FR',
        hardware: 'H100-SXM',
        models: ['llama-3.1-8b-instruct'],
      },
    ],
  },
  { FR: 30 },
)
process.stdout.write(
  `${JSON.stringify({ port: Number(new URL(gw.baseUrl).port), pid: process.pid })}\n`,
)
// Closing both servers empties the event loop: the process then ends on its own.
process.once('SIGTERM', () => {
  void Promise.all([gw.close(), stub.close()])
})
