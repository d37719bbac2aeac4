// Medians, ratios and growth fits for the bench's samples.

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export interface LinearFit {
  /** Time per unit of x (ms per x). */
  slope: number
  /** Time at x = 0 (ms): the fixed cost. */
  intercept: number
  /** Exponent b of t ≈ a·x^b over the last two points; 1 is linear, 2 quadratic. */
  lastExponent: number
  /**
   * The same exponent for the growth above the first point, (t − t₀) ≈ a·(x − x₀)^b, over the last
   * two points: the fixed cost (start-up) taken out, so a linear cost shows as 1, not less.
   * NaN with fewer than three points or no measurable growth at the middle point: growth of at
   * most 5% of t₀, or at most the spread (max − min) of the samples at the first or middle point,
   * is noise, and a ratio taken against noise says nothing.
   */
  marginalExponent: number
}

/** Least squares of y on x, and the local exponent between the two largest x; `spreads[i]`: max − min of the samples at xs[i]. */
export function fitLinear(xs: number[], ys: number[], spreads: number[] = []): LinearFit {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my)
    sxx += (xs[i] - mx) ** 2
  }
  const slope = sxx === 0 ? 0 : sxy / sxx
  const last = n - 1
  const lastExponent = n < 2 || ys[last - 1] <= 0 || ys[last] <= 0 ? Number.NaN : Math.log(ys[last] / ys[last - 1]) / Math.log(xs[last] / xs[last - 1])
  let marginalExponent = Number.NaN
  if (n >= 3) {
    const grownMid = ys[last - 1] - ys[0]
    const grownLast = ys[last] - ys[0]
    const noise = Math.max(0.05 * ys[0], spreads[0] ?? 0, spreads[last - 1] ?? 0)
    if (grownMid > noise && grownLast > 0) marginalExponent = Math.log(grownLast / grownMid) / Math.log((xs[last] - xs[0]) / (xs[last - 1] - xs[0]))
  }
  return {slope, intercept: my - slope * mx, lastExponent, marginalExponent}
}

export const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value)
