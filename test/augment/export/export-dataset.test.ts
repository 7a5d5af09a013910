import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../../augment/export/export-dataset.ts';
import { pairSubjectFiles } from '../../../augment/export/pair-files.ts';
import type { ManifestRecord } from '../../../augment/export/sample.ts';
import { sampleSeed } from '../../../augment/export/sample.ts';
import { readVolume } from '../../../volumes/io.ts';
import { writeNifti } from '../../../volumes/nifti/write-nifti.ts';
import { phantom } from '../subjects.ts';

let root: string;
const images = () => join(root, 'in', 'images');
const labels = () => join(root, 'in', 'labels');
const SMALL_PIPELINE = { name: 'small', transforms: [{ type: 'RandomAffine', rotationDeg: [-10, 10] }, { type: 'RandomGamma' }, { type: 'RandomNoise', p: 0.5 }] };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'voxshift-augment-export-'));
  mkdirSync(images(), { recursive: true });
  mkdirSync(labels(), { recursive: true });
  for (const [i, seed] of [1, 2, 3].entries()) {
    const p = phantom(seed, [20, 20, 12], i === 1);
    await writeNifti(p.t1, join(images(), `case${i}.nii.gz`));
    await writeNifti(p.labels, join(labels(), `case${i}.nii.gz`));
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function manifest(out: string): ManifestRecord[] {
  return readFileSync(join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ManifestRecord);
}

function snapshot(out: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const d of ['images', 'labels']) for (const f of readdirSync(join(out, d))) m.set(`${d}/${f}`, readFileSync(join(out, d, f)));
  m.set('manifest.jsonl', readFileSync(join(out, 'manifest.jsonl')));
  return m;
}

describe('exportDataset', () => {
  it('writes N × subjects pairs and a manifest naming source, seed and history; identical bytes with 1 and 2 workers', async () => {
    const a = join(root, 'out-w1');
    const b = join(root, 'out-w2');
    const progress: number[] = [];
    const r1 = await exportDataset({ images: images(), labels: labels(), pipeline: { json: SMALL_PIPELINE }, perSubject: 2, seed: 9, out: a, workers: 1, onProgress: (d) => progress.push(d) });
    const r2 = await exportDataset({ images: images(), labels: labels(), pipeline: { json: SMALL_PIPELINE }, perSubject: 2, seed: 9, out: b, workers: 2 });
    expect(r1).toMatchObject({ subjects: 3, samples: 6, written: 6, skipped: 0, workers: 1 });
    expect(r2).toMatchObject({ samples: 6, written: 6, workers: 2 });
    expect(progress.at(-1)).toBe(6);
    const records = manifest(a);
    expect(records.map((r) => r.sample)).toEqual(['case0_0000', 'case0_0001', 'case1_0000', 'case1_0001', 'case2_0000', 'case2_0001']);
    for (const r of records) {
      expect(r.seed).toBe(sampleSeed(9, r.subject, r.index));
      expect(r.source.image).toBe(join(images(), `${r.subject}.nii.gz`));
      expect(r.pipeline).toBe('small');
      expect(r.history.image.map((h) => h.op)).toContain('Gamma');
      expect(r.history.label.map((h) => h.op)).toContain('Affine');
      const img = await readVolume(join(a, r.image));
      const lab = await readVolume(join(a, r.label));
      expect(lab.kind).toBe('label');
      expect(img.shape).toEqual(lab.shape);
    }
    const s1 = snapshot(a);
    const s2 = snapshot(b);
    expect([...s1.keys()].sort()).toEqual([...s2.keys()].sort());
    for (const [k, v] of s1) expect(v.equals(s2.get(k)!), k).toBe(true);
    // Different samples differ.
    expect(s1.get('images/case0_0000.nii.gz')!.equals(s1.get('images/case0_0001.nii.gz')!)).toBe(false);
  }, 60_000);

  it('resumes: deleted outputs and torn manifest lines are redone, exactly those, bit for bit', async () => {
    const out = join(root, 'out-w1');
    const before = snapshot(out);
    const mtime = statSync(join(out, 'images', 'case2_0001.nii.gz')).mtimeMs;
    unlinkSync(join(out, 'images', 'case0_0001.nii.gz'));
    unlinkSync(join(out, 'labels', 'case1_0000.nii.gz'));
    // A torn last line (interrupted append) is ignored.
    writeFileSync(join(out, 'manifest.jsonl'), `${readFileSync(join(out, 'manifest.jsonl'), 'utf8')}{"sample":"case2_`);
    const r = await exportDataset({ images: images(), labels: labels(), pipeline: { json: SMALL_PIPELINE }, perSubject: 2, seed: 9, out, workers: 2 });
    expect(r).toMatchObject({ written: 2, skipped: 4 });
    const after = snapshot(out);
    for (const [k, v] of before) expect(v.equals(after.get(k)!), k).toBe(true);
    expect(statSync(join(out, 'images', 'case2_0001.nii.gz')).mtimeMs).toBe(mtime);
    expect(readdirSync(join(out, 'images')).filter((f) => f.includes('tmp'))).toEqual([]);
  }, 60_000);

  it('refuses to resume with other settings, a bad pipeline key, and images without label maps', async () => {
    await expect(exportDataset({ images: images(), labels: labels(), pipeline: { json: SMALL_PIPELINE }, perSubject: 2, seed: 10, out: join(root, 'out-w1'), workers: 0 })).rejects.toThrow(/other settings/);
    await expect(
      exportDataset({ images: images(), labels: labels(), pipeline: { json: [{ type: 'RandomGamma', gama: 1 }] }, perSubject: 1, seed: 1, out: join(root, 'bad'), workers: 0 }),
    ).rejects.toThrow(/pipeline\[0\]\.gama/);
    writeFileSync(join(images(), 'extra.nii'), readFileSync(join(images(), 'case0.nii.gz')));
    try {
      await expect(pairSubjectFiles(images(), labels())).rejects.toThrow(/no label map .* extra\.nii/);
    } finally {
      unlinkSync(join(images(), 'extra.nii'));
    }
  });

  it('runs the MR preset with label → image synthesis in a pipeline in this thread (workers 0) like in workers', async () => {
    const json = { transforms: [{ type: 'RandomLabelToImage', image: 'image', style: 'mr' }, { type: 'RandomAffine' }] };
    const a = join(root, 'synth0');
    const b = join(root, 'synth1');
    await exportDataset({ images: images(), labels: labels(), pipeline: { json }, perSubject: 1, seed: 3, out: a, workers: 0 });
    await exportDataset({ images: images(), labels: labels(), pipeline: { json }, perSubject: 1, seed: 3, out: b, workers: 1 });
    const s1 = snapshot(a);
    const s2 = snapshot(b);
    for (const [k, v] of s1) expect(v.equals(s2.get(k)!), k).toBe(true);
    expect(manifest(a)[0].history.image.map((h) => h.op).slice(-2)).toEqual(['LabelToImage', 'Affine']);
  }, 60_000);
});
