import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { ClientAbort } from './client-abort.ts'

describe('ClientAbort', () => {
  it('behaves as an AbortSignal for its consumers: listeners once, in order, removable', () => {
    const c = new ClientAbort()
    const calls: string[] = []
    const a = (): void => void calls.push('a')
    const b = (): void => void calls.push('b')
    const gone = (): void => void calls.push('removed')
    c.addEventListener('abort', a, { once: true })
    c.addEventListener('abort', a) // the same listener twice is called once
    c.addEventListener('abort', { handleEvent: (e: Event) => void calls.push(`obj:${e.type}`) })
    c.addEventListener('abort', gone)
    c.addEventListener('abort', b)
    c.removeEventListener('abort', gone)
    c.addEventListener('other', () => calls.push('other'))
    expect(c.aborted).toBe(false)
    expect(() => c.throwIfAborted()).not.toThrow()
    const reason = new Error('client closed the connection')
    c.abort(reason)
    c.abort(new Error('second')) // once only
    expect(calls).toEqual(['a', 'obj:abort', 'b'])
    expect(c.aborted).toBe(true)
    expect(c.reason).toBe(reason)
    expect(() => c.throwIfAborted()).toThrow(reason)
    c.addEventListener('abort', () => calls.push('late')) // after the abort: never called
    expect(calls).toHaveLength(3)
  })

  it('cancels an undici request waiting on a server that never answers', async () => {
    const server = createServer(() => {
      // never answers
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const closed = new Promise<void>((resolve) => {
      server.on('connection', (socket) => socket.on('close', () => resolve()))
    })
    try {
      const c = new ClientAbort()
      const port = (server.address() as AddressInfo).port
      const pending = request(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        body: '{}',
        signal: c.signal,
      })
      await new Promise((r) => setTimeout(r, 50))
      const reason = new Error('client closed the connection')
      c.abort(reason)
      await expect(pending).rejects.toBe(reason)
      await closed // undici dropped the connection
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('an undici request made after the abort fails with the reason, as with an AbortController', async () => {
    const server = createServer((_req, res) => res.end('ok'))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const c = new ClientAbort()
      const reason = new Error('gone')
      c.abort(reason)
      await expect(request(url, { signal: c.signal })).rejects.toBe(reason)
      const ac = new AbortController()
      ac.abort(reason)
      await expect(request(url, { signal: ac.signal })).rejects.toBe(reason)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
