/**
 * `voxshift train segmenter` end to end, in-process: a tiny 2-D run on two phantom image/label pairs
 * paired by file name (a checkpoint that loads and segments), and exit code 2 with a clear message for
 * empty folders, mismatched grids, non-integer labels and a patch larger than the volumes. The
 * existing `voxshift train cyclegan|pix2pix` still parses its own options.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../models3d/engine/backend.ts';
import { loadLearnedSegmenter } from '../../validation/segment/learned/index.ts';
import { writeVolume } from '../../volumes/io.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import { runCli as run } from '../helpers/run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-train-seg-'));
const images = join(tmp, 'images');
const labels = join(tmp, 'labels');

beforeAll(async () => {
  mkdirSync(images);
  mkdirSync(labels);
  for (const seed of [1, 2]) {
    const p = generatePhantom({ region: 'head', seed, shape: [32, 32, 16] });
    await writeVolume(p.t1, join(images, `case${seed}.nii.gz`));
    await writeVolume(p.labels, join(labels, `case${seed}.nii.gz`));
  }
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await initBackend('cpu');
});

const TINY = ['--patch', '16', '--batch', '2', '--filters', '4', '--depth', '2', '--backend', 'wasm', '--threads', '1'];

describe('voxshift train segmenter', () => {
  it('trains on pairs matched by name and writes a loadable segmenter', async () => {
    const out = join(tmp, 'seg');
    const { code, err } = await run(['train', 'segmenter', '--images', images, '--labels', labels, '--out', out, '--steps', '3', '--classes', '3=soft,5=wm', '--shared', '3=3,5=3', '--pipeline', 'mr', '--seed', '2', ...TINY]);
    expect(err).toMatch(/trained 3 steps/);
    expect(err).toMatch(/train segmenter: 3\/3/);
    expect(code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      kind: 'segmenter',
      steps: 3,
      seed: 2,
      classes: [{ value: 0 }, { value: 3, name: 'soft' }, { value: 5, name: 'wm' }],
      layout: { spatialDims: 2, patchSize: [16, 16] },
      training: { augmentation: { pipeline: 'preset:mr' }, filters: 4, depth: 2 },
      notes: { data: { subjects: ['case1', 'case2'] } },
    });
    const seg = await loadLearnedSegmenter(out);
    expect(seg.asSegmenter().classes).toEqual([0, 3]);
    seg.dispose();
  });

  it('fails with exit code 2 and a clear message on bad inputs', async () => {
    const out = join(tmp, 'bad');
    const emptyDir = join(tmp, 'empty');
    mkdirSync(emptyDir);
    let r = await run(['train', 'segmenter', '--images', emptyDir, '--labels', labels, '--out', out, ...TINY]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--images .* holds no volumes/);

    const p = generatePhantom({ region: 'head', seed: 3, shape: [32, 32, 16] });
    const badImages = join(tmp, 'bad-images');
    const badLabels = join(tmp, 'bad-labels');
    mkdirSync(badImages);
    mkdirSync(badLabels);
    await writeVolume(p.t1, join(badImages, 'x.nii.gz'));
    await writeVolume(deriveVolume(p.labels, { data: p.labels.data, origin: [9, 0, 0] }), join(badLabels, 'x.nii.gz'));
    r = await run(['train', 'segmenter', '--images', badImages, '--labels', badLabels, '--out', out, ...TINY]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/GEOMETRY_MISMATCH.*not on the grid/);

    // The image given as the label map: non-integer values.
    rmSync(join(badLabels, 'x.nii.gz'));
    await writeVolume(p.t1, join(badLabels, 'x.nii.gz'));
    r = await run(['train', 'segmenter', '--images', badImages, '--labels', badLabels, '--out', out, ...TINY]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/x: label map voxel \[.*\] is .*non-negative integers/);

    r = await run(['train', 'segmenter', '--images', images, '--labels', labels, '--out', out, ...TINY, '--patch', '64']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/case1: the volume \(32×32×16 voxels\) is smaller than the 2-D patch/);

    r = await run(['train', 'segmenter', '--images', images, '--labels', labels, '--out', out, ...TINY, '--classes', 'liver']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/classes has "liver", expected value=name/);
  });

  it('leaves `voxshift train <kind>` parsing its own options', async () => {
    const r = await run(['train', 'unet', '--out', join(tmp, 'x'), '--steps', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/model kind must be cyclegan or pix2pix, got "unet"/);
  });
});
