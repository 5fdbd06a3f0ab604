import { describe, expect, it } from 'vitest'
import { exchange, finishInput, testConfig } from './exchange.test-support.ts'
import { composePipeline, type Exchange, type Interceptor } from './pipeline.ts'

const END = finishInput()

/** An interceptor that logs its hooks. */
function tracing(name: string, log: string[]): Interceptor {
  return {
    name,
    async dispatch(ex, next) {
      log.push(`${name}>`)
      await next(ex)
      log.push(`<${name}`)
    },
    finish() {
      log.push(`finish ${name}`)
    },
  }
}

describe('composePipeline', () => {
  it('dispatches outermost first to the terminal, and finishes innermost first', async () => {
    const log: string[] = []
    const p = composePipeline(
      [tracing('a', log), tracing('b', log), tracing('c', log)],
      async () => {
        log.push('terminal')
      },
    )
    const ex = exchange(testConfig())
    await p.dispatch(ex)
    p.finish(ex, END)
    expect(log).toEqual([
      'a>',
      'b>',
      'c>',
      'terminal',
      '<c',
      '<b',
      '<a',
      'finish c',
      'finish b',
      'finish a',
    ])
  })

  it('an interceptor that answers itself (a cache hit) keeps those below from dispatching and finishing', async () => {
    const log: string[] = []
    const cache: Interceptor = {
      name: 'cache',
      async dispatch(ex, next) {
        if (ex.model === 'cached') return // answered from the cache: next never runs
        await next(ex)
      },
      finish: () => void log.push('finish cache'),
    }
    const p = composePipeline(
      [tracing('accounting', log), cache, tracing('lease', log)],
      async () => {
        log.push('terminal')
      },
    )
    const config = testConfig()
    const hit = exchange(config, { model: 'cached' })
    await p.dispatch(hit)
    p.finish(hit, END)
    expect(log).toEqual(['accounting>', '<accounting', 'finish cache', 'finish accounting'])
    log.length = 0
    const miss = exchange(config)
    await p.dispatch(miss)
    p.finish(miss, END)
    expect(log).toEqual([
      'accounting>',
      'lease>',
      'terminal',
      '<lease',
      '<accounting',
      'finish lease',
      'finish cache',
      'finish accounting',
    ])
  })

  it('lets an interceptor call next several times (retry) and passes errors up', async () => {
    let calls = 0
    const twice: Interceptor = {
      name: 'twice',
      async dispatch(ex, next) {
        try {
          await next(ex)
        } catch {
          await next(ex)
        }
      },
    }
    const p = composePipeline([twice], async () => {
      if (++calls === 1) throw new Error('first fails')
    })
    await p.dispatch(exchange(testConfig()))
    expect(calls).toBe(2)
    const failing = composePipeline([], async () => {
      throw new Error('boom')
    })
    await expect(failing.dispatch(exchange(testConfig()))).rejects.toThrow('boom')
  })

  it('counts a finish-only interceptor as reached; refuses a name given twice', async () => {
    const log: string[] = []
    const finishOnly: Interceptor = { name: 'f', finish: () => void log.push('f') }
    const p = composePipeline([finishOnly], async () => {})
    const ex: Exchange = exchange(testConfig())
    p.finish(ex, END)
    expect(log).toEqual([]) // never dispatched
    await p.dispatch(ex)
    p.finish(ex, END)
    expect(log).toEqual(['f'])
    expect(() => composePipeline([finishOnly, finishOnly], async () => {})).toThrow(/twice/)
  })
})
