/**
 * `voxshift validate` in-process: exit 1 and a failing report for a phantom MR/CT pair with a bone
 * fragment painted into the CT, 0 for an untouched pair (NIfTI files: modality found from the
 * values), a TotalSegmentator label map on a real CT whose right kidney the "synthetic" CT turned to
 * air (flagged structure, exit 1), and exit 2 with a message naming the parameter or files for bad
 * input (mismatched grids, missing/unknown options, bad thresholds, missing files, bad segmenter).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { createVolume, deriveVolume } from '../../volumes/volume.ts';
import type { ValidationReport } from '../../validation/report/index.ts';
import { hasSharedData, sharedPath } from '../helpers/shared-data.ts';
import { runCli as run } from '../helpers/run-cli.ts';
import { phantomPair } from '../validation/report/phantom-pair.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-validate-'));
const f = (name: string): string => join(tmp, name);

beforeAll(async () => {
  const pair = phantomPair();
  await writeVolume(pair.source, f('t1.nii.gz'));
  await writeVolume(pair.clean, f('ct.nii.gz'));
  await writeVolume(pair.injected, f('sct-fragment.nii.gz'));
  const other = createVolume({ data: new Float32Array(20 * 20 * 20), shape: [20, 20, 20], spacing: [2, 2, 2] });
  await writeVolume(other, f('small.nii.gz'));
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const report = (dir: string): ValidationReport => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));

describe('voxshift validate', () => {
  it('exits 1 on a hallucinated fragment and writes the report', async () => {
    const dir = f('report-bad');
    const { code, out, err } = await run(['validate', '--source', f('t1.nii.gz'), '--synthetic', f('sct-fragment.nii.gz'), '--report', dir]);
    expect(err).toMatch(/source: the file states no modality; taken as MR/);
    expect(err).toMatch(/synthetic: the file states no modality; taken as CT in HU/);
    expect(out).toMatch(/^verdict: FAIL/);
    expect(out).toMatch(/findings: \d+ \(1 hallucinated/);
    expect(out).toContain(join(dir, 'report.html'));
    expect(code).toBe(1);
    const r = report(dir);
    expect(r.verdict).toBe('fail');
    expect(r.inputs.source.file).toBe(f('t1.nii.gz'));
    expect(r.notes.some((n) => n.includes('taken as MR'))).toBe(true);
    expect(r.findings.some((x) => x.type === 'hallucinated' && x.image !== null)).toBe(true);
  }, 30_000);

  it('exits 0 on an untouched pair (the phantom CT against itself)', async () => {
    const dir = f('report-good');
    const { code, out, err } = await run(['validate', '--source', f('ct.nii.gz'), '--synthetic', f('ct.nii.gz'), '--report', dir, '--min-volume', '200']);
    expect(err).toMatch(/source: the file states no modality; taken as CT in HU/);
    expect(out).toMatch(/^verdict: PASS/);
    expect(out).toMatch(/findings: 0/);
    expect(code).toBe(0);
    expect(report(dir).verdict).toBe('pass');
  }, 30_000);

  it.runIf(hasSharedData())('flags a labelled kidney that the synthetic CT shows as air (real CT, TotalSegmentator labels)', async () => {
    const ctPath = sharedPath('nifti', 'ct', 'totalseg_example_ct_sm.nii.gz');
    const labelsPath = sharedPath('labels', 'totalseg_example_seg.nii.gz');
    const ct = await readVolume(ctPath);
    const labels = await readVolume(labelsPath, { kind: 'label' });
    const data = Float32Array.from(ct.data, (v, p) => (labels.data[p] === 2 ? -900 : v));
    await writeVolume(deriveVolume<Float32Array>(ct, { data }), f('ct-dark-kidney.nii.gz'));
    writeFileSync(f('names.json'), JSON.stringify({ 1: 'spleen', 2: 'kidney_right', 3: 'kidney_left', 5: 'liver' }));
    const dir = f('report-kidney');
    const { code, out, err } = await run([
      'validate', '--source', ctPath, '--synthetic', f('ct-dark-kidney.nii.gz'), '--labels', labelsPath, '--label-names', f('names.json'), '--report', dir,
    ]);
    expect(err).toMatch(/source: the file states no modality; taken as CT in HU/);
    expect(out).toMatch(/flagged 1/);
    expect(out).toMatch(/kidney_right \(label 2\): 100 % of its tissue changed class/);
    expect(code).toBe(1);
    const r = report(dir);
    const kidney = r.labels?.find((s) => s.label === 2);
    expect(kidney).toMatchObject({ name: 'kidney_right', flagged: true, dominant: { source: 'soft', synthetic: 'dark' } });
    expect(kidney?.meanSynthetic).toBe(-900);
    expect(kidney?.compositionChange).toBeGreaterThan(0.9);
    expect(r.labels?.filter((s) => s.flagged).map((s) => s.label)).toEqual([2]);
    const liver = r.labels?.find((s) => s.label === 5);
    expect(liver?.meanSynthetic).toBeGreaterThan(0);
    expect(liver?.meanSynthetic).toBeLessThan(150);
    // the same images without the change pass, with the reference's metrics
    const again = await run(['validate', '--source', ctPath, '--synthetic', ctPath, '--reference', ctPath, '--labels', labelsPath, '--report', f('report-same')]);
    expect(again.out).toMatch(/MAE 0\.0 HU.*PSNR ∞ dB/);
    expect(again.code).toBe(0);
  }, 30_000);

  it('exits 2 naming both files when the grids differ', async () => {
    const { code, err } = await run(['validate', '--source', f('t1.nii.gz'), '--synthetic', f('small.nii.gz'), '--report', f('r-grid')]);
    expect(code).toBe(2);
    expect(err).toMatch(/VOXSHIFT_E_GEOMETRY_MISMATCH/);
    expect(err).toContain(f('small.nii.gz'));
    expect(err).toContain(f('t1.nii.gz'));
    const labels = await run(['validate', '--source', f('t1.nii.gz'), '--synthetic', f('ct.nii.gz'), '--labels', f('small.nii.gz'), '--report', f('r-grid')]);
    expect(labels.code).toBe(2);
    expect(labels.err).toMatch(/--labels .*small\.nii\.gz.* is not on the grid of --source/);
  });

  it('exits 2 on bad input, never 1', async () => {
    const base = ['validate', '--source', f('t1.nii.gz'), '--synthetic', f('ct.nii.gz'), '--report', f('r-bad')];
    const cases: [string[], RegExp][] = [
      [['validate', '--source', f('t1.nii.gz'), '--synthetic', f('ct.nii.gz')], /--report is required/],
      [['validate', '--synthetic', f('ct.nii.gz'), '--report', f('r')], /--source is required/],
      [[...base, '--no-such-option'], /unknown option/],
      [[...base, '--min-volume', 'lots'], /--min-volume must be a number ≥ 0, got "lots"/],
      [[...base, '--tolerance', '9'], /--tolerance must be an integer in 0\.\.5/],
      [[...base, '--connectivity', '8'], /--connectivity must be 6, 18 or 26/],
      [[...base, '--max-composition-change', '2'], /--max-composition-change must be a number in \[0, 1\]/],
      [[...base, '--max-mae', '50'], /--max-mae needs --reference/],
      [[...base, '--max-images', '-1'], /--max-images must be an integer ≥ 0/],
      [[...base, '--label-names', f('names.json')], /--label-names needs --labels/],
      [[...base, '--segmenter', 'neural'], /--segmenter must be auto, ct, mr or a learned segmenter checkpoint folder/],
      [[...base, '--segmenter', tmp], /VOXSHIFT_E_/],
      [['validate', '--source', f('missing.nii.gz'), '--synthetic', f('ct.nii.gz'), '--report', f('r')], /VOXSHIFT_E_FILE_NOT_FOUND.*missing\.nii\.gz/],
      [['validate', '--source', f('t1.nii.gz'), '--synthetic', f('ct.nii.gz'), '--report', f('t1.nii.gz')], /--report must be a folder/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await run(args);
      expect(err, args.join(' ')).toMatch(message);
      expect(code, args.join(' ')).toBe(2);
    }
  }, 30_000);
});
