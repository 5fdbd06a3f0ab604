import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  LEDGER_WORKER_NICE_STEP,
  lowerThisThreadPriority,
  type ThreadPriorityOps,
} from './ledger-worker-priority.ts'
import { openLedger } from './open-ledger.ts'

/** Fake priority calls: a thread at `nice`, optionally refusing changes. */
function fakeOps(platform: NodeJS.Platform, nice: number, refuse = false) {
  const calls: [number, number][] = []
  const ops: ThreadPriorityOps = {
    platform,
    getPriority: () => nice,
    setPriority: (pid, priority) => {
      if (refuse) throw Object.assign(new Error('EACCES'), { code: 'EACCES' })
      calls.push([pid, priority])
    },
  }
  return { ops, calls }
}

describe('lowerThisThreadPriority', () => {
  it('raises the calling thread’s nice value by the step on Linux (pid 0: this thread)', () => {
    const { ops, calls } = fakeOps('linux', 0)
    expect(lowerThisThreadPriority(ops)).toBe(LEDGER_WORKER_NICE_STEP)
    expect(calls).toEqual([[0, LEDGER_WORKER_NICE_STEP]])
  })

  it('is relative to the current value and stops at 19', () => {
    const a = fakeOps('linux', 3)
    expect(lowerThisThreadPriority(a.ops)).toBe(3 + LEDGER_WORKER_NICE_STEP)
    const b = fakeOps('linux', 17)
    expect(lowerThisThreadPriority(b.ops)).toBe(19)
    const c = fakeOps('linux', 19)
    expect(lowerThisThreadPriority(c.ops)).toBeNull()
    expect(c.calls).toEqual([])
  })

  it('changes nothing where nice is per process (macOS, Windows)', () => {
    for (const platform of ['darwin', 'win32'] as const) {
      const { ops, calls } = fakeOps(platform, 0)
      expect(lowerThisThreadPriority(ops)).toBeNull()
      expect(calls).toEqual([])
    }
  })

  it('leaves the priority as it was when the change is refused', () => {
    const { ops } = fakeOps('linux', 0, true)
    expect(lowerThisThreadPriority(ops)).toBeNull()
  })
})

/** Nice value of every thread of this process (Linux `/proc/self/task/<tid>/stat`, field 19). */
function threadNices(): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(tid, Number(fields[16]))
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe.skipIf(process.platform !== 'linux')('the ledger writer thread (Linux)', () => {
  it('runs LEDGER_WORKER_NICE_STEP nice steps below the thread that opened the ledger, which keeps its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-ledger-priority-'))
    dirs.push(dir)
    const mine = getPriority(0)
    const expected = Math.min(19, mine + LEDGER_WORKER_NICE_STEP)
    const before = [...threadNices()].filter(([, n]) => n === expected).map(([t]) => t)
    const ledger = await openLedger(`sqlite:${join(dir, 'ledger.db')}`, {
      baseDir: dir,
      writer: 'worker',
    })
    try {
      expect(ledger.writerMode).toBe('worker')
      const lowered = [...threadNices()]
        .filter(([tid, n]) => n === expected && !before.includes(tid))
        .map(([t]) => t)
      expect(lowered).toHaveLength(1)
      expect(getPriority(0)).toBe(mine)
    } finally {
      await ledger.close()
    }
  })
})
