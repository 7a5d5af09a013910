/**
 * Image metrics against scikit-image / numpy on real volumes: the numbers in
 * test/fixtures/reference/metrics.json ("images") come from scripts/reference/skimage-metrics.py,
 * which applies the same perturbations as ./perturb.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../../../volumes/io.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { bodyMask } from '../../../validation/masks.ts';
import { intensityErrors } from '../../../validation/metrics/intensity-errors.ts';
import { ncc } from '../../../validation/metrics/ncc.ts';
import { psnr } from '../../../validation/metrics/psnr.ts';
import { msSsim } from '../../../validation/metrics/ms-ssim.ts';
import { ssim } from '../../../validation/metrics/ssim.ts';
import { ssimPerSlice } from '../../../validation/metrics/ssim-per-slice.ts';
import { FIXTURES, hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { perturbCt, perturbMr } from './perturb.ts';

interface ImageCase {
  file: string;
  shape: number[];
  dataRange: [number, number];
  maskThreshold: number;
  maskCount: number;
  maskSliceCounts: number[];
  mae: number;
  meanError: number;
  rmse: number;
  ncc: number;
  psnr: number;
  psnrAll: number;
  ssim: number;
  ssimUniform: number;
  maskedSsim: number;
  ssimSlices: number[];
  msSsim: number;
}

const REF = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'metrics.json'), 'utf8')) as {
  images: { mr: ImageCase; ct: ImageCase };
};

const TOL = 1e-3;

describe.skipIf(!hasSharedData())('image metrics vs scikit-image on real volumes', () => {
  for (const name of ['mr', 'ct'] as const) {
    describe(name, () => {
      const want = REF.images[name];
      let ref: Volume;
      let pred: Volume;
      let mask: Volume;
      beforeAll(async () => {
        ref = await readVolume(sharedPath(want.file), name === 'ct' ? { modality: 'CT' } : {});
        pred = name === 'ct' ? perturbCt(ref) : perturbMr(ref);
        mask = bodyMask(ref);
      });

      it('reads the volume the script used', () => {
        expect([...ref.shape]).toEqual(want.shape);
      });

      it('body mask equals the scipy recipe voxel for voxel in count, per slice', () => {
        expect(mask.history.at(-1)?.params.threshold).toBeCloseTo(want.maskThreshold, 9);
        let n = 0;
        const perSlice = new Array<number>(ref.shape[2]).fill(0);
        const sliceSize = ref.shape[0] * ref.shape[1];
        for (let p = 0; p < mask.data.length; p++) {
          if (mask.data[p]) {
            n++;
            perSlice[Math.floor(p / sliceSize)]++;
          }
        }
        expect(n).toBe(want.maskCount);
        expect(perSlice).toEqual(want.maskSliceCounts);
      });

      it('MAE, mean error, RMSE and NCC in the mask match numpy', () => {
        const e = intensityErrors(pred, ref, { mask });
        expect(e.count).toBe(want.maskCount);
        expect(e.mae).toBeCloseTo(want.mae, 8);
        expect(e.meanError).toBeCloseTo(want.meanError, 8);
        expect(e.rmse).toBeCloseTo(want.rmse, 8);
        expect(ncc(pred, ref, { mask })).toBeCloseTo(want.ncc, 10);
        // the default mask is the reference's body mask
        expect(intensityErrors(pred, ref).mae).toBe(e.mae);
      });

      it(`PSNR matches skimage within ${TOL} dB (masked and whole volume)`, () => {
        const masked = psnr(pred, ref, { mask, dataRange: want.dataRange });
        const all = psnr(pred, ref, { mask: 'none', dataRange: want.dataRange });
        expect(Math.abs(masked - want.psnr)).toBeLessThan(TOL);
        expect(Math.abs(all - want.psnrAll)).toBeLessThan(TOL);
        expect(masked).not.toBeCloseTo(all, 1);
      });

      it(`3-D SSIM (gaussian and uniform window) and SynthRAD masked SSIM match skimage within ${TOL}`, () => {
        const g = ssim(pred, ref, { mask, dataRange: want.dataRange });
        expect(Math.abs(g.ssim - want.ssim)).toBeLessThan(TOL);
        expect(Math.abs((g.maskedSsim as number) - want.maskedSsim)).toBeLessThan(TOL);
        const u = ssim(pred, ref, { mask: 'none', dataRange: want.dataRange, window: 'uniform' });
        expect(u.maskedSsim).toBeNull();
        expect(Math.abs(u.ssim - want.ssimUniform)).toBeLessThan(TOL);
        // Far tighter in fact: both are float64 with the same operations.
        expect(Math.abs(g.ssim - want.ssim)).toBeLessThan(1e-9);
      });

      it(`per-slice SSIM matches skimage on each 2-D slice within ${TOL}`, () => {
        const s = ssimPerSlice(pred, ref, { mask: 'none', dataRange: want.dataRange, axis: 2 });
        expect(s.values.length).toBe(want.ssimSlices.length);
        let worst = 0;
        for (let k = 0; k < s.values.length; k++) worst = Math.max(worst, Math.abs(s.values[k] - want.ssimSlices[k]));
        expect(worst).toBeLessThan(TOL);
      });

      it('MS-SSIM (5 scales) matches an independent numpy/scipy implementation within 1e-6', () => {
        const v = msSsim(pred, ref, { dataRange: want.dataRange });
        expect(Math.abs(v - want.msSsim)).toBeLessThan(1e-6);
        expect(v).toBeLessThan(1);
      });
    });
  }
});
