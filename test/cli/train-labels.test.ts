/**
 * `voxshift train pix2pix --a LABEL_MAPS --a-modality labels --b IMAGES`: a tiny label → T1 run from
 * NIfTI folders records the label domain (classes inferred, or given by --a-classes) and its model
 * translates a label map; bad combinations exit 2 naming the option.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { initBackend } from '../../models3d/engine/backend.ts';
import { translate } from '../../models3d/inference/translate.ts';
import { writeVolume } from '../../volumes/io.ts';
import { labelPhantoms } from '../models3d/training/label-model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-labels-'));
const labelsDir = join(tmp, 'labels');
const imagesDir = join(tmp, 'images');
const phantoms = labelPhantoms([1]);

beforeAll(async () => {
  mkdirSync(labelsDir);
  mkdirSync(imagesDir);
  await writeVolume(phantoms[0].labels, join(labelsDir, 's1.nii.gz'));
  await writeVolume(phantoms[0].t1, join(imagesDir, 's1.nii.gz'));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await initBackend('cpu');
});

const TINY = ['--ngf', '4', '--depth', '2', '--ndf', '4', '--d-layers', '2', '--patch', '16,16', '--montage-every', '0', '--backend', 'wasm', '--threads', '1'];

describe('voxshift train pix2pix --a-modality labels', () => {
  it('trains from label maps, records the classes, and the model makes an image from a label map', async () => {
    const out = join(tmp, 'run');
    const r = await run(['train', 'pix2pix', '--a', labelsDir, '--a-modality', 'labels', '--b', imagesDir, '--b-modality', 'MR', ...TINY, '--steps', '4', '--out', out]);
    expect(r.err).toMatch(/domain A: label maps, classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9/);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'model', 'manifest.json'), 'utf8'));
    expect(manifest.config.domains.a).toEqual({ name: 'labels', modality: 'SEG', normalization: { type: 'labels', classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } });
    expect(manifest.networks.gen.inputChannels).toBe(10);
    const img = await translate(phantoms[0].labels, join(out, 'model'), { runtime: 'tfjs' });
    expect(img.shape).toEqual(phantoms[0].labels.shape);
    expect(img.modality).toBe('MR');
  });

  it('--a-classes sets the classes; values outside them, cyclegan and --a-classes alone are refused', async () => {
    const out = join(tmp, 'given');
    const ok = await run(['train', 'pix2pix', '--a', labelsDir, '--a-modality', 'labels', '--a-classes', '0,1,2,3,4,5,6,7,8,9,10', '--b', imagesDir, ...TINY, '--steps', '1', '--out', out]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'model', 'manifest.json'), 'utf8')).config.domains.a.normalization.classes).toHaveLength(11);
    const few = await run(['train', 'pix2pix', '--a', labelsDir, '--a-modality', 'labels', '--a-classes', '0,1,2', '--b', imagesDir, ...TINY, '--steps', '1', '--out', join(tmp, 'few')]);
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/label value \d+ .* is not one of the model's classes 0, 1, 2/);
    const cyc = await run(['train', 'cyclegan', '--a', labelsDir, '--a-modality', 'labels', '--b', imagesDir, ...TINY, '--steps', '1', '--out', join(tmp, 'cyc')]);
    expect(cyc.code).toBe(2);
    expect(cyc.err).toMatch(/must be pix2pix, got cyclegan/);
    const alone = await run(['train', 'pix2pix', '--a', imagesDir, '--a-classes', '0,1', '--b', imagesDir, ...TINY, '--steps', '1', '--out', join(tmp, 'alone')]);
    expect(alone.code).toBe(2);
    expect(alone.err).toMatch(/--a-classes needs --a-modality labels/);
  });
});
