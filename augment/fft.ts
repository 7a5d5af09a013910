/**
 * A small complex FFT over Float64Arrays for k-space artefacts (motion, ghosting, spikes): iterative
 * radix-2 for powers of two, recursive mixed radix (decimation in time) when every prime factor is
 * at most 13 (24, 60, 192, 240...), and Bluestein's chirp-z (through a power-of-two convolution) for
 * any other length (181...), so no volume size needs padding. Plans (twiddles, chirps) are cached per
 * length. The inverse divides by n, so inverse(forward(x)) = x.
 */
import { VoxshiftError } from '../volumes/errors.ts';

interface Radix2Plan {
  kind: 'radix2';
  n: number;
  rev: Uint32Array;
  cos: Float64Array;
  sin: Float64Array;
}

interface BluesteinPlan {
  kind: 'bluestein';
  n: number;
  m: number;
  inner: Radix2Plan;
  /** Chirp exp(−iπk²/n). */
  cr: Float64Array;
  ci: Float64Array;
  /** FFT of the conjugate chirp filter, length m. */
  br: Float64Array;
  bi: Float64Array;
  ar: Float64Array;
  ai: Float64Array;
}

interface MixedPlan {
  kind: 'mixed';
  n: number;
  factors: number[];
  /** e^(−2πi·e/n) for e = 0..n−1. */
  cos: Float64Array;
  sin: Float64Array;
  xr: Float64Array;
  xi: Float64Array;
  tr: Float64Array;
  ti: Float64Array;
}

type Plan = Radix2Plan | BluesteinPlan | MixedPlan;

const MAX_MIXED_FACTOR = 13;

function smallFactors(n: number): number[] | null {
  const f: number[] = [];
  let m = n;
  for (let p = 2; p <= MAX_MIXED_FACTOR; p++) {
    while (m % p === 0) {
      f.push(p);
      m /= p;
    }
  }
  return m === 1 ? f : null;
}

function mixedPlan(n: number, factors: number[]): MixedPlan {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let e = 0; e < n; e++) {
    cos[e] = Math.cos((2 * Math.PI * e) / n);
    sin[e] = -Math.sin((2 * Math.PI * e) / n);
  }
  const pmax = Math.max(...factors);
  return {
    kind: 'mixed', n, factors, cos, sin,
    xr: new Float64Array(n), xi: new Float64Array(n), tr: new Float64Array(pmax), ti: new Float64Array(pmax),
  };
}

/**
 * y[yo .. yo+len) = DFT of x[xo + xs·t], t < len. Splits len = p·m: p sub-transforms of the
 * decimated inputs land at y[yo + r·m ..], then each k combines Y_r[k]·W_len^(rk) with a length-p DFT.
 */
function mixedRec(pl: MixedPlan, len: number, xo: number, xs: number, yr: Float64Array, yi: Float64Array, yo: number, level: number): void {
  if (len === 1) {
    yr[yo] = pl.xr[xo];
    yi[yo] = pl.xi[xo];
    return;
  }
  const p = pl.factors[level];
  const m = len / p;
  for (let r = 0; r < p; r++) mixedRec(pl, m, xo + r * xs, xs * p, yr, yi, yo + r * m, level + 1);
  const N = pl.n;
  const step = N / len;
  const pStep = N / p;
  const { cos, sin, tr, ti } = pl;
  if (p === 2) {
    for (let k = 0; k < m; k++) {
      const a = yo + k;
      const b = a + m;
      const e = k * step;
      const xr = yr[b] * cos[e] - yi[b] * sin[e];
      const xi = yr[b] * sin[e] + yi[b] * cos[e];
      yr[b] = yr[a] - xr;
      yi[b] = yi[a] - xi;
      yr[a] += xr;
      yi[a] += xi;
    }
    return;
  }
  if (p === 3) {
    // W_3 = −1/2 − i·√3/2.
    const h = Math.sqrt(3) / 2;
    for (let k = 0; k < m; k++) {
      const a = yo + k;
      const b = a + m;
      const c = b + m;
      const e1 = k * step;
      const e2 = 2 * k * step;
      const br = yr[b] * cos[e1] - yi[b] * sin[e1];
      const bi = yr[b] * sin[e1] + yi[b] * cos[e1];
      const cr = yr[c] * cos[e2] - yi[c] * sin[e2];
      const ci = yr[c] * sin[e2] + yi[c] * cos[e2];
      const sr = br + cr;
      const si = bi + ci;
      const dr = h * (bi - ci);
      const di = -h * (br - cr);
      const mr = yr[a] - sr / 2;
      const mi = yi[a] - si / 2;
      yr[a] += sr;
      yi[a] += si;
      yr[b] = mr + dr;
      yi[b] = mi + di;
      yr[c] = mr - dr;
      yi[c] = mi - di;
    }
    return;
  }
  for (let k = 0; k < m; k++) {
    for (let r = 0; r < p; r++) {
      const a = yr[yo + r * m + k];
      const b = yi[yo + r * m + k];
      const e = r * k * step;
      tr[r] = a * cos[e] - b * sin[e];
      ti[r] = a * sin[e] + b * cos[e];
    }
    for (let q = 0; q < p; q++) {
      let sr = 0;
      let si = 0;
      for (let r = 0; r < p; r++) {
        const e = ((r * q) % p) * pStep;
        sr += tr[r] * cos[e] - ti[r] * sin[e];
        si += tr[r] * sin[e] + ti[r] * cos[e];
      }
      yr[yo + k + m * q] = sr;
      yi[yo + k + m * q] = si;
    }
  }
}

const plans = new Map<number, Plan>();

function radix2Plan(n: number): Radix2Plan {
  const bits = Math.round(Math.log2(n));
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = -Math.sin((2 * Math.PI * i) / n);
  }
  return { kind: 'radix2', n, rev, cos, sin };
}

/** Radix-2 transform of re/im[o .. o + n). */
function radix2(p: Radix2Plan, re: Float64Array, im: Float64Array, o = 0): void {
  const n = p.n;
  const rev = p.rev;
  const cos = p.cos;
  const sin = p.sin;
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (j > i) {
      let t = re[o + i];
      re[o + i] = re[o + j];
      re[o + j] = t;
      t = im[o + i];
      im[o + i] = im[o + j];
      im[o + j] = t;
    }
  }
  // First stage: twiddle 1.
  for (let a = o; a < o + n; a += 2) {
    const xr = re[a + 1];
    const xi = im[a + 1];
    re[a + 1] = re[a] - xr;
    im[a + 1] = im[a] - xi;
    re[a] += xr;
    im[a] += xi;
  }
  for (let size = 4; size <= n; size *= 2) {
    const half = size / 2;
    const step = n / size;
    for (let start = o; start < o + n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sin[k * step];
        const a = start + k;
        const b = a + half;
        const br = re[b];
        const bi = im[b];
        const xr = br * wr - bi * wi;
        const xi = br * wi + bi * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** One transform of re/im[o .. o + n) with a known plan (no checks, no views for radix 2). */
function transformAt(p: Plan, re: Float64Array, im: Float64Array, o: number, inverse: boolean): void {
  const n = p.n;
  if (p.kind !== 'radix2') {
    const r = re.subarray(o, o + n);
    const i = im.subarray(o, o + n);
    if (!inverse) {
      forward(p, r, i);
      return;
    }
    for (let k = 0; k < n; k++) i[k] = -i[k];
    forward(p, r, i);
    for (let k = 0; k < n; k++) {
      r[k] /= n;
      i[k] = -i[k] / n;
    }
    return;
  }
  if (!inverse) {
    radix2(p, re, im, o);
    return;
  }
  for (let k = o; k < o + n; k++) im[k] = -im[k];
  radix2(p, re, im, o);
  for (let k = o; k < o + n; k++) {
    re[k] /= n;
    im[k] = -im[k] / n;
  }
}

function planFor(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  const factors = (n & (n - 1)) === 0 ? null : smallFactors(n);
  if ((n & (n - 1)) === 0) {
    p = radix2Plan(n);
  } else if (factors) {
    p = mixedPlan(n, factors);
  } else {
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    const inner = radix2Plan(m);
    const cr = new Float64Array(n);
    const ci = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      // k² mod 2n keeps the angle exact for large k.
      const a = (Math.PI * ((k * k) % (2 * n))) / n;
      cr[k] = Math.cos(a);
      ci[k] = -Math.sin(a);
    }
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    br[0] = cr[0];
    bi[0] = -ci[0];
    for (let k = 1; k < n; k++) {
      br[k] = br[m - k] = cr[k];
      bi[k] = bi[m - k] = -ci[k];
    }
    radix2(inner, br, bi);
    p = { kind: 'bluestein', n, m, inner, cr, ci, br, bi, ar: new Float64Array(m), ai: new Float64Array(m) };
  }
  plans.set(n, p);
  return p;
}

function forward(p: Plan, re: Float64Array, im: Float64Array): void {
  if (p.kind === 'radix2') {
    radix2(p, re, im);
    return;
  }
  if (p.kind === 'mixed') {
    p.xr.set(re);
    p.xi.set(im);
    mixedRec(p, p.n, 0, 1, re, im, 0, 0);
    return;
  }
  const { n, m, cr, ci, br, bi, ar, ai, inner } = p;
  ar.fill(0);
  ai.fill(0);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k] * cr[k] - im[k] * ci[k];
    ai[k] = re[k] * ci[k] + im[k] * cr[k];
  }
  radix2(inner, ar, ai);
  for (let k = 0; k < m; k++) {
    const r = ar[k] * br[k] - ai[k] * bi[k];
    const i = ar[k] * bi[k] + ai[k] * br[k];
    // Conjugate so the next forward transform acts as an inverse.
    ar[k] = r;
    ai[k] = -i;
  }
  radix2(inner, ar, ai);
  for (let k = 0; k < n; k++) {
    const r = ar[k] / m;
    const i = -ai[k] / m;
    re[k] = r * cr[k] - i * ci[k];
    im[k] = r * ci[k] + i * cr[k];
  }
}

/** In-place 1-D DFT of (re, im), any length >= 1: X_k = Σ x_j e^(∓2πijk/n) (inverse divided by n). */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n || n < 1) {
    throw new VoxshiftError('INVALID_ARGUMENT', `fft needs real and imaginary arrays of the same positive length, got ${n} and ${im.length}`, {
      param: 'im',
    });
  }
  if (n === 1) return;
  transformAt(planFor(n), re, im, 0, inverse);
}

/**
 * In-place 1-D DFTs along one axis of an x-fastest complex volume of `shape`. Along y and z, blocks
 * of lines are transposed into a small contiguous buffer first, so every 1-D transform reads
 * sequential memory.
 */
export function fftAxis(re: Float64Array, im: Float64Array, shape: readonly number[], axis: number, inverse = false): void {
  const [nx, ny, nz] = shape;
  const total = nx * ny * nz;
  if (re.length !== total || im.length !== total) {
    throw new VoxshiftError('INVALID_ARGUMENT', `FFT arrays must hold ${total} values for shape [${shape.join(', ')}]`, { param: 're' });
  }
  const n = shape[axis];
  if (n === 1) return;
  const plan = planFor(n);
  const inner = axis === 0 ? 1 : axis === 1 ? nx : nx * ny;
  const outer = total / (n * inner);
  if (inner === 1) {
    for (let r = 0; r < outer; r++) transformAt(plan, re, im, r * n, inverse);
    return;
  }
  // Blocks of BLOCK columns: the buffer stays in cache while lines are gathered and scattered.
  const BLOCK = 32;
  const br = new Float64Array(n * BLOCK);
  const bi = new Float64Array(n * BLOCK);
  for (let r = 0; r < outer; r++) {
    const base = r * n * inner;
    for (let q0 = 0; q0 < inner; q0 += BLOCK) {
      const w = Math.min(BLOCK, inner - q0);
      for (let t = 0; t < n; t++) {
        const row = base + t * inner + q0;
        for (let q = 0; q < w; q++) {
          br[q * n + t] = re[row + q];
          bi[q * n + t] = im[row + q];
        }
      }
      for (let q = 0; q < w; q++) transformAt(plan, br, bi, q * n, inverse);
      for (let t = 0; t < n; t++) {
        const row = base + t * inner + q0;
        for (let q = 0; q < w; q++) {
          re[row + q] = br[q * n + t];
          im[row + q] = bi[q * n + t];
        }
      }
    }
  }
}

/** In-place 3-D DFT of an x-fastest complex volume of `shape` (1-D transforms along i, j, then k). */
export function fft3d(re: Float64Array, im: Float64Array, shape: readonly number[], inverse = false): void {
  for (let axis = 0; axis < 3; axis++) fftAxis(re, im, shape, axis, inverse);
}
