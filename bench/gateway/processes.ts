/**
 * Child processes for the gateway benchmark: start pinned to a CPU set (taskset, when present),
 * wait for readiness, and always stop what was started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/** True when `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

const TASKSET = hasCommand('taskset')

/** The argv that runs `argv` pinned to `cpus` (e.g. "0") when taskset exists. */
export function pinned(cpus: string | undefined, argv: readonly string[]): string[] {
  return cpus !== undefined && TASKSET ? ['taskset', '-c', cpus, ...argv] : [...argv]
}

export interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  stop(): Promise<void>
}

/** Spawns a process; its stdout+stderr are kept (last 64 kB) for error reports. */
export function start(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Started {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new Error('empty argv')
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const keep = (b: Buffer): void => {
    out = (out + b.toString()).slice(-65_536)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  return {
    child,
    output: () => out,
    stop: () => stopChild(child),
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the child has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Polls `url` until it answers 2xx or `timeoutMs` passes. */
export async function waitReady(url: string, timeoutMs: number, started?: Started): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (started && started.child.exitCode !== null) {
      throw new Error(`process exited (${String(started.child.exitCode)}):\n${started.output()}`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      if (res.ok) return
      last = `HTTP ${String(res.status)}`
    } catch (e) {
      last = e instanceof Error ? e.message : String(e)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(
    `${url} not ready after ${String(timeoutMs)} ms (${last})${started ? `\n${started.output()}` : ''}`,
  )
}

/** Runs a command to completion (bounded by `timeoutMs`) and returns its stdout. */
export function runToEnd(argv: readonly string[], timeoutMs: number): Promise<string> {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new Error('empty argv')
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (err += b.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${argv.join(' ')} exited ${String(code ?? signal)}:\n${err}${out}`))
    })
  })
}
