/**
 * Dice and surface distances against scipy (distance_transform_edt with sampling = spacing, MONAI's
 * HD95 definition) on real TotalSegmentator label maps: the numbers in
 * test/fixtures/reference/metrics.json ("labels") come from scripts/reference/distance-metrics.py,
 * which applies the same shift-and-dilate as ./perturb.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readVolume } from '../../../volumes/io.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { dice, dicePerLabel } from '../../../validation/metrics/dice.ts';
import { hausdorff95, surfaceDistances, surfaceDistancesPerLabel } from '../../../validation/metrics/hausdorff.ts';
import { FIXTURES, hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { perturbLabels } from './perturb.ts';

interface LabelRow {
  dice: number;
  predCount: number;
  refCount: number;
  hd95?: number;
  directed?: [number, number];
  hausdorff?: number;
  assd?: number;
}

interface LabelCase {
  file: string;
  shape: number[];
  spacing: number[];
  shift: number[];
  dilate: number;
  labels: Record<string, LabelRow>;
  binary: { dice: number };
}

const REF = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'metrics.json'), 'utf8')) as {
  labels: { seg: LabelCase; segDicom: LabelCase };
};

describe.skipIf(!hasSharedData())('Dice and HD95 vs scipy on real label maps', () => {
  for (const name of ['seg', 'segDicom'] as const) {
    describe(name, () => {
      const want = REF.labels[name];
      let ref: Volume;
      let pred: Volume;
      beforeAll(async () => {
        ref = await readVolume(sharedPath(want.file), { kind: 'label' });
        pred = perturbLabels(ref, want.shift, want.dilate);
      });

      it('reads the label map the script used (shape, spacing)', () => {
        expect([...ref.shape]).toEqual(want.shape);
        for (let a = 0; a < 3; a++) expect(ref.spacing[a]).toBeCloseTo(want.spacing[a], 5);
        expect(Object.keys(want.labels).length).toBeGreaterThan(20);
      });

      it('Dice per label and for the binary masks equals the reference', () => {
        const per = dicePerLabel(pred, ref);
        expect([...per.keys()].map(String).sort()).toEqual(Object.keys(want.labels).sort());
        for (const [label, row] of Object.entries(want.labels)) expect(per.get(Number(label))).toBeCloseTo(row.dice, 12);
        expect(dice(pred, ref)).toBeCloseTo(want.binary.dice, 12);
        expect(dice(pred, ref, { label: want.dilate })).toBeCloseTo(want.labels[String(want.dilate)].dice, 12);
      });

      it('HD95 (both directed P95), Hausdorff and ASSD per label equal scipy EDT within 1e-6 mm', () => {
        let compared = 0;
        const all = surfaceDistancesPerLabel(pred, ref);
        expect([...all.keys()].map(String).sort()).toEqual(Object.keys(want.labels).sort());
        for (const [label, row] of Object.entries(want.labels)) {
          const d = all.get(Number(label)) as ReturnType<typeof surfaceDistances>;
          if (row.hd95 === undefined) {
            expect(d.hd95).toBe(Infinity);
            continue;
          }
          compared++;
          expect(Math.abs(d.hd95 - row.hd95)).toBeLessThan(1e-6);
          expect(Math.abs(d.directed[0] - (row.directed as number[])[0])).toBeLessThan(1e-6);
          expect(Math.abs(d.directed[1] - (row.directed as number[])[1])).toBeLessThan(1e-6);
          expect(Math.abs(d.hausdorff - (row.hausdorff as number))).toBeLessThan(1e-6);
          expect(Math.abs(d.assd - (row.assd as number))).toBeLessThan(1e-6);
        }
        expect(compared).toBeGreaterThan(20);
        const liver = want.labels[String(want.dilate)];
        expect(hausdorff95(pred, ref, { label: want.dilate })).toBeCloseTo(liver.hd95 as number, 6);
        expect(surfaceDistances(pred, ref, { label: want.dilate })).toEqual(all.get(want.dilate));
      });
    });
  }
});
