/**
 * A smooth multiplicative bias field modelled as exp(polynomial) of total degree ≤ d in the voxel
 * coordinates (each axis scaled to [−1, 1]), fitted by weighted least squares to log-intensity
 * residuals (log observed − log class mean), as in EM bias correction (Wells et al., IEEE TMI 15:429,
 * 1996; Van Leemput et al., IEEE TMI 18:885, 1999).
 */
import type { Shape3 } from '../../volumes/volume.ts';

/** Exponents (a, b, c) with a + b + c ≤ degree, constant term first. */
export function monomials(degree: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let t = 0; t <= degree; t++) for (let a = t; a >= 0; a--) for (let b = t - a; b >= 0; b--) out.push([a, b, t - a - b]);
  return out;
}

function coords(shape: Shape3, axis: number, degree: number): Float64Array[] {
  const n = shape[axis];
  const powers: Float64Array[] = [];
  for (let e = 0; e <= degree; e++) {
    const arr = new Float64Array(n);
    for (let i = 0; i < n; i++) arr[i] = (n > 1 ? (2 * i) / (n - 1) - 1 : 0) ** e;
    powers.push(arr);
  }
  return powers;
}

/** Solves the symmetric system A x = b (Gaussian elimination with partial pivoting, a small ridge). */
function solve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const A = Float64Array.from(a);
  const x = Float64Array.from(b);
  let trace = 0;
  for (let i = 0; i < m; i++) trace += A[i * m + i];
  const ridge = (1e-9 * trace) / m;
  for (let i = 0; i < m; i++) A[i * m + i] += ridge;
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(A[r * m + col]) > Math.abs(A[piv * m + col])) piv = r;
    if (piv !== col) {
      for (let c = 0; c < m; c++) [A[col * m + c], A[piv * m + c]] = [A[piv * m + c], A[col * m + c]];
      [x[col], x[piv]] = [x[piv], x[col]];
    }
    const d = A[col * m + col];
    if (Math.abs(d) < 1e-300) continue;
    for (let r = col + 1; r < m; r++) {
      const f = A[r * m + col] / d;
      if (f === 0) continue;
      for (let c = col; c < m; c++) A[r * m + c] -= f * A[col * m + c];
      x[r] -= f * x[col];
    }
  }
  for (let r = m - 1; r >= 0; r--) {
    let s = x[r];
    for (let c = r + 1; c < m; c++) s -= A[r * m + c] * x[c];
    const d = A[r * m + r];
    x[r] = Math.abs(d) < 1e-300 ? 0 : s / d;
  }
  return x;
}

export interface LogBiasFit {
  /** Polynomial coefficients (monomials(degree) order). */
  coefficients: Float64Array;
  degree: number;
}

/**
 * Fits log-bias = Σ cₘ·monomialₘ to `residual[s]` at voxel index `index[s]` with weights `weight[s]`.
 */
export function fitLogBias(shape: Shape3, degree: number, index: Int32Array, residual: Float64Array, weight: Float64Array, count: number): LogBiasFit {
  const terms = monomials(degree);
  const m = terms.length;
  const px = coords(shape, 0, degree);
  const py = coords(shape, 1, degree);
  const pz = coords(shape, 2, degree);
  const [nx, ny] = shape;
  const ata = new Float64Array(m * m);
  const atb = new Float64Array(m);
  const row = new Float64Array(m);
  for (let s = 0; s < count; s++) {
    const p = index[s];
    const i = p % nx;
    const j = Math.floor(p / nx) % ny;
    const k = Math.floor(p / (nx * ny));
    for (let t = 0; t < m; t++) {
      const [a, b, c] = terms[t];
      row[t] = px[a][i] * py[b][j] * pz[c][k];
    }
    const w = weight[s];
    const r = residual[s];
    for (let u = 0; u < m; u++) {
      const wu = w * row[u];
      atb[u] += wu * r;
      for (let v = u; v < m; v++) ata[u * m + v] += wu * row[v];
    }
  }
  for (let u = 0; u < m; u++) for (let v = 0; v < u; v++) ata[u * m + v] = ata[v * m + u];
  return { coefficients: solve(ata, atb, m), degree };
}

/** Evaluates the log-bias at the listed voxels into `out`. */
export function evaluateLogBias(fit: LogBiasFit, shape: Shape3, index: Int32Array, out: Float64Array): void {
  const terms = monomials(fit.degree);
  const px = coords(shape, 0, fit.degree);
  const py = coords(shape, 1, fit.degree);
  const pz = coords(shape, 2, fit.degree);
  const [nx, ny] = shape;
  const c = fit.coefficients;
  for (let s = 0; s < index.length; s++) {
    const p = index[s];
    const i = p % nx;
    const j = Math.floor(p / nx) % ny;
    const k = Math.floor(p / (nx * ny));
    let v = 0;
    for (let t = 0; t < terms.length; t++) {
      const [a, b, e] = terms[t];
      v += c[t] * px[a][i] * py[b][j] * pz[e][k];
    }
    out[s] = v;
  }
}
