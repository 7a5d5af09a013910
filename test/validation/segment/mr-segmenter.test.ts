/** mrSegmenter against the phantom's tissue labels mapped to shared classes (T1w and T2w with a bias field). */
import { describe, expect, it } from 'vitest';
import { generatePhantom } from '../../../volumes/phantom/index.ts';
import { createVolume, deriveVolume } from '../../../volumes/volume.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { dicePerLabel } from '../../../validation/metrics/dice.ts';
import { inferContrast, mrSegmenter } from '../../../validation/segment/mr-segmenter.ts';

// phantom tissue ids → shared classes as MR shows them (cortical bone dark, fatty marrow soft): 0 air, 1 cavity, 2 fat, 3 soft, 4 GM, 5 WM, 6 CSF, 7 cortical, 8 trabecular, 9 fluid
const MR_TRUTH = [0, 1, 2, 3, 3, 3, 4, 1, 3, 4];

function truth(labels: Volume<Uint8Array>, map: readonly number[]): Volume<Uint8Array> {
  return createVolume({ ...labels, data: labels.data.map((l) => map[l]) });
}

function diceOf(seg: Volume, ref: Volume, classes: number[]): Record<number, number> {
  return Object.fromEntries(dicePerLabel(seg, ref, classes));
}

describe('mrSegmenter', () => {
  const bias = { biasStrength: 0.3 };

  it('recovers dark, fat and soft tissue from T1w with a bias field (head and pelvis)', () => {
    for (const [region, seed] of [['head', 1], ['pelvis', 2]] as const) {
      const p = generatePhantom({ region, seed, scanner: bias });
      const out = mrSegmenter().segment(p.t1);
      const fit = out.meta.extra?.mrFit as { contrast: string };
      expect(fit.contrast).toBe('t1');
      const d = diceOf(out, truth(p.labels, MR_TRUTH), [0, 1, 2, 3]);
      expect(d[0], `${region} outside`).toBeGreaterThan(0.98);
      expect(d[1], `${region} dark`).toBeGreaterThan(0.75);
      expect(d[2], `${region} fat`).toBeGreaterThan(0.9);
      expect(d[3], `${region} soft`).toBeGreaterThan(0.9);
    }
  });

  it('recovers fluid, fat, soft tissue and dark from a pelvis T2w, the contrast read from the description', () => {
    const p = generatePhantom({ region: 'pelvis', seed: 1, scanner: bias });
    expect(inferContrast(p.t2)).toBe('t2');
    const out = mrSegmenter().segment(p.t2);
    const d = diceOf(out, truth(p.labels, MR_TRUTH), [1, 2, 3, 4]);
    expect(d[1]).toBeGreaterThan(0.8);
    expect(d[2]).toBeGreaterThan(0.9);
    expect(d[3]).toBeGreaterThan(0.9);
    expect(d[4]).toBeGreaterThan(0.95);
  });

  it('infers the contrast from metadata, and validates its options', () => {
    const vol = createVolume({ data: new Float32Array(8), shape: [2, 2, 2], modality: 'MR', meta: { description: 'AX T2 FSE' } });
    expect(inferContrast(vol)).toBe('t2');
    expect(inferContrast(deriveVolume(vol, { data: vol.data, meta: { description: 't1_mpr_tra' } }))).toBe('t1');
    expect(inferContrast(deriveVolume(vol, { data: vol.data, meta: { description: 'FLAIR', dicom: { SeriesDescription: 'sag T1 SE' } } }))).toBe('t1');
    expect(inferContrast(deriveVolume(vol, { data: vol.data, meta: { description: 'DWI b1000' } }))).toBeUndefined();
    expect(() => mrSegmenter({ contrast: 'pd' as 't1' })).toThrow(/contrast/);
    expect(() => mrSegmenter({ componentClasses: [1, 5] })).toThrow(/componentClasses/);
    expect(() => mrSegmenter({ biasDegree: 9 })).toThrow(/biasDegree/);
    expect(() => mrSegmenter().segment(vol, { body: createVolume({ data: new Uint8Array(8).fill(1), shape: [2, 2, 2] }) })).toThrow(/too few/);
  });
});

