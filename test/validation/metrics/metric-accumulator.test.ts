/** MetricAccumulator: per-case rows equal the single metrics; summaries by hand; reset; options. */
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { generatePhantom } from '../../../volumes/phantom/index.ts';
import { createRng } from '../../../volumes/random.ts';
import { deriveVolume } from '../../../volumes/volume.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { bodyMask } from '../../../validation/masks.ts';
import { dice } from '../../../validation/metrics/dice.ts';
import { hausdorff95 } from '../../../validation/metrics/hausdorff.ts';
import { intensityErrors } from '../../../validation/metrics/intensity-errors.ts';
import { MetricAccumulator } from '../../../validation/metrics/metric-accumulator.ts';
import { msSsim } from '../../../validation/metrics/ms-ssim.ts';
import { ncc } from '../../../validation/metrics/ncc.ts';
import { psnr } from '../../../validation/metrics/psnr.ts';
import { ssim } from '../../../validation/metrics/ssim.ts';
import { tissueMae } from '../../../validation/metrics/tissue-mae.ts';

const phantom = generatePhantom({ region: 'head', shape: [40, 40, 24], seed: 11 });
const ref = phantom.ct;

function noisy(amplitude: number, seed: number): Volume {
  const rng = createRng(seed);
  return deriveVolume(ref, { data: ref.data.map((v) => v + amplitude * (rng() - 0.5)) });
}

describe('MetricAccumulator', () => {
  it('rows hold the single-metric values in the reference body mask; summary = mean/std/median over cases', () => {
    const acc = new MetricAccumulator();
    const preds = [noisy(50, 1), noisy(200, 2), noisy(400, 3)];
    const rows = preds.map((p, c) => acc.add(p, ref, { id: `s${c}` }));
    const mask = bodyMask(ref);
    const r0 = rows[0].values;
    expect(Object.keys(r0).sort()).toEqual(['mae', 'maskedSsim', 'meanError', 'ncc', 'psnr', 'rmse', 'ssim']);
    const e = intensityErrors(preds[0], ref, { mask });
    expect(r0.mae).toBe(e.mae);
    expect(r0.meanError).toBe(e.meanError);
    expect(r0.rmse).toBe(e.rmse);
    expect(r0.psnr).toBe(psnr(preds[0], ref, { mask }));
    const s = ssim(preds[0], ref, { mask });
    expect(r0.ssim).toBe(s.ssim);
    expect(r0.maskedSsim).toBe(s.maskedSsim);
    expect(r0.ncc).toBe(ncc(preds[0], ref, { mask }));
    expect(rows[0].voxels).toBe(Array.from(mask.data).filter((v) => v).length);

    const agg = acc.aggregate();
    expect(agg.cases.map((c) => c.id)).toEqual(['s0', 's1', 's2']);
    const maes = rows.map((r) => r.values.mae);
    const mean = (maes[0] + maes[1] + maes[2]) / 3;
    expect(agg.summary.mae.mean).toBeCloseTo(mean, 10);
    expect(agg.summary.mae.std).toBeCloseTo(Math.sqrt(maes.reduce((a, x) => a + (x - mean) ** 2, 0) / 3), 10);
    expect(agg.summary.mae.median).toBe([...maes].sort((a, b) => a - b)[1]);
    expect(agg.summary.mae.count).toBe(3);
    expect(maes[0]).toBeLessThan(maes[1]);
    expect(agg.summary.psnr.max).toBe(rows[0].values.psnr);
    // the aggregate is a snapshot
    agg.cases[0].values.mae = -1;
    expect(acc.aggregate().cases[0].values.mae).toBe(maes[0]);

    acc.reset();
    expect(acc.size).toBe(0);
    expect(acc.aggregate()).toEqual({ cases: [], summary: {} });
  });

  it('chosen metrics, whole-volume mask, per-tissue MAE and MS-SSIM on request', () => {
    const acc = new MetricAccumulator({ metrics: ['mae', 'msSsim'], dataRange: [-1024, 2000] });
    const pred = noisy(100, 4);
    const row = acc.add(pred, ref, { mask: 'none', labels: phantom.labels, labelNames: { 0: 'outside' } });
    expect(row.id).toBe('case-1');
    expect(row.voxels).toBe(40 * 40 * 24);
    expect(row.values.mae).toBe(intensityErrors(pred, ref, { mask: 'none' }).mae);
    expect(row.values.msSsim).toBe(msSsim(pred, ref, { dataRange: [-1024, 2000], weights: [0.0448, 0.2856, 0.3001, 0.2363, 0.1333] }));
    const tissues = tissueMae(pred, ref, phantom.labels);
    expect(row.values['mae:outside']).toBe(tissues[0].mae);
    expect(row.values[`mae:${tissues[1].label}`]).toBe(tissues[1].mae);
    expect(row.values.psnr).toBeUndefined();
  });

  it('Dice and HD95 per label of two segmentations', () => {
    const acc = new MetricAccumulator({ metrics: ['mae'] });
    const moved = deriveVolume(phantom.labels, { data: phantom.labels.data.map((v, p) => (p >= 1600 ? phantom.labels.data[p - 1600] : 0)) });
    const row = acc.add(ref, ref, { segmentation: { pred: moved, ref: phantom.labels, labels: [1, 2] } });
    expect(row.values['dice:1']).toBe(dice(moved, phantom.labels, { label: 1 }));
    expect(row.values['hd95:2']).toBe(hausdorff95(moved, phantom.labels, { label: 2 }));
    expect(row.values['dice:1']).toBeLessThan(1);
    expect(row.values.mae).toBe(0);
  });

  it('NaN values are left out of the summary; bad inputs throw VoxshiftErrors', () => {
    const acc = new MetricAccumulator({ metrics: ['ncc'] });
    const flat = deriveVolume(ref, { data: new Float32Array(ref.data.length).fill(5) });
    acc.add(flat, ref);
    acc.add(noisy(10, 5), ref);
    const s = acc.aggregate().summary.ncc;
    expect(s.count).toBe(1);
    expect(s.mean).toBe(acc.aggregate().cases[1].values.ncc);
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return isVoxshiftError(e) ? e.shortCode : 'not a VoxshiftError';
      }
      return undefined;
    };
    expect(codeOf(() => new MetricAccumulator({ metrics: ['dice' as 'mae'] }))).toBe('INVALID_ARGUMENT');
    const air = deriveVolume(ref, { data: new Float32Array(ref.data.length).fill(-1000) });
    expect(codeOf(() => acc.add(air, air))).toBe('INVALID_ARGUMENT');
    expect(acc.size).toBe(2);
  });
});
