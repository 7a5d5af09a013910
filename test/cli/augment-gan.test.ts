/**
 * `voxshift augment` with GAN steps: a Translate step in --pipeline JSON whose model path is relative
 * to the JSON file, `--preset mr --translate MODEL`, and the errors of the GAN flags (wrong model type
 * named by its key before anything is written, both flags at once).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestRecord } from '../../augment/export/sample.ts';
import { shippedModelDir } from '../../models3d/shipped-models.ts';
import { writeNifti } from '../../volumes/nifti/write-nifti.ts';
import { phantom } from '../augment/subjects.ts';
import { runCli as run } from '../helpers/run-cli.ts';

let tmp: string;
const mr2ct = shippedModelDir('phantom-mr2ct-pix2pix-2d');
const io = () => ['--images', join(tmp, 'images'), '--labels', join(tmp, 'labels'), '--per-subject', '2', '--seed', '3'];

function records(out: string): ManifestRecord[] {
  return readFileSync(join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ManifestRecord);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'voxshift-cli-augment-gan-'));
  for (const d of ['images', 'labels', 'pipes']) mkdirSync(join(tmp, d));
  const p = phantom(5, [24, 24, 8]);
  await writeNifti(p.t1, join(tmp, 'images', 'a.nii.gz'));
  await writeNifti(p.labels, join(tmp, 'labels', 'a.nii.gz'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('voxshift augment with GAN steps', () => {
  it('runs a Translate step from pipeline JSON (model path relative to the file) and --preset mr --translate', async () => {
    const pipeline = join(tmp, 'pipes', 'p.json');
    writeFileSync(pipeline, JSON.stringify({ name: 'ct-from-mr', transforms: [{ type: 'RandomAffine' }, { type: 'Translate', model: relative(join(tmp, 'pipes'), mr2ct) }] }));
    const out = join(tmp, 'out-json');
    const r = await run(['augment', ...io(), '--pipeline', pipeline, '--out', out, '--workers', '1']);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/pipeline\[1\] Translate: .*phantom-mr2ct-pix2pix-2d .*on onnx, loaded once per worker/);
    expect(r.out).toMatch(/wrote 2 augmented pairs/);
    for (const rec of records(out)) {
      expect(rec.pipeline).toBe('ct-from-mr');
      expect(rec.history.image.map((h) => h.op).slice(-2)).toEqual(['Affine', 'Translate']);
    }

    const out2 = join(tmp, 'out-flag');
    const f = await run(['augment', ...io(), '--preset', 'mr', '--translate', mr2ct, '--out', out2, '--workers', '0']);
    expect(f.code).toBe(0);
    const recs = records(out2);
    expect(recs).toHaveLength(2);
    for (const rec of recs) {
      expect(rec.pipeline).toBe('preset:mr+Translate');
      expect(rec.history.image.at(-1)!.op).toBe('Translate');
      expect(rec.history.label.map((h) => h.op)).not.toContain('Translate');
    }
    const again = await run(['augment', ...io(), '--preset', 'mr', '--translate', mr2ct, '--out', out2, '--workers', '0']);
    expect(again.out).toMatch(/wrote 0 augmented pairs \(2 already there\)/);
  }, 60_000);

  it('names the step of a model of the wrong type before writing anything, and refuses both GAN flags', async () => {
    const out = join(tmp, 'out-bad');
    const r = await run(['augment', ...io(), '--label-to-image', mr2ct, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/pipeline\[0\]\.model \(LabelToImageGAN\): .* not label maps/);
    expect(existsSync(out)).toBe(false);
    const both = await run(['augment', ...io(), '--translate', mr2ct, '--label-to-image', mr2ct, '--out', out]);
    expect(both.code).not.toBe(0);
    expect(both.err).toMatch(/at most one of --translate and --label-to-image/);
    const missing = await run(['augment', ...io(), '--preset', 'ct', '--translate', join(tmp, 'nope'), '--out', out]);
    expect(missing.err).toMatch(/pipeline\[6\]\.model \(Translate\): ".*nope" does not exist/);
  }, 30_000);
});
