/**
 * `voxshift harmonize report --site NAME=DIR ... --labels NAME=DIR ...` on plain folders (not the
 * built-in cohort): label maps paired with images by file name, tissue features over the labels
 * present in every subject, Dice of validation's MR segmenter against the labels through
 * --truth-classes; mismatched label folders and bad class lists are refused with exit code 2.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { phantomSiteCohort } from '../../harmonize/phantom-sites.ts';
import { writeVolume } from '../../volumes/io.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-harmonize-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sites = ['siteA', 'siteB', 'siteC'];

beforeAll(async () => {
  for (const s of phantomSiteCohort({ subjects: 3, seed: 4, shape: [48, 48, 32] })) {
    for (const [kind, vol] of [['img', s.image], ['lab', s.labels]] as const) {
      const dir = join(tmp, kind, s.site);
      mkdirSync(dir, { recursive: true });
      await writeVolume(vol, join(dir, `${s.subjectId}.nii.gz`));
    }
  }
}, 60_000);

const siteArgs = sites.flatMap((s) => ['--site', `${s}=${join(tmp, 'img', s)}`]);
const labelArgs = sites.flatMap((s) => ['--labels', `${s}=${join(tmp, 'lab', s)}`]);
const truth = '1=dark,2=fat,3=soft,4=soft,5=soft,6=fluid,7=dark,8=soft,9=fluid';

describe('voxshift harmonize report on folders with --labels', () => {
  it('measures tissue features and Dice against the labels', async () => {
    const out = join(tmp, 'report');
    const r = await run(['harmonize', 'report', ...siteArgs, ...labelArgs, '--truth-classes', truth, '--reference', 'siteA', '--train', '1', '--methods', 'zscore', '--learned-anatomy-steps', '2', '--backend', 'wasm', '--threads', '1', '--out', out]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.subjects.test).toEqual({ siteA: 2, siteB: 2, siteC: 2 });
    const [original, zscore] = json.rows;
    expect(json.rows).toHaveLength(2);
    expect(original.accuracy.tissue.accuracy).toBeGreaterThan(0.5);
    for (const f of ['histogram', 'tissue-ratio', 'noise', 'sharpness', 'bias', 'texture', 'non-targeted']) expect(original.accuracy[f].repeats).toBe(5);
    expect(Object.keys(original.diceVsTruth.perClass)).toEqual(['dark', 'fat', 'soft']);
    expect(original.diceVsTruth.mean).toBeGreaterThan(0.5);
    expect(zscore.diceVsOriginal.mean).toBeGreaterThan(0.999);
    // --labels with --truth-classes: the reference-site U-Net is trained on siteA's one training subject
    expect(json.learnedSegmenter).toMatchObject({ steps: 2, subjects: ['siteA-0'] });
    expect(Object.keys(original.learnedDiceVsTruth.perClass)).toEqual(['dark', 'fat', 'soft']);
    // no threshold segmenter for arbitrary labels
    expect(original.referenceSegmenterDice).toBeUndefined();
    expect(r.out).toMatch(/site-classifier accuracy by feature family/);
  });

  it('refuses label folders that do not match the sites and bad class lists', async () => {
    const out = join(tmp, 'bad');
    const missing = await run(['harmonize', 'report', ...siteArgs, '--labels', `siteA=${join(tmp, 'lab', 'siteA')}`, '--reference', 'siteA', '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--labels must name the same sites as --site \(missing: siteB, siteC/);
    const swapped = await run(['harmonize', 'report', ...siteArgs, ...labelArgs.slice(0, 4), '--labels', `siteC=${join(tmp, 'lab', 'siteA')}`, '--labels', `siteC=${join(tmp, 'lab', 'siteB')}`, '--reference', 'siteA', '--out', out]);
    expect(swapped.code).toBe(2);
    expect(swapped.err).toMatch(/for site siteC holds 6 label maps for 3 images/);
    const cls = await run(['harmonize', 'report', ...siteArgs, ...labelArgs, '--truth-classes', '2=bone', '--reference', 'siteA', '--out', out]);
    expect(cls.code).toBe(2);
    expect(cls.err).toMatch(/--truth-classes must be ID=CLASS pairs with CLASS dark, fat, soft or fluid, got "2=bone"/);
    const noLabels = await run(['harmonize', 'report', ...siteArgs, '--truth-classes', truth, '--reference', 'siteA', '--out', out]);
    expect(noLabels.code).toBe(2);
    expect(noLabels.err).toMatch(/--truth-classes needs --labels/);
    const ref = await run(['harmonize', 'report', ...siteArgs, '--reference', 'siteZ', '--out', out]);
    expect(ref.code).toBe(2);
    expect(ref.err).toMatch(/--reference must be one of the --site names/);
  });
});
