/**
 * CPU time of benchmarked processes from Linux `/proc` (the benches' CPU-per-request figures):
 * user + system, which barely moves when other work shares the machine (unlike req/s).
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second of `/proc/.../stat` times (100 on Linux unless configured otherwise). */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/**
 * The fields of a `/proc/.../stat` file after the command name (whose parentheses may hold
 * spaces): index 0 is the state, 1 the parent pid, 11 and 12 utime and stime.
 */
export function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/**
 * CPU time (user + system) a process has used so far, ms (NaN where `/proc` cannot be read); with
 * `mainThread`, its main thread's alone (`/proc/PID/task/PID/stat`: the event loop that serves
 * requests, without the ledger writer thread or V8's helper threads).
 */
export function processCpuMs(pid: number | undefined, mainThread = false): number {
  if (pid === undefined) return Number.NaN
  const p = String(pid)
  try {
    const f = statFields(mainThread ? `/proc/${p}/task/${p}/stat` : `/proc/${p}/stat`)
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK
  } catch {
    return Number.NaN
  }
}
