/**
 * Segmenter checkpoints: save → load gives identical label maps, the manifest records what the
 * issue asks for, and foreign or damaged folders are refused with INCOMPATIBLE_CHECKPOINT /
 * CORRUPT_CHECKPOINT. Also the validation Segmenter view through a label → shared-class mapping.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLearnedSegmenter, saveLearnedSegmenter, trainSegmenter, type LearnedSegmenter } from '../../../../validation/segment/learned/index.ts';
import { SHARED_CLASS } from '../../../../validation/segment/segmenter.ts';
import { useBackend } from '../../../models3d/training/training-backend.ts';
import { rejected } from '../../../helpers/rejected.ts';
import { tinyOptions, tinySubjects } from './tiny-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-segmenter-ckpt-'));
const subjects = tinySubjects();
let trained: LearnedSegmenter;
const dir = join(tmp, 'seg');

beforeAll(async () => {
  await useBackend('wasm');
  trained = (await trainSegmenter(tinyOptions(subjects, { steps: 3, sharedClasses: { 3: SHARED_CLASS.SOFT, 5: SHARED_CLASS.SOFT } }))).segmenter;
  await saveLearnedSegmenter(dir, trained, { note: 'test' });
});
afterAll(() => {
  trained.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

function copyWith(name: string, edit: (manifest: Record<string, unknown>) => void, weights?: (b: Buffer) => Buffer): string {
  const to = join(tmp, name);
  mkdirSync(to, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  edit(m);
  writeFileSync(join(to, 'manifest.json'), JSON.stringify(m));
  const w = readFileSync(join(dir, 'weights.bin'));
  writeFileSync(join(to, 'weights.bin'), weights ? weights(w) : w);
  return to;
}

describe('segmenter checkpoints', () => {
  it('save → load segments identically, leak-free, and the manifest says what it is', async () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'voxshift-segmenter/1',
      kind: 'segmenter',
      library: { name: 'voxshift' },
      classes: [
        { value: 0, name: 'background' },
        { value: 3, name: 'soft' },
        { value: 5, name: 'wm' },
      ],
      modality: 'MR',
      normalization: { spec: { type: 'mr-percentile' }, reference: { type: 'mr-percentile' } },
      spacing: [...subjects[0].image.spacing],
      seed: 3,
      steps: 3,
      layout: { spatialDims: 2, axis: 2, patchSize: [16, 16] },
      sharedClasses: { 0: 0, 3: 3, 5: 3 },
      notes: { note: 'test' },
    });
    expect(manifest.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
    const before = tf.memory().numTensors;
    const loaded = await loadLearnedSegmenter(dir);
    const vol = subjects[1].image;
    const a = trained.segment(vol);
    const b = loaded.segment(vol);
    expect(b.data).toEqual(a.data);
    expect(b.history.at(-1)?.params).toMatchObject({ checkpoint: dir, steps: 3 });
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses foreign and damaged checkpoints', async () => {
    expect((await rejected(loadLearnedSegmenter(join(tmp, 'missing')))).message).toMatch(/does not exist/);
    mkdirSync(join(tmp, 'empty'));
    expect(await rejected(loadLearnedSegmenter(join(tmp, 'empty')))).toMatchObject({ code: 'VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT' });
    const cyclegan = copyWith('cyclegan', (m) => {
      m.format = 'voxshift-checkpoint/1';
      m.config = { kind: 'cyclegan' };
    });
    const e1 = await rejected(loadLearnedSegmenter(cyclegan));
    expect(e1).toMatchObject({ code: 'VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT' });
    expect(e1.message).toMatch(/translation model checkpoint \(cyclegan\), not a segmenter/);
    const future = copyWith('future', (m) => {
      m.format = 'voxshift-segmenter/9';
    });
    expect(await rejected(loadLearnedSegmenter(future))).toMatchObject({ code: 'VOXSHIFT_E_INCOMPATIBLE_CHECKPOINT' });
    const flipped = copyWith('flipped', () => {}, (w) => {
      const c = Buffer.from(w);
      c[100] ^= 0xff;
      return c;
    });
    const e2 = await rejected(loadLearnedSegmenter(flipped));
    expect(e2).toMatchObject({ code: 'VOXSHIFT_E_CORRUPT_CHECKPOINT' });
    expect(e2.message).toMatch(/checksum/);
    const truncated = copyWith('truncated', () => {}, (w) => w.subarray(0, w.length - 8));
    expect(await rejected(loadLearnedSegmenter(truncated))).toMatchObject({ code: 'VOXSHIFT_E_CORRUPT_CHECKPOINT' });
    const lying = copyWith('lying', (m) => {
      (m.classes as unknown[]).pop();
    });
    expect(await rejected(loadLearnedSegmenter(lying))).toMatchObject({ code: 'VOXSHIFT_E_CORRUPT_CHECKPOINT' });
    mkdirSync(join(tmp, 'badjson'));
    writeFileSync(join(tmp, 'badjson', 'manifest.json'), '{ not json');
    expect(await rejected(loadLearnedSegmenter(join(tmp, 'badjson')))).toMatchObject({ code: 'VOXSHIFT_E_CORRUPT_CHECKPOINT' });
  });

  it('plugs into the validation Segmenter interface through a label → shared-class mapping', async () => {
    const seg = trained.asSegmenter();
    expect(seg.classes).toEqual([SHARED_CLASS.OUTSIDE, SHARED_CLASS.SOFT]);
    const vol = subjects[0].image;
    const labels = trained.segment(vol);
    const shared = seg.segment(vol);
    for (let p = 0; p < labels.data.length; p++) expect(shared.data[p]).toBe(labels.data[p] === 0 ? 0 : 3);
    // A mapping given at load time replaces the stored one; an incomplete one is refused.
    const loaded = await loadLearnedSegmenter(dir, { sharedClasses: { 3: SHARED_CLASS.SOFT, 5: SHARED_CLASS.FAT } });
    expect(loaded.asSegmenter().classes).toEqual([0, 2, 3]);
    expect(() => loaded.asSegmenter({ 3: SHARED_CLASS.SOFT })).toThrow(/no shared class for label value\(s\) 5 \(wm\)/);
    expect(() => loaded.asSegmenter({ 3: 9 as 3, 5: 3 })).toThrow(/shared class id 0..6/);
    loaded.dispose();
  });
});
