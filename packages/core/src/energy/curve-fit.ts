/**
 * @module energy/curve-fit
 * The fitting arithmetic behind energy profiles, kept pure so the fit script, the benchmark and
 * the tests share it.
 *
 * Energy per output token falls with batch size as fixed per-step costs (reading the weights,
 * static power) are shared by more sequences, towards a floor set by per-token compute:
 * `E(b) = c + a·b^(−k)` with `a, c ≥ 0` and `k ∈ [0.2, 1]`. For `k = 1` this is the familiar
 * `a/b + c`; freeing `k` absorbs the sub-linear growth of step time with batch size seen in the
 * ML.ENERGY data. The fit minimises squared *relative* error, so small and large batches weigh
 * alike. Time per output token grows roughly linearly with batch: `t(b) = t0 + t1·b`.
 */

/** A measured point: x = batch size (sequences), y = the measured quantity. */
export interface Point {
  readonly x: number
  readonly y: number
}

/** `y(b) = c + a·b^(−k)`. */
export interface DecayCurve {
  readonly a: number
  readonly k: number
  readonly c: number
}

/** `y(b) = t0 + t1·b`. */
export interface LinearCurve {
  readonly t0: number
  readonly t1: number
}

export const K_MIN = 0.2
export const K_MAX = 1.0

/** Evaluates a decay curve at batch `b` (b ≥ 1 is the caller's job). */
export function evalDecay(curve: DecayCurve, b: number): number {
  return curve.c + curve.a * Math.pow(b, -curve.k)
}

/** Evaluates a linear curve at batch `b`. */
export function evalLinear(curve: LinearCurve, b: number): number {
  return curve.t0 + curve.t1 * b
}

/**
 * Fits `c + a·b^(−k)` to points by minimising squared relative error: a grid over `k` (step 0.01)
 * with non-negative weighted least squares for `a, c` at each `k`. With fewer than 4 distinct
 * batch sizes `k` is fixed at 1 (two free parameters); with one point the curve is flat.
 */
export function fitDecayCurve(points: readonly Point[]): DecayCurve {
  const usable = points.filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.y))
  if (usable.length === 0) throw new RangeError('fitDecayCurve: no positive points')
  if (usable.length === 1) return { a: 0, k: 1, c: usable[0]?.y ?? 0 }
  const distinct = new Set(usable.map((p) => p.x)).size
  const ks: number[] = []
  if (distinct < 4) ks.push(1)
  else for (let k = K_MIN; k <= K_MAX + 1e-9; k += 0.01) ks.push(Math.round(k * 100) / 100)
  let best: { curve: DecayCurve; loss: number } | undefined
  for (const k of ks) {
    const curve = fitAC(usable, k)
    const loss = relativeLoss(usable, (b) => evalDecay(curve, b))
    if (best === undefined || loss < best.loss) best = { curve, loss }
  }
  return best?.curve ?? { a: 0, k: 1, c: usable[0]?.y ?? 0 }
}

/** Fits `t0 + t1·b` (both ≥ 0) minimising squared relative error. */
export function fitLinearCurve(points: readonly Point[]): LinearCurve {
  const usable = points.filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.y))
  if (usable.length === 0) throw new RangeError('fitLinearCurve: no positive points')
  if (usable.length === 1) return { t0: usable[0]?.y ?? 0, t1: 0 }
  const [t0, t1] = nonNegative2(
    usable.map((p) => [1, p.x] as const),
    usable,
  )
  return { t0, t1 }
}

/** Root-mean-square of the log residuals, ln(pred/measured). */
export function rmsLogError(points: readonly Point[], predict: (x: number) => number): number {
  if (points.length === 0) return 0
  let s = 0
  for (const p of points) s += Math.log(predict(p.x) / p.y) ** 2
  return Math.sqrt(s / points.length)
}

/**
 * Ordinary least squares `X·θ ≈ y` by the normal equations with a tiny ridge (1e-9 × trace/n)
 * for numerical safety. Rows of `X` must all have the same length.
 */
export function leastSquares(X: readonly (readonly number[])[], y: readonly number[]): number[] {
  const n = X[0]?.length ?? 0
  const A = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  const v = new Array<number>(n).fill(0)
  X.forEach((row, r) => {
    const yr = y[r] ?? 0
    for (let i = 0; i < n; i++) {
      const xi = row[i] ?? 0
      v[i] = (v[i] ?? 0) + xi * yr
      const Ai = A[i] as number[]
      for (let j = 0; j < n; j++) Ai[j] = (Ai[j] ?? 0) + xi * (row[j] ?? 0)
    }
  })
  let trace = 0
  for (let i = 0; i < n; i++) trace += A[i]?.[i] ?? 0
  const ridge = (1e-9 * trace) / Math.max(1, n)
  for (let i = 0; i < n; i++) (A[i] as number[])[i] = (A[i]?.[i] ?? 0) + ridge
  return solve(A, v)
}

/**
 * Least absolute deviations, min Σ w·|y − X·θ|, by iteratively reweighted least squares (weights
 * w / max(|residual|, `floor`), `iterations` rounds from the weighted least-squares start). A median
 * regression: a few far-off runs (a prompt-heavy task, a saturated batch) move it less than they
 * move least squares. `weights` (one per row, default 1) lets a caller weigh groups of rows alike.
 */
export function leastAbsoluteDeviations(
  X: readonly (readonly number[])[],
  y: readonly number[],
  iterations = 50,
  floor = 0.02,
  weights?: readonly number[],
): number[] {
  const n = X.length
  const base = Float64Array.from({ length: n }, (_, r) => weights?.[r] ?? 1)
  let theta = weightedLeastSquares(X, y, base)
  const w = new Float64Array(n)
  for (let k = 0; k < iterations; k++) {
    for (let r = 0; r < n; r++) {
      const row = X[r] ?? []
      let fit = 0
      for (let i = 0; i < row.length; i++) fit += (theta[i] ?? 0) * (row[i] ?? 0)
      w[r] = (base[r] ?? 1) / Math.max(Math.abs((y[r] ?? 0) - fit), floor)
    }
    theta = weightedLeastSquares(X, y, w)
  }
  return theta
}

/**
 * Weighted least squares `min Σ w·(y − X·θ)²` by the normal equations, with the same tiny ridge as
 * {@link leastSquares} (identical to it on rows scaled by √w, without building them).
 */
function weightedLeastSquares(
  X: readonly (readonly number[])[],
  y: readonly number[],
  w: Float64Array,
): number[] {
  const p = X[0]?.length ?? 0
  const A = new Float64Array(p * p)
  const v = new Float64Array(p)
  for (let r = 0; r < X.length; r++) {
    const row = X[r] ?? []
    const wr = w[r] ?? 0
    const wy = wr * (y[r] ?? 0)
    for (let i = 0; i < p; i++) {
      const xi = (row[i] ?? 0) * wr
      v[i] = (v[i] ?? 0) + (row[i] ?? 0) * wy
      // A is symmetric: fill the upper triangle, mirror below.
      for (let j = i; j < p; j++) A[i * p + j] = (A[i * p + j] ?? 0) + xi * (row[j] ?? 0)
    }
  }
  for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) A[i * p + j] = A[j * p + i] ?? 0
  let trace = 0
  for (let i = 0; i < p; i++) trace += A[i * p + i] ?? 0
  const ridge = (1e-9 * trace) / Math.max(1, p)
  const M = Array.from({ length: p }, (_, i) => {
    const out = new Array<number>(p)
    for (let j = 0; j < p; j++) out[j] = (A[i * p + j] ?? 0) + (i === j ? ridge : 0)
    return out
  })
  return solve(M, Array.from(v))
}

/** Quantile `q` ∈ [0, 1] of `values` (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q))
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = s[lo] ?? 0
  const b = s[hi] ?? a
  return a + (b - a) * (pos - lo)
}

function fitAC(points: readonly Point[], k: number): DecayCurve {
  const rows = points.map((p) => [1, Math.pow(p.x, -k)] as const)
  const [c, a] = nonNegative2(rows, points)
  return { a, k, c }
}

/** Weighted (1/y) least squares for two non-negative coefficients, by checking the boundaries. */
function nonNegative2(
  rows: readonly (readonly [number, number])[],
  points: readonly Point[],
): [number, number] {
  const X = rows.map((r, i) => [r[0] / (points[i]?.y ?? 1), r[1] / (points[i]?.y ?? 1)])
  const ones = points.map(() => 1)
  const both = leastSquares(X, ones)
  const p0 = both[0] ?? 0
  const p1 = both[1] ?? 0
  if (p0 >= 0 && p1 >= 0) return [p0, p1]
  const only0 = Math.max(0, single(X.map((r) => r[0] ?? 0)))
  const only1 = Math.max(0, single(X.map((r) => r[1] ?? 0)))
  const loss0 = X.reduce((s, r) => s + ((r[0] ?? 0) * only0 - 1) ** 2, 0)
  const loss1 = X.reduce((s, r) => s + ((r[1] ?? 0) * only1 - 1) ** 2, 0)
  return loss0 <= loss1 ? [only0, 0] : [0, only1]
}

function single(x: readonly number[]): number {
  let xx = 0
  let xy = 0
  for (const v of x) {
    xx += v * v
    xy += v
  }
  return xx === 0 ? 0 : xy / xx
}

function relativeLoss(points: readonly Point[], f: (b: number) => number): number {
  let s = 0
  for (const p of points) s += ((f(p.x) - p.y) / p.y) ** 2
  return s
}

/** Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length
  const M = A.map((row, i) => [...row, b[i] ?? 0])
  for (let col = 0; col < n; col++) {
    let pivot = col
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(M[r]?.[col] ?? 0) > Math.abs(M[pivot]?.[col] ?? 0)) pivot = r
    }
    const tmp = M[col] as number[]
    M[col] = M[pivot] as number[]
    M[pivot] = tmp
    const p = M[col]?.[col] ?? 0
    if (Math.abs(p) < 1e-300) continue
    for (let r = 0; r < n; r++) {
      if (r === col) continue
      const f = (M[r]?.[col] ?? 0) / p
      if (f === 0) continue
      const Mr = M[r] as number[]
      const Mc = M[col] as number[]
      for (let c = col; c <= n; c++) Mr[c] = (Mr[c] ?? 0) - f * (Mc[c] ?? 0)
    }
  }
  return M.map((row, i) => {
    const p = row[i] ?? 0
    return Math.abs(p) < 1e-300 ? 0 : (row[n] ?? 0) / p
  })
}
