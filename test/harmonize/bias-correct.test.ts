/**
 * Bias-field correction on a head phantom with no scanner bias and a known synthetic field
 * exp(0.3·g), g a smooth quadratic-plus-sine field (not a polynomial): the recovered log field correlates with the true
 * one, the white matter's coefficient of variation falls towards the bias-free image's, the grid and
 * history are kept, the result is deterministic, a flat image comes back almost unchanged, and bad
 * options are refused naming the option. As a harmonizer pre-step: the fitted model records it
 * (version 2), survives a save/load round trip and applies correct-then-map with both history entries.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { BIAS_CORRECTION_DEFAULTS, correctBias, estimateBiasField, resolveBiasCorrection } from '../../harmonize/bias-correct.ts';
import { applyHarmonizer, fitHarmonizer } from '../../harmonize/harmonizer.ts';
import { loadHarmonizerModel, saveHarmonizerModel, validateHarmonizerModel } from '../../harmonize/model.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { createVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';

const SHAPE = [48, 48, 32] as const;
const phantom = generatePhantom({ region: 'head', seed: 5, shape: SHAPE, scanner: { biasStrength: 0, noiseSigma: 0.01 } });
const clean = phantom.t1;
const WM = 5;

/** The true log field: smooth, not a polynomial (so the fit is an approximation), zero mean over the grid. */
function trueLogField(): Float64Array {
  const [nx, ny, nz] = SHAPE;
  const f = new Float64Array(nx * ny * nz);
  let p = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, p++) {
        const x = (2 * i) / (nx - 1) - 1;
        const y = (2 * j) / (ny - 1) - 1;
        const z = (2 * k) / (nz - 1) - 1;
        f[p] = 0.3 * (0.6 * x + 0.4 * y * y - 0.5 * z + 0.3 * Math.sin(1.5 * x + y));
      }
  const m = f.reduce((a, v) => a + v, 0) / f.length;
  return f.map((v) => v - m);
}
const logField = trueLogField();
const biased: Volume = createVolume({ ...clean, data: Float32Array.from(clean.data, (v, p) => v * Math.exp(logField[p])) });

function cv(vol: Volume, label: number): number {
  const vals: number[] = [];
  for (let p = 0; p < vol.data.length; p++) if (phantom.labels.data[p] === label) vals.push(vol.data[p]);
  const m = vals.reduce((a, v) => a + v, 0) / vals.length;
  return Math.sqrt(vals.reduce((a, v) => a + (v - m) ** 2, 0) / vals.length) / m;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>, where: (p: number) => boolean): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let p = 0; p < a.length; p++) {
    if (!where(p)) continue;
    n++;
    sa += a[p];
    sb += b[p];
  }
  const ma = sa / n;
  const mb = sb / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let p = 0; p < a.length; p++) {
    if (!where(p)) continue;
    ab += (a[p] - ma) * (b[p] - mb);
    aa += (a[p] - ma) ** 2;
    bb += (b[p] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('bias-field correction', () => {
  // Tissues with signal on T1w (fat, soft tissue, grey and white matter, marrow): where the field is fitted.
  const inTissue = (p: number): boolean => [2, 3, 4, 5, 8].includes(phantom.labels.data[p]);

  it('recovers a known field and lowers the coefficient of variation within white matter', () => {
    const est = estimateBiasField(biased);
    expect(est.logField).toHaveLength(biased.data.length);
    expect(correlation(est.logField, logField, inTissue)).toBeGreaterThan(0.9);
    const out = correctBias(biased);
    const before = cv(biased, WM);
    const after = cv(out, WM);
    const ideal = cv(clean, WM);
    expect(before).toBeGreaterThan(2 * ideal);
    expect(after).toBeLessThan(before - 0.6 * (before - ideal));
  });

  it('keeps the grid, appends one history entry and is deterministic', () => {
    const a = correctBias(biased, { degree: 2 });
    const b = correctBias(biased, { degree: 2 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    for (const k of ['shape', 'spacing', 'origin', 'direction', 'kind', 'modality'] as const) expect(a[k]).toEqual(biased[k]);
    expect(a.history.slice(0, -1)).toEqual(biased.history);
    expect(a.history.at(-1)).toMatchObject({ op: 'bias-correct', params: { method: 'poly-log-field', degree: 2, fwhm: 0.15 } });
    expect(a.data[a.data.length - 1]).toBeCloseTo(b.data[b.data.length - 1], 6);
  });

  it('leaves an image without bias nearly unchanged and keeps an intensity offset out of the field', () => {
    const est = estimateBiasField(clean);
    let worst = 0;
    for (let p = 0; p < clean.data.length; p++) if (inTissue(p)) worst = Math.max(worst, Math.abs(est.logField[p]));
    expect(worst).toBeLessThan(0.1);
    // x = s·b + 50: the void level is taken off before the division, so the same field comes back.
    const offset = createVolume({ ...biased, data: Float32Array.from(biased.data, (v) => v + 50) });
    expect(correlation(estimateBiasField(offset).logField, logField, inTissue)).toBeGreaterThan(0.9);
  });

  it('refuses bad options naming the option', () => {
    expect(resolveBiasCorrection()).toEqual(BIAS_CORRECTION_DEFAULTS);
    expect(() => correctBias(biased, { degree: 9 })).toThrow(/biasCorrection\.degree must be an integer in \[0, 6\], got 9/);
    expect(() => correctBias(biased, { minSignal: 1 })).toThrow(/biasCorrection\.minSignal/);
    expect(() => correctBias(phantom.labels)).toThrow(/label/);
  });
});

describe('bias correction as a harmonizer pre-step', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vx-bias-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const other = generatePhantom({ region: 'head', seed: 6, shape: SHAPE, scanner: { biasStrength: 0.2, biasScaleMm: 120, noiseSigma: 0.02 } }).t1;

  it('histmatch with biasCorrection: recorded in the model, save/load round trip, correct then map', async () => {
    const model = await fitHarmonizer({ method: 'histmatch', sites: { siteA: [biased, clean], siteB: [other] }, reference: 'siteA', biasCorrection: { degree: 2 } });
    expect(model.version).toBe(2);
    expect(model.biasCorrection).toEqual({ ...BIAS_CORRECTION_DEFAULTS, degree: 2 });
    const file = join(tmp, 'hm.json');
    await saveHarmonizerModel(model, file);
    const loaded = await loadHarmonizerModel(file);
    expect(loaded).toEqual(model);
    const a = await applyHarmonizer(model, other);
    const b = await applyHarmonizer(file, other);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(a.shape).toEqual(other.shape);
    expect(a.history.slice(0, other.history.length)).toEqual(other.history);
    expect(a.history.slice(other.history.length).map((h) => h.op)).toEqual(['bias-correct', 'harmonize']);
    // The same method without the pre-step maps the raw image: a different result.
    const plain = await fitHarmonizer({ method: 'histmatch', sites: { siteA: [biased, clean] }, reference: 'siteA' });
    expect(plain.version).toBe(1);
    expect(plain.biasCorrection).toBeUndefined();
    expect(Array.from((await applyHarmonizer(plain, other)).data)).not.toEqual(Array.from(a.data));
  });

  it('refuses cyclegan with biasCorrection and inconsistent saved models', async () => {
    await expect(fitHarmonizer({ method: 'cyclegan', sites: { siteA: [clean] }, reference: 'siteA', biasCorrection: true })).rejects.toThrow(/biasCorrection is a pre-step of the classical methods/);
    const model = await fitHarmonizer({ method: 'zscore', sites: { siteA: [clean] }, reference: 'siteA', biasCorrection: true });
    expect(() => validateHarmonizerModel({ ...model, version: 1 })).toThrow(/version must be 2 or more when biasCorrection is set/);
    expect(() => validateHarmonizerModel({ ...model, biasCorrection: { ...model.biasCorrection, fwhm: -1 } })).toThrow(/biasCorrection\.fwhm must be a number in \(0, 2\]/);
    const { degree: _, ...partial } = model.biasCorrection ?? BIAS_CORRECTION_DEFAULTS;
    expect(() => validateHarmonizerModel({ ...model, biasCorrection: partial })).toThrow(/biasCorrection must be complete \(missing degree\)/);
  });
});
