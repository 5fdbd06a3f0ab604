import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { FORCED_EXIT_CODE, stopOnSignals } from './stop-signals.ts'

function harness(graceMs = 1000) {
  const source = new EventEmitter()
  const controller = new AbortController()
  let clock = 0
  const forced: [string, number][] = []
  stopOnSignals(source, {
    controller,
    nowMs: () => clock,
    forceExit: (signal, code) => forced.push([signal, code]),
    repeatGraceMs: graceMs,
  })
  return {
    controller,
    forced,
    send: (signal: 'SIGINT' | 'SIGTERM', atMs: number) => {
      clock = atMs
      source.emit(signal)
    },
    listeners: (signal: string) => source.listenerCount(signal),
  }
}

describe('stopOnSignals', () => {
  it('the first signal asks the command to stop, nothing more', () => {
    const h = harness()
    expect(h.controller.signal.aborted).toBe(false)
    h.send('SIGINT', 0)
    expect(h.controller.signal.aborted).toBe(true)
    expect(h.forced).toEqual([])
  })

  it("one Ctrl-C under npm arrives twice (the terminal's copy, then npm's): the repeat is absorbed and the listener stays", () => {
    const h = harness()
    h.send('SIGINT', 100)
    h.send('SIGINT', 103) // npm forwarding the SIGINT it received
    h.send('SIGTERM', 400) // a supervisor's SIGTERM right behind
    expect(h.forced).toEqual([])
    // a one-shot listener would be gone now, leaving node's default action (kill) for the repeat
    expect(h.listeners('SIGINT')).toBe(1)
    expect(h.listeners('SIGTERM')).toBe(1)
  })

  it('a signal after the grace stops at once with 128 + the signal number', () => {
    const h = harness(1000)
    h.send('SIGTERM', 0)
    h.send('SIGINT', 999)
    expect(h.forced).toEqual([])
    h.send('SIGINT', 1000)
    expect(h.forced).toEqual([['SIGINT', 130]])
    h.send('SIGTERM', 5000)
    expect(h.forced).toEqual([
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ])
    expect(FORCED_EXIT_CODE).toEqual({ SIGINT: 130, SIGTERM: 143 })
  })
})
