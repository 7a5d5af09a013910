/**
 * Exports with a Translate step (the shipped MR → CT Pix2Pix) across processes and threads: one killed
 * with SIGKILL mid-run (a child process that kills itself once the first sample is reported, while the
 * other worker may be writing) is completed by a rerun — the uninterrupted export bit for bit, the
 * killed run's temporaries gone; and on runtime tfjs each worker thread starts its own tfjs backend,
 * with the same bytes for 1 and 2 workers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset } from '../../../augment/export/export-dataset.ts';
import { shippedModelDir } from '../../../models3d/shipped-models.ts';
import { writeNifti } from '../../../volumes/nifti/write-nifti.ts';
import { phantom } from '../subjects.ts';

const root = mkdtempSync(join(tmpdir(), 'voxshift-export-gan-kill-'));
const images = join(root, 'images');
const labels = join(root, 'labels');
const json = { name: 'tr', transforms: [{ type: 'RandomAffine', rotationDeg: [-10, 10] }, { type: 'Translate', model: shippedModelDir('phantom-mr2ct-pix2pix-2d') }] };

beforeAll(async () => {
  mkdirSync(images);
  mkdirSync(labels);
  for (const [i, seed] of [5, 6].entries()) {
    const p = phantom(seed, [32, 32, 12], i === 1);
    await writeNifti(p.t1, join(images, `case${i}.nii.gz`));
    await writeNifti(p.labels, join(labels, `case${i}.nii.gz`));
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function snapshot(out: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const d of ['images', 'labels']) for (const f of readdirSync(join(out, d))) m.set(`${d}/${f}`, readFileSync(join(out, d, f)));
  m.set('manifest.jsonl', readFileSync(join(out, 'manifest.jsonl')));
  return m;
}

describe('exportDataset with a GAN step, interrupted', () => {
  it('a process killed (SIGKILL) mid-export is completed by a rerun, bit for bit the uninterrupted run', async () => {
    const options = { images, labels, pipeline: { json }, perSubject: 2, seed: 11 };
    await exportDataset({ ...options, out: join(root, 'whole'), workers: 0 });
    const out = join(root, 'killed');
    const helper = join(dirname(fileURLToPath(import.meta.url)), 'interrupted-export.ts');
    const child = spawnSync(process.execPath, ['--import', 'tsx', helper, JSON.stringify({ ...options, out, workers: 2, killAfter: 1 })], { encoding: 'utf8', timeout: 60_000 });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    // The kill comes as the first record is reported: its pair is on disk, its manifest line may not be.
    expect(readdirSync(join(out, 'images')).filter((f) => f.endsWith('.nii.gz')).length).toBeGreaterThanOrEqual(1);
    const path = join(out, 'manifest.jsonl');
    const made = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')).length : 0;
    expect(made).toBeLessThan(4);
    // What a worker killed mid-write leaves (pid 999999999 does not exist): removed on resume.
    writeFileSync(join(out, 'labels', 'case1_0001.nii.gz.999999999.1700000000000.tmp'), 'half');
    const r = await exportDataset({ ...options, out, workers: 2 });
    expect(r).toMatchObject({ samples: 4, written: 4 - made, skipped: made });
    for (const d of ['images', 'labels']) expect(readdirSync(join(out, d)).filter((f) => !f.endsWith('.nii.gz'))).toEqual([]);
    const a = snapshot(join(root, 'whole'));
    const b = snapshot(out);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(v.equals(b.get(k)!), k).toBe(true);
  }, 60_000);

  it('runtime tfjs: each worker starts its own tfjs backend; same bytes for 1 and 2 workers', async () => {
    const tfjs = { transforms: [json.transforms[0], { ...json.transforms[1], runtime: 'tfjs' }] };
    const options = { images, labels, pipeline: { json: tfjs }, perSubject: 1, seed: 11 };
    await exportDataset({ ...options, out: join(root, 'tfjs-w1'), workers: 1 });
    await exportDataset({ ...options, out: join(root, 'tfjs-w2'), workers: 2 });
    const a = snapshot(join(root, 'tfjs-w1'));
    const b = snapshot(join(root, 'tfjs-w2'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(v.equals(b.get(k)!), k).toBe(true);
    const settings = JSON.parse(readFileSync(join(root, 'tfjs-w1', 'augment.json'), 'utf8')) as { models: { runtime: string }[] };
    expect(settings.models[0].runtime).toBe('tfjs');
  }, 60_000);
});
