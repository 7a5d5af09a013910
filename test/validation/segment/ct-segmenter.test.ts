/** ctSegmenter against the phantom's tissue labels mapped to shared classes, and its HU cuts. */
import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { generatePhantom } from '../../../volumes/phantom/index.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { dicePerLabel } from '../../../validation/metrics/dice.ts';
import { ctSegmenter } from '../../../validation/segment/ct-segmenter.ts';
import { SHARED_CLASS } from '../../../validation/segment/segmenter.ts';

// phantom tissue ids → shared classes: 0 air, 1 cavity, 2 fat, 3 soft, 4 GM, 5 WM, 6 CSF, 7 cortical, 8 trabecular, 9 fluid
const CT_TRUTH = [0, 1, 2, 3, 3, 3, 3, 5, 6, 3];

function truth(labels: Volume<Uint8Array>, map: readonly number[]): Volume<Uint8Array> {
  return createVolume({ ...labels, data: labels.data.map((l) => map[l]) });
}

function diceOf(seg: Volume, ref: Volume, classes: number[]): Record<number, number> {
  return Object.fromEntries(dicePerLabel(seg, ref, classes));
}

describe('ctSegmenter', () => {
  it('recovers the phantom head and pelvis tissues from HU', () => {
    const seg = ctSegmenter();
    expect(seg.classes).toEqual([0, 1, 2, 3, 5, 6]);
    for (const [region, min] of [
      ['head', { 0: 0.99, 1: 0.93, 2: 0.85, 3: 0.93, 5: 0.8, 6: 0.65 }],
      ['pelvis', { 0: 0.99, 1: 0.93, 2: 0.9, 3: 0.93, 5: 0.8, 6: 0.8 }],
    ] as const) {
      const p = generatePhantom({ region, seed: 4 });
      const out = seg.segment(p.ct);
      expect(out.kind).toBe('label');
      expect(out.data).toBeInstanceOf(Uint8Array);
      expect(out.history.at(-1)?.op).toBe('segment');
      const d = diceOf(out, truth(p.labels, CT_TRUTH), [0, 1, 2, 3, 5, 6]);
      for (const [c, v] of Object.entries(min)) expect(d[Number(c)], `${region} class ${c}`).toBeGreaterThan(v);
    }
  });

  it('classifies by the documented HU cuts, fluid only when asked', () => {
    // a body of soft tissue (so the body mask holds everything) with one voxel per HU value
    // −300 HU next to air is air/tissue partial volume (soft tissue), away from air it is fat
    const values = [-900, -300, -100, -300, 5, 60, 300, 700, 900, 1500];
    const shape = [values.length, 3, 3] as const;
    const data = new Float32Array(shape[0] * 9).fill(40);
    values.forEach((v, i) => (data[i + shape[0] * (1 + 3 * 1)] = v));
    const vol = createVolume({ data, shape, modality: 'CT', meta: { units: 'HU' } });
    const body = createVolume({ data: new Uint8Array(data.length).fill(1), shape, kind: 'label' });
    const row = (s: Volume<Uint8Array>) => values.map((_, i) => s.data[i + shape[0] * 4]);
    const plain = ctSegmenter({ minComponentMm3: 0 }).segment(vol, { body });
    expect(row(plain)).toEqual([1, 3, 2, 2, 3, 3, 6, 6, 5, 5]);
    const fluid = ctSegmenter({ minComponentMm3: 0, fluidHu: [-10, 18], fluidSmoothMm: 0 });
    expect(fluid.classes).toContain(SHARED_CLASS.FLUID);
    expect(row(fluid.segment(vol, { body }))).toEqual([1, 3, 2, 2, 4, 3, 6, 6, 5, 5]);
    // specks of one voxel are relabelled by default
    expect(row(ctSegmenter().segment(vol, { body }))).toEqual(values.map(() => 3));
  });

  it('rejects inconsistent cuts', () => {
    for (const bad of [{ airHu: 0, fatMaxHu: -30 }, { boneHu: 100 }, { fluidHu: [-100, 0] as const }, { smoothMm: -1 }]) {
      try {
        ctSegmenter(bad);
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });
});

