import Fastify, { type FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { lazyChildLoggerFactory } from './request-logger.ts'

/** A fastify app whose request logs go to `lines`; `lazy`: with the lazy child logger factory. */
async function appLogging(lazy: boolean, lines: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l))
      done()
    },
  })
  const logger = pino({ level: 'debug', base: null, timestamp: false }, sink)
  let children = 0
  /** `l` with its `child` counted (the children fastify makes for requests). */
  const counted = (l: FastifyBaseLogger): FastifyBaseLogger => {
    const c = Object.create(l) as FastifyBaseLogger
    c.child = (bindings, options) => {
      children++
      return l.child(bindings, options)
    }
    return c
  }
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    disableRequestLogging: true,
    genReqId: () => 'req-1',
    childLoggerFactory: lazy
      ? (l, bindings, options) => lazyChildLoggerFactory(counted(l), bindings, options)
      : (l, bindings, options) => counted(l).child(bindings, options),
  })
  app.get('/quiet', async () => ({ ok: true }))
  app.get('/logs', async (req) => {
    req.log.info({ code: 'X' }, 'refused')
    req.log.warn('second %s', 'line')
    req.log.debug({ n: 1 }, 'third')
    const nested = req.log.child({ part: 'p' })
    nested.error('nested')
    const log = req.log as FastifyBaseLogger & { isLevelEnabled(level: string): boolean }
    return { level: log.level, enabled: log.isLevelEnabled('trace') }
  })
  await app.ready()
  return { app, children: () => children }
}

describe('lazyChildLoggerFactory', () => {
  it('makes no pino child for a request that logs nothing', async () => {
    const eager = await appLogging(false, [])
    const lazy = await appLogging(true, [])
    for (const { app } of [eager, lazy]) {
      for (let i = 0; i < 3; i++) expect((await app.inject('/quiet')).statusCode).toBe(200)
    }
    expect(eager.children()).toBe(3)
    expect(lazy.children()).toBe(0)
  })

  it('logs exactly what the default per-request child logs (bindings, levels, nested children)', async () => {
    const eagerLines: Record<string, unknown>[] = []
    const lazyLines: Record<string, unknown>[] = []
    const eager = await appLogging(false, eagerLines)
    const lazy = await appLogging(true, lazyLines)
    const a = await eager.app.inject('/logs')
    const b = await lazy.app.inject('/logs')
    expect(b.json()).toEqual(a.json())
    expect(b.json()).toEqual({ level: 'debug', enabled: false })
    await new Promise((r) => setImmediate(r))
    expect(lazyLines).toEqual(eagerLines)
    expect(lazyLines.map((l) => l['reqId'])).toEqual(['req-1', 'req-1', 'req-1', 'req-1'])
    expect(lazyLines.at(-1)).toMatchObject({ part: 'p', msg: 'nested' })
    // one child for the request that logged, made on first use
    expect(lazy.children()).toBe(1)
  })
})
