import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { writeNifti } from '../../volumes/nifti/write-nifti.ts';
import { phantom } from '../augment/subjects.ts';

let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'voxshift-cli-augment-'));
  for (const d of ['images', 'labels', 'lonely']) mkdirSync(join(tmp, d));
  const p = phantom(5, [16, 16, 8]);
  await writeNifti(p.t1, join(tmp, 'images', 'a.nii.gz'));
  await writeNifti(p.labels, join(tmp, 'labels', 'a.nii.gz'));
  await writeNifti(p.t1, join(tmp, 'lonely', 'b.nii.gz'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('voxshift augment', () => {
  it('writes the pairs and manifest with a preset', async () => {
    const out = join(tmp, 'out');
    const r = await run(['augment', '--images', join(tmp, 'images'), '--labels', join(tmp, 'labels'), '--preset', 'mr', '--per-subject', '2', '--seed', '4', '--out', out, '--workers', '1']);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote 2 augmented pairs \(0 already there\) for 1 subjects/);
    expect(readdirSync(join(out, 'images')).sort()).toEqual(['a_0000.nii.gz', 'a_0001.nii.gz']);
    const lines = readFileSync(join(out, 'manifest.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]).pipeline).toBe('preset:mr');
    const again = await run(['augment', '--images', join(tmp, 'images'), '--labels', join(tmp, 'labels'), '--preset', 'mr', '--per-subject', '2', '--seed', '4', '--out', out, '--workers', '1']);
    expect(again.out).toMatch(/wrote 0 augmented pairs \(2 already there\)/);
  }, 60_000);

  it('names the image without a label map, the bad pipeline key and the bad preset', async () => {
    const missing = await run(['augment', '--images', join(tmp, 'lonely'), '--labels', join(tmp, 'labels'), '--preset', 'ct', '--per-subject', '1', '--out', join(tmp, 'x')]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/no label map .*b\.nii\.gz/);
    const p = join(tmp, 'bad.json');
    writeFileSync(p, JSON.stringify({ transforms: [{ type: 'RandomAffine', rotationDeg: 'x' }] }));
    const bad = await run(['augment', '--images', join(tmp, 'images'), '--labels', join(tmp, 'labels'), '--pipeline', p, '--per-subject', '1', '--out', join(tmp, 'y')]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/pipeline\[0\]\.rotationDeg/);
    const preset = await run(['augment', '--images', join(tmp, 'images'), '--labels', join(tmp, 'labels'), '--preset', 'pet', '--per-subject', '1', '--out', join(tmp, 'z')]);
    expect(preset.err).toMatch(/--preset must be one of ct, mr, got "pet"/);
    const both = await run(['augment', '--images', join(tmp, 'images'), '--labels', join(tmp, 'labels'), '--per-subject', '1', '--out', join(tmp, 'z')]);
    expect(both.err).toMatch(/exactly one of --pipeline/);
  });
});
