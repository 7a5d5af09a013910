/**
 * Simulated scanner/site effects for MR volumes, applied in acquisition order:
 * resolution (Gaussian blur, then thick-slice averaging re-interpolated to the grid) → multiplicative
 * smooth bias field → Rician noise → contrast curve (gamma and/or monotone piecewise-linear map on
 * intensities normalised by the reference signal) → global scale and offset (arbitrary MR units).
 * Each random part draws from its own stream of `seed`, so the result is a pure function of
 * (input, effects, seed).
 */
import { VoxshiftError } from '../errors.ts';
import type { Rng } from '../random.ts';
import { createVolume, voxelCount, type Vec3, type Volume } from '../volume.ts';
import { checkSeed, clippedNormal, deriveSeed, NormalStream, streamRng } from './seeds.ts';
import { SmoothNoise } from './smooth-noise.ts';
import { round3 } from './shapes.ts';

export interface ScannerEffects {
  /** Log-amplitude s of the bias field b = exp(s · n), n a smooth random field in [−1, 1]; 0 = none. */
  biasStrength: number;
  /** Length scale (mm) of the bias field: the spacing of its random control grid. */
  biasScaleMm: number;
  /** Rician noise σ as a fraction of the reference (white-matter) signal; 0 = none. */
  noiseSigma: number;
  /** Contrast exponent on normalised intensity u = v / reference: u → u^gamma; 1 = none. */
  gamma: number;
  /** Optional monotone piecewise-linear map of u (points [u, out] with u strictly increasing), applied after gamma; linear extrapolation beyond the ends. */
  contrastCurve?: readonly (readonly [number, number])[];
  /** Global intensity scale and offset applied last: v → scale · v + offset. */
  scale: number;
  offset: number;
  /** Gaussian point-spread FWHM in mm (one value for all axes or one per axis); 0 = none. */
  blurFwhmMm: number | Vec3;
  /** Thick-slice simulation: slices of this thickness (mm) along sliceAxis are averaged then linearly re-interpolated; 0 = none. */
  sliceThicknessMm: number;
  sliceAxis: 0 | 1 | 2;
}

/** What generatePhantom uses when no scanner is given: mild bias and noise, nothing else. */
export const DEFAULT_SCANNER_EFFECTS: Readonly<ScannerEffects> = Object.freeze({
  biasStrength: 0.1,
  biasScaleMm: 150,
  noiseSigma: 0.02,
  gamma: 1,
  scale: 1,
  offset: 0,
  blurFwhmMm: 0,
  sliceThicknessMm: 0,
  sliceAxis: 2,
});

/** The identity: applying it returns the input values (as float32). */
export const NO_SCANNER_EFFECTS: Readonly<ScannerEffects> = Object.freeze({
  ...DEFAULT_SCANNER_EFFECTS,
  biasStrength: 0,
  noiseSigma: 0,
});

function bad(param: string, message: string, value: unknown): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(value)}`, { param, details: { value } });
}

/** Fills defaults and validates every field; the result is JSON-serialisable. */
export function resolveScannerEffects(effects: Partial<ScannerEffects> | undefined, param = 'scanner'): ScannerEffects {
  if (effects !== undefined && (typeof effects !== 'object' || effects === null || Array.isArray(effects))) {
    bad(param, 'must be an object of scanner effects', effects);
  }
  const known = new Set([...Object.keys(DEFAULT_SCANNER_EFFECTS), 'contrastCurve']);
  for (const key of Object.keys(effects ?? {})) {
    if (!known.has(key)) bad(`${param}.${key}`, `is not a scanner effect (expected one of ${[...known].join(', ')})`, key);
  }
  const e: ScannerEffects = { ...DEFAULT_SCANNER_EFFECTS, ...effects };
  const num = (key: keyof ScannerEffects, ok: (v: number) => boolean, what: string): void => {
    const v = e[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) bad(`${param}.${key}`, `must be ${what}`, v);
  };
  num('biasStrength', (v) => v >= 0 && v <= 3, 'a number in [0, 3]');
  num('biasScaleMm', (v) => v > 0, 'a positive number of mm');
  num('noiseSigma', (v) => v >= 0, 'a non-negative number');
  num('gamma', (v) => v > 0, 'a positive number');
  num('scale', (v) => v > 0, 'a positive number');
  num('offset', () => true, 'a finite number');
  num('sliceThicknessMm', (v) => v >= 0, 'a non-negative number of mm');
  if (e.sliceAxis !== 0 && e.sliceAxis !== 1 && e.sliceAxis !== 2) bad(`${param}.sliceAxis`, 'must be 0, 1 or 2', e.sliceAxis);
  const blur = e.blurFwhmMm;
  const blurOk = typeof blur === 'number' ? Number.isFinite(blur) && blur >= 0
    : Array.isArray(blur) && blur.length === 3 && blur.every((b) => typeof b === 'number' && Number.isFinite(b) && b >= 0);
  if (!blurOk) bad(`${param}.blurFwhmMm`, 'must be a non-negative number or 3 of them', blur);
  if (e.contrastCurve !== undefined) {
    const c = e.contrastCurve;
    const ok = Array.isArray(c) && c.length >= 2 &&
      c.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number' && Number.isFinite(x))) &&
      c.every((p, i) => i === 0 || (p[0] > c[i - 1][0] && p[1] >= c[i - 1][1]));
    if (!ok) bad(`${param}.contrastCurve`, 'must be at least 2 [u, out] points with u strictly increasing and out non-decreasing', c);
  }
  return e;
}

/** Plausible random effects for one simulated site (for harmonisation cohorts); `strength` 0..1 scales how far from ideal. */
export function randomSiteEffects(seed: number, strength = 1): ScannerEffects {
  checkSeed(seed);
  if (!(strength >= 0 && strength <= 1)) bad('strength', 'must be in [0, 1]', strength);
  const rng = streamRng(seed, 'site');
  const s = strength;
  const thick = rng() < 0.5 * s;
  return {
    biasStrength: round3(s * (0.05 + 0.3 * rng())),
    biasScaleMm: round3(80 + 140 * rng()),
    noiseSigma: round3(0.005 + s * 0.05 * rng()),
    gamma: round3(Math.exp(0.15 * s * clippedNormal(rng, 2))),
    scale: round3(Math.exp(0.8 * s * clippedNormal(rng, 2))),
    offset: round3(s * 30 * clippedNormal(rng, 2)),
    blurFwhmMm: round3(s * 2.5 * rng()),
    sliceThicknessMm: thick ? round3(3 + 3 * rng()) : 0,
    sliceAxis: 2,
  };
}

/** The reference (white-matter-like) intensity used to express noise and contrast in relative terms. */
export function referenceIntensityOf(vol: Volume): number {
  const given = vol.meta.extra?.referenceIntensity;
  if (typeof given === 'number' && Number.isFinite(given) && given > 0) return given;
  // Otherwise the median of the voxels above the mean: a crude but stable foreground level.
  const data = vol.data;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const mean = sum / data.length;
  const fg: number[] = [];
  const step = Math.max(1, Math.floor(data.length / 200_000));
  for (let i = 0; i < data.length; i += step) if (data[i] > mean) fg.push(data[i]);
  if (fg.length === 0) return 1;
  fg.sort((a, b) => a - b);
  const med = fg[fg.length >> 1];
  return med > 0 ? med : 1;
}

function gaussianPass(src: Float32Array, shape: readonly number[], axis: number, sigmaVox: number): Float32Array {
  const radius = Math.ceil(3 * sigmaVox);
  const w = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let t = -radius; t <= radius; t++) sum += w[t + radius] = Math.exp((-0.5 * t * t) / (sigmaVox * sigmaVox));
  for (let t = 0; t < w.length; t++) w[t] /= sum;
  return linePass(src, shape, axis, (line, out) => {
    const n = line.length;
    for (let p = 0; p < n; p++) {
      let acc = 0;
      for (let t = -radius; t <= radius; t++) {
        let q = p + t;
        q = q < 0 ? 0 : q >= n ? n - 1 : q;
        acc += w[t + radius] * line[q];
      }
      out[p] = acc;
    }
  });
}

function thickSlicePass(src: Float32Array, shape: readonly number[], axis: number, factor: number): Float32Array {
  return linePass(src, shape, axis, (line, out) => {
    const n = line.length;
    const slabs = Math.ceil(n / factor);
    const val = new Float64Array(slabs);
    const pos = new Float64Array(slabs);
    for (let c = 0; c < slabs; c++) {
      const a = c * factor;
      const b = Math.min(n, a + factor);
      let acc = 0;
      for (let p = a; p < b; p++) acc += line[p];
      val[c] = acc / (b - a);
      pos[c] = (a + b - 1) / 2;
    }
    let c = 0;
    for (let p = 0; p < n; p++) {
      while (c < slabs - 2 && pos[c + 1] < p) c++;
      if (slabs === 1 || p <= pos[0]) out[p] = val[0];
      else if (p >= pos[slabs - 1]) out[p] = val[slabs - 1];
      else {
        const t = (p - pos[c]) / (pos[c + 1] - pos[c]);
        out[p] = val[c] + t * (val[c + 1] - val[c]);
      }
    }
  });
}

/** Applies `fn` to every line of the volume along `axis`. */
function linePass(
  src: Float32Array,
  shape: readonly number[],
  axis: number,
  fn: (line: Float64Array, out: Float64Array) => void,
): Float32Array {
  const [nx, ny] = shape;
  const strides = [1, nx, nx * ny];
  const n = shape[axis];
  const stride = strides[axis];
  const [a1, a2] = [0, 1, 2].filter((a) => a !== axis);
  const line = new Float64Array(n);
  const out = new Float64Array(n);
  const dst = new Float32Array(src.length);
  for (let v = 0; v < shape[a2]; v++) {
    for (let u = 0; u < shape[a1]; u++) {
      const start = u * strides[a1] + v * strides[a2];
      for (let p = 0; p < n; p++) line[p] = src[start + p * stride];
      fn(line, out);
      for (let p = 0; p < n; p++) dst[start + p * stride] = out[p];
    }
  }
  return dst;
}

function applyCurve(u: number, c: readonly (readonly [number, number])[]): number {
  let i = 1;
  while (i < c.length - 1 && u > c[i][0]) i++;
  const [x0, y0] = c[i - 1];
  const [x1, y1] = c[i];
  return y0 + ((u - x0) * (y1 - y0)) / (x1 - x0);
}

function applyToChannel(src: Float32Array, vol: Volume, e: ScannerEffects, ref: number, rngs: { bias: Rng; noiseSeed: number }): Float32Array {
  const shape = vol.shape;
  let data = src;
  const fwhm = typeof e.blurFwhmMm === 'number' ? [e.blurFwhmMm, e.blurFwhmMm, e.blurFwhmMm] : e.blurFwhmMm;
  for (let axis = 0; axis < 3; axis++) {
    const sigmaVox = fwhm[axis] / (2 * Math.sqrt(2 * Math.LN2) * vol.spacing[axis]);
    if (sigmaVox >= 0.1 && shape[axis] > 1) data = gaussianPass(data, shape, axis, sigmaVox);
  }
  if (e.sliceThicknessMm > 0) {
    const factor = Math.round(e.sliceThicknessMm / vol.spacing[e.sliceAxis]);
    if (factor > 1) data = thickSlicePass(data, shape, e.sliceAxis, factor);
  }
  if (data === src) data = Float32Array.from(src);
  const [nx, ny, nz] = shape;
  if (e.biasStrength > 0) {
    const [sx, sy, sz] = vol.spacing;
    const field = new SmoothNoise(rngs.bias, [0, 0, 0], [nx * sx, ny * sy, nz * sz], e.biasScaleMm);
    let idx = 0;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, idx++) data[idx] *= Math.exp(e.biasStrength * field.sample(i * sx, j * sy, k * sz));
      }
    }
  }
  if (e.noiseSigma > 0) {
    const sigma = e.noiseSigma * ref;
    const g = new NormalStream(rngs.noiseSeed);
    for (let v = 0; v < data.length; v++) {
      const re = data[v] + sigma * g.next();
      const im = sigma * g.next();
      data[v] = Math.sqrt(re * re + im * im);
    }
  }
  const curve = e.contrastCurve;
  if (e.gamma !== 1 || curve) {
    for (let v = 0; v < data.length; v++) {
      let u = Math.max(0, data[v] / ref);
      if (e.gamma !== 1) u = Math.pow(u, e.gamma);
      if (curve) u = applyCurve(u, curve);
      data[v] = ref * u;
    }
  }
  if (e.scale !== 1 || e.offset !== 0) {
    for (let v = 0; v < data.length; v++) data[v] = e.scale * data[v] + e.offset;
  }
  return data;
}

/**
 * Applies scanner effects to an MR (or any intensity) volume. Noise σ and the contrast curve are
 * relative to the reference intensity: `options.referenceIntensity`, else the volume's
 * `meta.extra.referenceIntensity` (set by the phantom to its white-matter signal), else the median
 * of the voxels above the mean. Returns a float32 volume with one more history entry.
 */
export function applyScannerEffects(
  mr: Volume,
  effects: Partial<ScannerEffects>,
  seed: number,
  options: { referenceIntensity?: number } = {},
): Volume<Float32Array> {
  checkSeed(seed);
  if (mr.kind === 'label') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'scanner effects apply to intensity volumes, got a label volume', { param: 'mr' });
  }
  const e = resolveScannerEffects(effects, 'effects');
  const refOpt = options.referenceIntensity;
  if (refOpt !== undefined && !(Number.isFinite(refOpt) && refOpt > 0)) bad('referenceIntensity', 'must be a positive number', refOpt);
  const ref = refOpt ?? referenceIntensityOf(mr);
  const n = voxelCount(mr.shape);
  const out = new Float32Array(n * mr.channels);
  for (let c = 0; c < mr.channels; c++) {
    const src = Float32Array.from(mr.data.subarray(c * n, (c + 1) * n));
    const rngs = { bias: streamRng(seed, 'bias', c), noiseSeed: deriveSeed(seed, 'noise', c) };
    out.set(applyToChannel(src, mr, e, ref, rngs), c * n);
  }
  const u1 = e.contrastCurve ? applyCurve(1, e.contrastCurve) : 1;
  const newRef = e.scale * ref * u1 + e.offset;
  return createVolume({
    data: out,
    shape: mr.shape,
    channels: mr.channels,
    spacing: mr.spacing,
    origin: mr.origin,
    direction: mr.direction,
    kind: mr.kind,
    modality: mr.modality,
    meta: {
      ...mr.meta,
      units: mr.meta.units === 'HU' ? 'arbitrary' : mr.meta.units,
      warnings: [...mr.meta.warnings],
      extra: { ...mr.meta.extra, referenceIntensity: newRef > 0 ? newRef : ref },
    },
    history: [...mr.history, { op: 'scannerEffects', params: { effects: { ...e }, seed, referenceIntensity: ref } }],
  });
}
