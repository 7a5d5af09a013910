/**
 * Multiplicative bias-field correction in the manner of N4 (Tustison et al., IEEE TMI 29:1310, 2010;
 * after N3, Sled et al., IEEE TMI 17:87, 1998), with a low-order polynomial log field instead of
 * N4's multi-resolution B-splines (validation/segment/bias-field.ts does the weighted fit):
 *
 *   1. the signal-void level f (the 0.5th foreground percentile) is taken off, so an intensity offset
 *      (x = s·b + offset) does not break the multiplicative model; voxels with x − f below
 *      `minSignal` × the 98th percentile (air, cortical bone: their log is noise) take no part;
 *   2. y = log(x − f) on an evenly strided sample of at most `maxSamples` of those voxels;
 *   3. repeat `iterations` times: v = y − log b; sharpen the histogram of v (Wiener deconvolution
 *      by a Gaussian of `fwhm`), take each voxel's expected sharpened value E[u | v]; fit log b to
 *      log b + v − E[u | v] (least squares, polynomial of total degree `degree`), centred to mean 0
 *      over the sample (the global scale is kept); stop early when log b moves by less than
 *      `tolerance` (RMS over the sample);
 *   4. out = f + (x − f)/b on every voxel (inside and outside the mask: the field is smooth).
 *
 * No tissue classes are assumed: the field is what makes the histogram blurrier than it need be.
 * A quadratic polynomial (the default) follows fields that vary over about half the field of view (typical of
 * uncorrected 1.5–3 T head coils), not faster. Deterministic: no random draws.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import { deriveVolume } from '../volumes/volume.ts';
import type { Shape3, Volume } from '../volumes/volume.ts';
import { evaluateLogBias, fitLogBias, monomials } from '../validation/segment/bias-field.ts';
import { checkIntensityVolume, foregroundMask, maskedValues, volumeName } from './foreground.ts';
import { sortedCopy } from './piecewise.ts';

export interface BiasCorrectionOptions {
  /** Total polynomial degree of log b (default 2; 0..6: higher degrees follow faster fields but, on the head phantom, start to take anatomy for bias). */
  degree?: number;
  /** Sharpen-and-fit iterations (default 50). */
  iterations?: number;
  /** Width (FWHM, log-intensity units) of the Gaussian the histogram is sharpened by each iteration (N4's default 0.15). */
  fwhm?: number;
  /** Voxels below this fraction of the 98th foreground percentile (above the void level) are left out of the fit (default 0.15). */
  minSignal?: number;
  /** At most this many voxels are fitted (an even stride; default 60000). */
  maxSamples?: number;
  /** Stop when log b changes by less than this (RMS over the sample; default 1e-3). */
  tolerance?: number;
}

/** The settings a harmonizer model stores (every option resolved). */
export type BiasCorrectionSpec = Required<BiasCorrectionOptions>;

export const BIAS_CORRECTION_DEFAULTS: BiasCorrectionSpec = Object.freeze({
  degree: 2,
  iterations: 50,
  fwhm: 0.15,
  minSignal: 0.15,
  maxSamples: 60_000,
  tolerance: 1e-3,
});

export interface BiasFieldEstimate {
  /** log b at every voxel of the grid (x fastest). */
  logField: Float32Array;
  /** The void level taken off before the division. */
  floor: number;
  /** Polynomial coefficients (validation/segment/bias-field.ts monomials order). */
  coefficients: number[];
  iterations: number;
  samples: number;
}

function bad(param: string, message: string, received: unknown): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(received)}`, { param, details: { received: String(received) } });
}

/** Resolves and checks the options (`param` prefixes the names in errors). */
export function resolveBiasCorrection(options: BiasCorrectionOptions = {}, param = 'biasCorrection'): BiasCorrectionSpec {
  if (typeof options !== 'object' || options === null) bad(param, 'must be an object of options', options);
  const o = { ...BIAS_CORRECTION_DEFAULTS, ...options };
  const int = (k: keyof BiasCorrectionSpec, lo: number, hi: number): void => {
    if (!Number.isInteger(o[k]) || o[k] < lo || o[k] > hi) bad(`${param}.${k}`, `must be an integer in [${lo}, ${hi}]`, o[k]);
  };
  int('degree', 0, 6);
  int('iterations', 1, 1000);
  if (!(o.fwhm > 0 && o.fwhm <= 2)) bad(`${param}.fwhm`, 'must be a number in (0, 2]', o.fwhm);
  int('maxSamples', 1000, 100_000_000);
  if (!(o.minSignal >= 0 && o.minSignal < 1)) bad(`${param}.minSignal`, 'must be a number in [0, 1)', o.minSignal);
  if (!(o.tolerance >= 0 && Number.isFinite(o.tolerance))) bad(`${param}.tolerance`, 'must be a finite number ≥ 0', o.tolerance);
  return { degree: o.degree, iterations: o.iterations, fwhm: o.fwhm, minSignal: o.minSignal, maxSamples: o.maxSamples, tolerance: o.tolerance };
}

/** In-place radix-2 FFT (inverse: conjugate twiddles, no 1/n). */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const ar = re[i + k + len / 2];
        const ai = im[i + k + len / 2];
        const xr = ar * wr - ai * wi;
        const xi = ar * wi + ai * wr;
        re[i + k + len / 2] = re[i + k] - xr;
        im[i + k + len / 2] = im[i + k] - xi;
        re[i + k] += xr;
        im[i + k] += xi;
      }
    }
  }
}

/**
 * N4's histogram sharpening (Tustison et al. 2010, after Sled et al. 1998): the histogram of the
 * current log intensities, Wiener-deconvolved by a Gaussian of `fwhm` (log units), and for each bin
 * the expected sharpened value E[u | v]. Returns that expectation per sample.
 */
function sharpenedExpectation(v: Float64Array, fwhm: number, wienerNoise: number, out: Float64Array): void {
  const bins = 200;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const width = (hi - lo) / (bins - 1) || 1;
  const hist = new Float64Array(bins);
  for (const x of v) {
    const t = (x - lo) / width;
    const i = Math.min(bins - 2, Math.floor(t));
    const f = t - i;
    hist[i] += 1 - f;
    hist[i + 1] += f;
  }
  const n = 512;
  const offset = (n - bins) >> 1;
  const hr = new Float64Array(n);
  const hi2 = new Float64Array(n);
  hr.set(hist, offset);
  // Gaussian kernel centred at index 0 (wrapped), in bins.
  const sigma = fwhm / width / (2 * Math.sqrt(2 * Math.log(2)));
  const gr = new Float64Array(n);
  const gi = new Float64Array(n);
  let gs = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.min(i, n - i);
    gr[i] = Math.exp(-0.5 * (d / sigma) ** 2);
    gs += gr[i];
  }
  for (let i = 0; i < n; i++) gr[i] /= gs;
  fft(hr, hi2, false);
  fft(gr, gi, false);
  const ur = new Float64Array(n);
  const ui = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // Wiener filter conj(G) / (|G|² + z) applied to H.
    const g2 = gr[k] * gr[k] + gi[k] * gi[k];
    const fr = gr[k] / (g2 + wienerNoise);
    const fi = -gi[k] / (g2 + wienerNoise);
    ur[k] = hr[k] * fr - hi2[k] * fi;
    ui[k] = hr[k] * fi + hi2[k] * fr;
  }
  fft(ur, ui, true);
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) u[i] = Math.max(0, ur[i] / n);
  // E[u | v] = (G * (U·u)) / (G * U), both convolutions through the FFT.
  const conv = (a: Float64Array): Float64Array => {
    const r = Float64Array.from(a);
    const im = new Float64Array(n);
    fft(r, im, false);
    for (let k = 0; k < n; k++) {
      const xr = r[k] * gr[k] - im[k] * gi[k];
      im[k] = r[k] * gi[k] + im[k] * gr[k];
      r[k] = xr;
    }
    fft(r, im, true);
    for (let i = 0; i < n; i++) r[i] /= n;
    return r;
  };
  const value = (i: number): number => lo + (i - offset) * width;
  const num = conv(u.map((x, i) => x * value(i)));
  const den = conv(u);
  const e = new Float64Array(bins);
  for (let b = 0; b < bins; b++) e[b] = den[b + offset] > 1e-12 ? num[b + offset] / den[b + offset] : value(b + offset);
  for (let s = 0; s < v.length; s++) {
    const t = (v[s] - lo) / width;
    const i = Math.min(bins - 2, Math.floor(t));
    const f = t - i;
    out[s] = (1 - f) * e[i] + f * e[i + 1];
  }
}

/** Estimates the field (see the module comment); `mask` defaults to the body mask. */
export function estimateBiasField(volume: Volume, options: BiasCorrectionOptions & { mask?: Volume | Uint8Array } = {}): BiasFieldEstimate {
  const name = volumeName(volume, 'volume');
  checkIntensityVolume(volume, name);
  const o = resolveBiasCorrection(options);
  const mask = foregroundMask(volume, name, options.mask);
  const fg = sortedCopy(maskedValues(volume, mask));
  if (fg.length === 0) throw new VoxshiftError('INVALID_VOLUME', `${name}: the foreground mask is empty; cannot estimate a bias field`, { param: 'mask' });
  const floor = fg[Math.floor(0.005 * (fg.length - 1))];
  const high = fg[Math.floor(0.98 * (fg.length - 1))] - floor;
  if (!(high > 0)) throw new VoxshiftError('INVALID_VOLUME', `${name}: the foreground is constant (${floor}); cannot estimate a bias field`, { param: 'volume' });
  const min = o.minSignal * high;
  const d = volume.data;
  let eligible = 0;
  for (let p = 0; p < d.length; p++) if (mask[p] !== 0 && d[p] - floor > min && d[p] - floor > 0) eligible++;
  const needed = monomials(o.degree).length * 10;
  if (eligible < needed) {
    throw new VoxshiftError('INVALID_VOLUME', `${name}: ${eligible} foreground voxels above the signal threshold; a degree-${o.degree} field needs at least ${needed}`, { param: 'mask' });
  }
  const stride = Math.max(1, Math.ceil(eligible / o.maxSamples));
  const count = Math.ceil(eligible / stride);
  const index = new Int32Array(count);
  const y = new Float64Array(count);
  let k = 0;
  let e = 0;
  for (let p = 0; p < d.length; p++) {
    if (!(mask[p] !== 0 && d[p] - floor > min && d[p] - floor > 0)) continue;
    if (e++ % stride === 0) {
      index[k] = p;
      y[k++] = Math.log(d[p] - floor);
    }
  }
  const shape = volume.shape as unknown as Shape3;
  const logB = new Float64Array(count);
  const next = new Float64Array(count);
  const z = new Float64Array(count);
  const residual = new Float64Array(count);
  const weight = new Float64Array(count).fill(1);
  const expected = new Float64Array(count);
  let coefficients = new Float64Array(monomials(o.degree).length);
  let iterations = 0;
  for (let it = 0; it < o.iterations; it++) {
    iterations++;
    for (let s = 0; s < count; s++) z[s] = y[s] - logB[s];
    sharpenedExpectation(z, o.fwhm, 0.01, expected);
    // The field is the smooth part of (observed − sharpened), accumulated over the iterations.
    for (let s = 0; s < count; s++) residual[s] = logB[s] + z[s] - expected[s];
    const fit = fitLogBias(shape, o.degree, index, residual, weight, count);
    evaluateLogBias(fit, shape, index, next);
    let m = 0;
    for (let s = 0; s < count; s++) m += next[s];
    m /= count;
    let change = 0;
    for (let s = 0; s < count; s++) {
      next[s] -= m;
      change += (next[s] - logB[s]) ** 2;
    }
    logB.set(next);
    coefficients = Float64Array.from(fit.coefficients);
    coefficients[0] -= m;
    if (Math.sqrt(change / count) < o.tolerance) break;
  }
  const all = Int32Array.from({ length: d.length }, (_, p) => p);
  const field = new Float64Array(d.length);
  evaluateLogBias({ coefficients, degree: o.degree }, shape, all, field);
  return { logField: Float32Array.from(field), floor, coefficients: Array.from(coefficients), iterations, samples: count };
}

/**
 * The bias-corrected volume on the same grid: f + (x − f)/b (see the module comment), with one
 * history entry `{ op: 'bias-correct', params: { method: 'poly-log-field', ...spec, floor, iterations } }`.
 */
export function correctBias(volume: Volume, options: BiasCorrectionOptions & { mask?: Volume | Uint8Array } = {}): Volume<Float32Array> {
  const spec = resolveBiasCorrection(options);
  const est = estimateBiasField(volume, options);
  const d = volume.data;
  const out = new Float32Array(d.length);
  for (let p = 0; p < d.length; p++) out[p] = est.floor + (d[p] - est.floor) * Math.exp(-est.logField[p]);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of est.logField) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return deriveVolume<Float32Array>(volume, { data: out }, {
    op: 'bias-correct',
    params: { method: 'poly-log-field', ...spec, floor: est.floor, iterations: est.iterations, logFieldRange: [lo, hi] },
  });
}
