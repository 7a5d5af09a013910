import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import {
  applyScannerEffects,
  DEFAULT_SCANNER_EFFECTS,
  generatePhantom,
  NO_SCANNER_EFFECTS,
  randomSiteEffects,
  resolveScannerEffects,
  TISSUE,
} from '../../../volumes/phantom/index.ts';
import { createVolume, type Volume } from '../../../volumes/volume.ts';
import { bytesEqual, meanAbsGradient, meanWhere } from './phantom-helpers.ts';

const SHAPE = [48, 48, 36] as const;
const clean = generatePhantom({ region: 'head', seed: 21, shape: SHAPE, scanner: NO_SCANNER_EFFECTS });

function constant(value: number, shape: readonly [number, number, number] = [40, 40, 40]): Volume<Float32Array> {
  return createVolume({ data: new Float32Array(shape[0] * shape[1] * shape[2]).fill(value), shape, spacing: [2, 2, 2], modality: 'MR' });
}

function stats(d: Float32Array): { mean: number; sd: number } {
  let s = 0;
  let ss = 0;
  for (const v of d) {
    s += v;
    ss += v * v;
  }
  const mean = s / d.length;
  return { mean, sd: Math.sqrt(ss / d.length - mean * mean) };
}

describe('applyScannerEffects', () => {
  it('is the identity with no effects, and records itself in history', () => {
    const out = applyScannerEffects(clean.t1, NO_SCANNER_EFFECTS, 1);
    expect(bytesEqual(out.data, clean.t1.data)).toBe(true);
    expect(out.history.at(-1)?.op).toBe('scannerEffects');
    expect(out.history.at(-1)?.params).toMatchObject({ seed: 1, referenceIntensity: clean.params.referenceIntensity.t1 });
    expect(out.shape).toEqual(clean.t1.shape);
    expect(out.origin).toEqual(clean.t1.origin);
    expect(out.spacing).toEqual(clean.t1.spacing);
  });

  it('bias field: smooth multiplicative change of the intensity profile, labels untouched', () => {
    const s = 0.3;
    const biased = generatePhantom({ region: 'head', seed: 21, shape: SHAPE, scanner: { ...NO_SCANNER_EFFECTS, biasStrength: s, biasScaleMm: 80 } });
    expect(bytesEqual(biased.labels.data, clean.labels.data)).toBe(true);
    expect(bytesEqual(biased.ct.data, clean.ct.data)).toBe(true);
    const [nx] = SHAPE;
    const ratio = new Float64Array(clean.t1.data.length).fill(Number.NaN);
    for (let v = 0; v < ratio.length; v++) {
      if (clean.t1.data[v] > 50) ratio[v] = biased.t1.data[v] / clean.t1.data[v];
    }
    let n = 0;
    let sum = 0;
    let sum2 = 0;
    let lo = Infinity;
    let hi = -Infinity;
    let neighbour = 0;
    let nn = 0;
    for (let v = 0; v < ratio.length; v++) {
      const r = ratio[v];
      if (Number.isNaN(r)) continue;
      n++;
      sum += r;
      sum2 += r * r;
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
      if (v + 1 < ratio.length && !Number.isNaN(ratio[v + 1]) && (v + 1) % nx !== 0) {
        neighbour += Math.abs(ratio[v + 1] - r);
        nn++;
      }
    }
    const sd = Math.sqrt(sum2 / n - (sum / n) ** 2);
    expect(lo).toBeGreaterThanOrEqual(Math.exp(-s) - 1e-5);
    expect(hi).toBeLessThanOrEqual(Math.exp(s) + 1e-5);
    expect(sd).toBeGreaterThan(0.02);
    // Low frequency: neighbouring voxels (4 mm apart) differ far less than the field varies overall.
    expect(neighbour / nn).toBeLessThan(0.2 * sd);
  });

  it('Rician noise has the requested sigma (relative to the reference) and the Rayleigh floor on zero signal', () => {
    const sigmaRel = 0.05;
    const ref = 100;
    const high = applyScannerEffects(constant(1000), { ...NO_SCANNER_EFFECTS, noiseSigma: sigmaRel }, 3, { referenceIntensity: ref });
    const h = stats(high.data);
    expect(h.sd).toBeGreaterThan(0.97 * sigmaRel * ref);
    expect(h.sd).toBeLessThan(1.03 * sigmaRel * ref);
    expect(Math.abs(h.mean - 1000)).toBeLessThan(0.5);
    const zero = applyScannerEffects(constant(0), { ...NO_SCANNER_EFFECTS, noiseSigma: sigmaRel }, 3, { referenceIntensity: ref });
    const z = stats(zero.data);
    expect(z.mean / (sigmaRel * ref * Math.sqrt(Math.PI / 2))).toBeCloseTo(1, 1);
    expect(zero.data.every((v) => v >= 0)).toBe(true);
    // In a phantom, the default reference is the WM signal.
    const noisy = applyScannerEffects(clean.t1, { ...NO_SCANNER_EFFECTS, noiseSigma: 0.1 }, 4);
    const air: number[] = [];
    for (let k = 0; k < SHAPE[2]; k++) {
      for (let j = 0; j < 6; j++) {
        for (let i = 0; i < 6; i++) {
          const v = i + SHAPE[0] * (j + SHAPE[1] * k);
          expect(clean.labels.data[v]).toBe(TISSUE.AIR);
          air.push(noisy.data[v]);
        }
      }
    }
    const airSigma = stats(Float32Array.from(air)).mean / Math.sqrt(Math.PI / 2);
    expect(airSigma / (0.1 * clean.params.referenceIntensity.t1)).toBeCloseTo(1, 1);
  });

  it('blur and thick slices reduce edge sharpness', () => {
    const g0 = [0, 1, 2].map((a) => meanAbsGradient(clean.t1, a as 0 | 1 | 2));
    const blurred = applyScannerEffects(clean.t1, { ...NO_SCANNER_EFFECTS, blurFwhmMm: 8 }, 1);
    const g1 = [0, 1, 2].map((a) => meanAbsGradient(blurred, a as 0 | 1 | 2));
    g1.forEach((g, a) => expect(g).toBeLessThan(0.8 * g0[a]));
    // Mean intensity is preserved by the normalised kernel (clamped edges are air).
    expect(stats(blurred.data).mean).toBeCloseTo(stats(clean.t1.data).mean, 0);
    const thick = applyScannerEffects(clean.t1, { ...NO_SCANNER_EFFECTS, sliceThicknessMm: 12, sliceAxis: 2 }, 1);
    expect(meanAbsGradient(thick, 2)).toBeLessThan(0.7 * g0[2]);
    // Per-axis FWHM: blurring only along x leaves z-lines alone.
    const onlyX = applyScannerEffects(clean.t1, { ...NO_SCANNER_EFFECTS, blurFwhmMm: [8, 0, 0] }, 1);
    expect(meanAbsGradient(onlyX, 0)).toBeLessThan(0.8 * g0[0]);
    const [nx, ny] = SHAPE;
    const line = (vol: Volume, i: number, j: number) => Array.from({ length: SHAPE[2] }, (_, k) => vol.data[i + nx * (j + ny * k)]);
    expect(meanAbsGradient(onlyX, 2)).toBeLessThan(g0[2]);
    expect(line(onlyX, 0, 0)).toEqual(line(clean.t1, 0, 0));
  });

  it('contrast (gamma, curve), scale and offset act on intensities normalised by the reference', () => {
    const ramp = createVolume({ data: Float32Array.from({ length: 64 }, (_, i) => i * 5), shape: [4, 4, 4], modality: 'MR' });
    const ref = 100;
    const g = applyScannerEffects(ramp, { ...NO_SCANNER_EFFECTS, gamma: 2 }, 1, { referenceIntensity: ref });
    for (let i = 0; i < 64; i++) expect(g.data[i]).toBeCloseTo(ref * ((i * 5) / ref) ** 2, 3);
    const curve = applyScannerEffects(ramp, { ...NO_SCANNER_EFFECTS, contrastCurve: [[0, 0], [1, 2], [2, 2.5]] }, 1, { referenceIntensity: ref });
    expect(curve.data[10]).toBeCloseTo(100, 3); // u = 0.5 → 1
    expect(curve.data[20]).toBeCloseTo(200, 3); // u = 1 → 2
    expect(curve.data[30]).toBeCloseTo(225, 3); // u = 1.5 → 2.25
    expect(curve.data[60]).toBeCloseTo(300, 3); // u = 3 → extrapolated with the last slope: 2.5 + 0.5
    const so = applyScannerEffects(ramp, { ...NO_SCANNER_EFFECTS, scale: 2.5, offset: -10 }, 1, { referenceIntensity: ref });
    for (let i = 0; i < 64; i++) expect(so.data[i]).toBeCloseTo(2.5 * i * 5 - 10, 3);
    expect(so.meta.extra?.referenceIntensity).toBeCloseTo(240, 6);
    // WM stays the brightest brain tissue in T1w under a monotone curve.
    const site = applyScannerEffects(clean.t1, { ...NO_SCANNER_EFFECTS, gamma: 0.7, scale: 3, offset: 20 }, 1);
    expect(meanWhere(site, clean.labels, TISSUE.WHITE_MATTER)).toBeGreaterThan(meanWhere(site, clean.labels, TISSUE.GREY_MATTER));
  });

  it('is deterministic by seed', () => {
    const e = { ...DEFAULT_SCANNER_EFFECTS, noiseSigma: 0.05, biasStrength: 0.2, blurFwhmMm: 3 };
    const a = applyScannerEffects(clean.t2, e, 9);
    const b = applyScannerEffects(clean.t2, e, 9);
    const c = applyScannerEffects(clean.t2, e, 10);
    expect(bytesEqual(a.data, b.data)).toBe(true);
    expect(bytesEqual(a.data, c.data)).toBe(false);
    // Phantom MR with the same scannerSeed is identical; another scannerSeed only changes the MR.
    const p1 = generatePhantom({ region: 'head', seed: 21, shape: SHAPE, scannerSeed: 5 });
    const p2 = generatePhantom({ region: 'head', seed: 21, shape: SHAPE, scannerSeed: 6 });
    expect(bytesEqual(p1.labels.data, p2.labels.data)).toBe(true);
    expect(bytesEqual(p1.ct.data, p2.ct.data)).toBe(true);
    expect(bytesEqual(p1.t1.data, p2.t1.data)).toBe(false);
  });

  it('rejects label volumes and bad effects, naming the field', () => {
    const bad = (fn: () => unknown, param: string): void => {
      let caught: unknown;
      try {
        fn();
      } catch (e) {
        caught = e;
      }
      expect(isVoxshiftError(caught, 'INVALID_ARGUMENT')).toBe(true);
      if (isVoxshiftError(caught)) expect(caught.param).toBe(param);
    };
    bad(() => applyScannerEffects(clean.labels, {}, 1), 'mr');
    bad(() => applyScannerEffects(clean.t1, { gamma: 0 }, 1), 'effects.gamma');
    bad(() => applyScannerEffects(clean.t1, { biasScaleMm: -5 }, 1), 'effects.biasScaleMm');
    bad(() => applyScannerEffects(clean.t1, { blurFwhmMm: [1, 2] as never }, 1), 'effects.blurFwhmMm');
    bad(() => applyScannerEffects(clean.t1, { sliceAxis: 3 as never }, 1), 'effects.sliceAxis');
    bad(() => applyScannerEffects(clean.t1, { contrastCurve: [[0, 1], [1, 0.5]] }, 1), 'effects.contrastCurve');
    bad(() => applyScannerEffects(clean.t1, { contrastCurve: [[0, 0]] }, 1), 'effects.contrastCurve');
    bad(() => applyScannerEffects(clean.t1, {}, 1.5), 'seed');
    bad(() => applyScannerEffects(clean.t1, {}, 1, { referenceIntensity: 0 }), 'referenceIntensity');
  });
});

describe('randomSiteEffects', () => {
  it('draws valid, seed-determined site effects whose strength scales with the argument', () => {
    expect(randomSiteEffects(4)).toEqual(randomSiteEffects(4));
    expect(randomSiteEffects(4)).not.toEqual(randomSiteEffects(5));
    for (let s = 0; s < 20; s++) {
      const e = randomSiteEffects(s);
      expect(resolveScannerEffects(e)).toEqual(e);
      expect(e.noiseSigma).toBeGreaterThan(0);
    }
    const none = randomSiteEffects(4, 0);
    expect(none).toMatchObject({ biasStrength: 0, gamma: 1, scale: 1, offset: 0, blurFwhmMm: 0, sliceThicknessMm: 0 });
  });
});
