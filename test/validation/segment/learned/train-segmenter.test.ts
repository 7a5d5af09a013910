/**
 * trainSegmenter: leak-free steps, the loss going down on a tiny phantom, seeded determinism (with
 * and without augmentation), whole-volume segmentation on the input grid, and clear errors for bad
 * training data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { presetPipeline } from '../../../../augment/presets.ts';
import { trainSegmenter } from '../../../../validation/segment/learned/index.ts';
import { createVolume, deriveVolume } from '../../../../volumes/volume.ts';
import { useBackend } from '../../../models3d/training/training-backend.ts';
import { TINY_SHAPE, tinyOptions, tinySubjects } from './tiny-data.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

const weightsOf = (r: Awaited<ReturnType<typeof trainSegmenter>>): Float32Array[] => [...r.segmenter.network.params.values()].map((v) => v.dataSync() as Float32Array);

describe('trainSegmenter', () => {
  const subjects = tinySubjects();

  it('steps are leak-free and the Dice + CE loss goes down', async () => {
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const r = await trainSegmenter(tinyOptions(subjects, { steps: 40, learningRate: 0.01, batchSize: 4, patchSize: 32, onStep: () => counts.push(tf.memory().numTensors) }));
    // Adam's moments appear in step 1; from then on every step ends with the same tensors.
    expect(new Set(counts.slice(1)).size).toBe(1);
    const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length;
    expect(r.losses).toHaveLength(40);
    expect(mean(r.losses.slice(-8))).toBeLessThan(0.85 * mean(r.losses.slice(0, 8)));
    expect(r.segmenter.info.steps).toBe(40);
    expect(r.segmenter.info.classes).toEqual([
      { value: 0, name: 'background' },
      { value: 3, name: 'soft' },
      { value: 5, name: 'wm' },
    ]);

    const vol = subjects[0].image;
    const seg = r.segmenter.segment(vol);
    expect(seg.kind).toBe('label');
    expect(seg.data).toBeInstanceOf(Uint8Array);
    expect(seg.shape).toEqual(vol.shape);
    expect(seg.spacing).toEqual(vol.spacing);
    expect(seg.origin).toEqual(vol.origin);
    expect(seg.direction).toEqual(vol.direction);
    expect(seg.history.slice(0, -1)).toEqual(vol.history);
    expect(seg.history.at(-1)).toMatchObject({ op: 'segment', params: { segmenter: 'learned-unet', steps: 40 } });
    for (const v of new Set(seg.data)) expect([0, 3, 5]).toContain(v);
    r.segmenter.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the same seed gives the same weights and label maps; another seed does not', async () => {
    const a = await trainSegmenter(tinyOptions(subjects, { steps: 3 }));
    const b = await trainSegmenter(tinyOptions(subjects, { steps: 3 }));
    const c = await trainSegmenter(tinyOptions(subjects, { steps: 3, seed: 4 }));
    expect(weightsOf(b)).toEqual(weightsOf(a));
    expect(weightsOf(c)).not.toEqual(weightsOf(a));
    expect(b.segmenter.segment(subjects[1].image).data).toEqual(a.segmenter.segment(subjects[1].image).data);
    for (const r of [a, b, c]) r.segmenter.dispose();
  });

  it('3-D: trains on patches and segments the whole volume', async () => {
    const r = await trainSegmenter(tinyOptions(subjects.slice(0, 1), { spatialDims: 3, patchSize: [8, 16, 16], batchSize: 1, steps: 2 }));
    expect(r.segmenter.network.spec.spatialDims).toBe(3);
    const seg = r.segmenter.segment(subjects[0].image);
    expect(seg.shape).toEqual([...TINY_SHAPE]);
    r.segmenter.dispose();
  });

  it('with an augmentation pipeline: seeded (same losses twice) and different from no augmentation', async () => {
    const aug = { pipeline: presetPipeline('mr'), name: 'preset:mr', poolSize: 2, refreshEvery: 2 };
    const a = await trainSegmenter(tinyOptions(subjects, { steps: 4, augmentation: aug }));
    const b = await trainSegmenter(tinyOptions(subjects, { steps: 4, augmentation: aug }));
    const plain = await trainSegmenter(tinyOptions(subjects, { steps: 4 }));
    expect(b.losses).toEqual(a.losses);
    expect(plain.losses).not.toEqual(a.losses);
    expect(a.segmenter.info.training.augmentation).toEqual({ pipeline: 'preset:mr', poolSize: 2, refreshEvery: 2 });
    for (const r of [a, b, plain]) r.segmenter.dispose();
  });

  it('classBalanced: seeded, recorded, samples differently from the default, and checked', async () => {
    const a = await trainSegmenter(tinyOptions(subjects, { steps: 3, classBalanced: true, foregroundProb: 1 }));
    const b = await trainSegmenter(tinyOptions(subjects, { steps: 3, classBalanced: true, foregroundProb: 1 }));
    const plain = await trainSegmenter(tinyOptions(subjects, { steps: 3, foregroundProb: 1 }));
    expect(b.losses).toEqual(a.losses);
    expect(plain.losses).not.toEqual(a.losses);
    expect(a.segmenter.info.training.classBalanced).toBe(true);
    expect(plain.segmenter.info.training.classBalanced).toBe(false);
    for (const r of [a, b, plain]) r.segmenter.dispose();
    await expect(trainSegmenter(tinyOptions(subjects, { classBalanced: 'yes' as unknown as boolean }))).rejects.toThrow(/classBalanced must be a boolean, got "yes"/);
    await expect(trainSegmenter(tinyOptions(subjects, { foregroundProb: 1.5 }))).rejects.toThrow(/foregroundProb must be a number in \[0, 1\], got 1.5/);
  });

  it('finds the classes in the data when none are given', async () => {
    const r = await trainSegmenter({ ...tinyOptions(subjects, { steps: 1 }), classes: undefined });
    const values = r.segmenter.info.classes.map((c) => c.value);
    expect(values[0]).toBe(0);
    expect(values).toEqual([...new Set(subjects.flatMap((s) => [...s.label.data]))].sort((x, y) => x - y));
    r.segmenter.dispose();
  });

  it('refuses bad training data, naming the subject and the problem', async () => {
    const [s] = subjects;
    const before = tf.memory().numTensors;
    const shifted = deriveVolume(s.label, { data: s.label.data, origin: [5, 0, 0] });
    await expect(trainSegmenter(tinyOptions([{ ...s, label: shifted }]))).rejects.toThrow(/s1: the label map .* is not on the image's grid/);
    const fractional = deriveVolume(s.label, { data: Float32Array.from(s.label.data, (v, i) => (i === 40 ? 2.5 : v)) });
    await expect(trainSegmenter(tinyOptions([{ ...s, label: fractional }]))).rejects.toThrow(/s1: label map voxel \[8, 1, 0\] is 2.5/);
    await expect(trainSegmenter(tinyOptions([s], { patchSize: 64 }))).rejects.toThrow(/s1: the volume \(32×32×16 voxels\) is smaller than the 2-D patch/);
    await expect(trainSegmenter(tinyOptions([s], { patchSize: 18 }))).rejects.toThrow(/patchSize must be 2 positive multiples of 4/);
    await expect(trainSegmenter(tinyOptions([]))).rejects.toThrow(/subjects must be a non-empty array/);
    const empty = createVolume({ data: new Uint8Array(32 * 32 * 16), shape: TINY_SHAPE, spacing: s.image.spacing, origin: s.image.origin, kind: 'label' });
    await expect(trainSegmenter({ ...tinyOptions([{ ...s, label: empty }]), classes: undefined })).rejects.toThrow(/only background/);
    await expect(trainSegmenter(tinyOptions([s], { classes: [{ value: 300, name: 'x' }] }))).rejects.toThrow(/values must be integers 1..255/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
