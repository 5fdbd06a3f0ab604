/**
 * @module adapters/storage/ledger-worker-priority
 * The ledger writer thread yields the CPU to the gateway's event loop: on Linux it raises its own
 * nice value by `LEDGER_WORKER_NICE_STEP` (5) when it starts.
 *
 * Why: every flush (each `flush_interval_ms`, 100 ms by default) wakes the thread with a batch.
 * Woken after sleeping, it preempted the event loop that had just posted the batch and held the
 * core for its whole flush (≈ 3 ms for 100 rows): where the thread and the loop share a core
 * (`bench:gateway` pins the gateway to one; a one-CPU container), 7–27 % of the flushes stalled
 * the loop for over 1 ms (up to 14 ms), in the middle of serving requests (docs/benchmarks.md,
 * "Tail latency at 1,000 req/s: causes"). Five nice steps make the scheduler run the loop first when both want the
 * core, and still leave the thread at least a quarter of a core it shares with a saturated loop
 * (weights 335 against 1,024): measured there, it keeps up with the loop's full closed-loop load
 * (the same CPU time as at nice 0), where ten steps let it fall behind. With a core of its own, as
 * on any machine with a spare core, nothing changes.
 *
 * Only on Linux, where nice is a per-thread attribute (`setpriority(PRIO_PROCESS, 0)` applies to the
 * calling thread); elsewhere it would apply to the whole process, so nothing is done. Relative to
 * the thread's current value (inherited from the thread that started it, so a gateway started
 * under `nice` keeps its offset), at most 19. A refusal (none is expected: raising one's own nice
 * needs no privilege) leaves the priority as it was.
 */
import { getPriority, setPriority } from 'node:os'

/** Nice steps the writer thread takes below the thread that started it. */
export const LEDGER_WORKER_NICE_STEP = 5

/** What the priority calls need (node:os, or a fake in tests). */
export interface ThreadPriorityOps {
  readonly platform: NodeJS.Platform
  getPriority(pid: number): number
  setPriority(pid: number, priority: number): void
}

const nodeOps: ThreadPriorityOps = { platform: process.platform, getPriority, setPriority }

/**
 * Lowers the calling thread's scheduling priority by `LEDGER_WORKER_NICE_STEP` (Linux only).
 * Returns the nice value set, or `null` when nothing was changed.
 */
export function lowerThisThreadPriority(ops: ThreadPriorityOps = nodeOps): number | null {
  if (ops.platform !== 'linux') return null
  try {
    const now = ops.getPriority(0)
    const next = Math.min(19, now + LEDGER_WORKER_NICE_STEP)
    if (next === now) return null
    ops.setPriority(0, next)
    return next
  } catch {
    return null
  }
}
