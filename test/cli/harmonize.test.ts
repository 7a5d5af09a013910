/**
 * `voxshift harmonize fit|apply|report` end to end, in-process: an image harmonizer fitted on site
 * folders and applied to a NIfTI file (same voxels as the library, same grid), ComBat on CSV tables
 * against the committed numpy reference, the phantom report, and exit code 2 with a clear message for
 * a one-subject site, mismatched modalities, an empty mask and bad arguments.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { formatFeatureCsv, parseFeatureCsv, type FeatureTable } from '../../harmonize/feature-table.ts';
import { applyHarmonizer } from '../../harmonize/harmonizer.ts';
import { loadHarmonizerModel } from '../../harmonize/model.ts';
import { phantomSiteCohort } from '../../harmonize/phantom-sites.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import { FIXTURES } from '../helpers/shared-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-harmonize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sites = ['siteA', 'siteB', 'siteC'];

beforeAll(async () => {
  const cohort = phantomSiteCohort({ subjects: 3, seed: 5, shape: [32, 32, 24] });
  for (const s of cohort) {
    const index = Number(s.subjectId.split('-').pop());
    const dir = join(tmp, index < 2 ? s.site : 'held-out');
    mkdirSync(dir, { recursive: true });
    await writeVolume(s.image, join(dir, `${s.subjectId}.nii.gz`));
  }
}, 60_000);

describe('voxshift harmonize fit / apply (images)', () => {
  it('fits nyul on site folders and applies it to a NIfTI file on its own grid', async () => {
    const model = join(tmp, 'nyul.json');
    const fit = await run(['harmonize', 'fit', '--method', 'nyul', ...sites.flatMap((s) => ['--site', `${s}=${join(tmp, s)}`]), '--reference', 'siteA', '--out', model]);
    expect(fit.err).not.toMatch(/error/);
    expect(fit.code).toBe(0);
    expect(fit.out).toMatch(/fitted nyul \(reference siteA; subjects siteA 2\)/);
    const m = await loadHarmonizerModel(model);
    expect(m).toMatchObject({ method: 'nyul', reference: 'siteA', subjects: { siteA: 2 } });
    const input = join(tmp, 'held-out', 'siteB-2.nii.gz');
    const output = join(tmp, 'siteB-2-harmonized.nii.gz');
    const apply = await run(['harmonize', 'apply', '--model', model, input, output]);
    expect(apply.code).toBe(0);
    expect(apply.out).toMatch(/harmonized 32×32×24 with nyul \(reference siteA\)/);
    const vin = await readVolume(input);
    const vout = await readVolume(output);
    expect(vout.shape).toEqual(vin.shape);
    expect(vout.spacing).toEqual(vin.spacing);
    expect(vout.origin).toEqual(vin.origin);
    expect(vout.direction).toEqual(vin.direction);
    expect(vout.data).toEqual((await applyHarmonizer(m, vin)).data);
    // Applying again gives the same file content.
    const again = join(tmp, 'again.nii.gz');
    expect((await run(['harmonize', 'apply', '--model', model, input, again])).code).toBe(0);
    expect((await readVolume(again)).data).toEqual(vout.data);
  });

  it('refuses an empty mask, mismatched modalities and bad arguments with exit code 2', async () => {
    const model = join(tmp, 'z.json');
    expect((await run(['harmonize', 'fit', '--method', 'zscore', '--site', `siteA=${join(tmp, 'siteA')}`, '--reference', 'siteA', '--out', model])).code).toBe(0);
    const input = join(tmp, 'held-out', 'siteC-2.nii.gz');
    const vin = await readVolume(input);
    const maskPath = join(tmp, 'empty-mask.nii.gz');
    await writeVolume(deriveVolume(vin, { data: new Uint8Array(vin.data.length), kind: 'label' }), maskPath);
    const empty = await run(['harmonize', 'apply', '--model', model, '--mask', maskPath, input, join(tmp, 'x.nii.gz')]);
    expect(empty.code).toBe(2);
    expect(empty.err).toMatch(/VOXSHIFT_E_INVALID_VOLUME: .*the foreground mask is empty/);

    // A CT and an MR series in one site.
    const p = generatePhantom({ region: 'head', seed: 3, shape: [24, 24, 12] });
    await writeVolume(p.t1, join(tmp, 'mr-series'));
    await writeVolume(p.ct, join(tmp, 'ct-series'));
    const mixed = await run(['harmonize', 'fit', '--method', 'histmatch', '--site', `siteA=${join(tmp, 'mr-series')}`, '--site', `siteA=${join(tmp, 'ct-series')}`, '--reference', 'siteA', '--out', join(tmp, 'mixed.json')]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/mismatched modalities: .* is MR but .* is CT/);
    // An MR model refuses a CT input.
    const mrModel = join(tmp, 'mr.json');
    expect((await run(['harmonize', 'fit', '--method', 'zscore', '--site', `siteA=${join(tmp, 'mr-series')}`, '--reference', 'siteA', '--out', mrModel])).code).toBe(0);
    const ct = await run(['harmonize', 'apply', '--model', mrModel, join(tmp, 'ct-series'), join(tmp, 'ct-h.nii.gz')]);
    expect(ct.code).toBe(2);
    expect(ct.err).toMatch(/is CT but the harmonizer was fitted on MR images/);

    const badMethod = await run(['harmonize', 'fit', '--method', 'magic', '--site', `siteA=${join(tmp, 'siteA')}`, '--reference', 'siteA', '--out', model]);
    expect(badMethod.code).toBe(2);
    expect(badMethod.err).toMatch(/--method must be one of zscore, whitestripe, nyul, histmatch, cyclegan, combat, got "magic"/);
    const badSite = await run(['harmonize', 'fit', '--method', 'nyul', '--site', 'siteA', '--reference', 'siteA', '--out', model]);
    expect(badSite.err).toMatch(/--site must be NAME=DIR, got "siteA"/);
    const noRef = await run(['harmonize', 'fit', '--method', 'nyul', '--site', `siteA=${join(tmp, 'siteA')}`, '--out', model]);
    expect(noRef.err).toMatch(/--reference is required/);
    const missing = await run(['harmonize', 'apply', '--model', join(tmp, 'nope.json'), input, join(tmp, 'y.nii.gz')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/VOXSHIFT_E_FILE_NOT_FOUND/);
  });
});

describe('voxshift harmonize fit / apply (combat on CSV)', () => {
  const input = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'combat-input.json'), 'utf8')) as { train: FeatureTable; heldOut: FeatureTable };
  const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'combat-reference.json'), 'utf8')) as { cases: Record<string, { heldOut: number[][] }> };

  it('matches the numpy reference through CSV files', async () => {
    writeFileSync(join(tmp, 'train.csv'), formatFeatureCsv(input.train));
    writeFileSync(join(tmp, 'held.csv'), formatFeatureCsv(input.heldOut));
    const model = join(tmp, 'combat.json');
    const fit = await run(['harmonize', 'fit', '--method', 'combat', '--features', join(tmp, 'train.csv'), '--covariates', 'headMl,group', '--reference', 'siteA', '--out', model]);
    expect(fit.code).toBe(0);
    expect(fit.out).toMatch(/fitted combat on 24 subjects \(siteA, siteB, siteC\), 12 features/);
    const apply = await run(['harmonize', 'apply', '--model', model, join(tmp, 'held.csv'), join(tmp, 'held-h.csv')]);
    expect(apply.code).toBe(0);
    const out = parseFeatureCsv(readFileSync(join(tmp, 'held-h.csv'), 'utf8'), ['headMl', 'group']);
    expect(out.subjects).toEqual(input.heldOut.subjects);
    const expected = reference.cases['eb-reference'].heldOut;
    out.values.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i][j])).toBeLessThan(1e-4)));
  });

  it('refuses a one-subject site', async () => {
    const keep = input.train.sites.map((s, i) => (s !== 'siteB' || i === input.train.sites.indexOf('siteB') ? i : -1)).filter((i) => i >= 0);
    const t: FeatureTable = {
      subjects: keep.map((i) => input.train.subjects[i]),
      sites: keep.map((i) => input.train.sites[i]),
      features: input.train.features,
      values: keep.map((i) => input.train.values[i]),
      covariates: {},
    };
    writeFileSync(join(tmp, 'one.csv'), formatFeatureCsv(t));
    const r = await run(['harmonize', 'fit', '--method', 'combat', '--features', join(tmp, 'one.csv'), '--out', join(tmp, 'c1.json')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/site siteB has 1 subject; ComBat needs at least 2 per site/);
    expect(existsSync(join(tmp, 'c1.json'))).toBe(false);
  });
});

describe('voxshift harmonize report', () => {
  it('runs on the built-in phantom sites and writes the table, JSON and histogram PNG', async () => {
    const out = join(tmp, 'report');
    const r = await run(['harmonize', 'report', '--phantom-sites', '--subjects', '4', '--train', '2', '--shape', '32,32,24', '--methods', 'zscore,nyul+n4,combat', '--learned-anatomy-steps', '3', '--backend', 'wasm', '--threads', '1', '--out', out]);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    for (const name of ['original', 'zscore', 'nyul+n4', 'combat (features)']) expect(r.out).toMatch(new RegExp(`\\n${name.replace(/[()+]/g, '\\$&')}\\s`));
    for (const f of ['report.json', 'report.txt', 'histograms.png']) expect(existsSync(join(out, f))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.rows.map((x: { method: string }) => x.method)).toEqual(['original', 'zscore', 'nyul+n4', 'combat']);
    // The reference-site U-Net column: trained for the 3 steps asked, Dice for every site.
    expect(r.out).toMatch(/U-Net vs truth/);
    expect(json.learnedSegmenter).toMatchObject({ steps: 3, subjects: ['siteA-0', 'siteA-1'] });
    expect(Object.keys(json.rows[1].learnedDiceVsTruth.perSite)).toEqual(['siteA', 'siteB', 'siteC']);
    const bad = await run(['harmonize', 'report', '--phantom-sites', '--subjects', '4', '--train', '3', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--train must leave at least 2 held-out subjects per site/);
  });
});

describe('voxshift harmonize fit --bias-correct', () => {
  it('records the bias-correction step in the model (version 2) and applies it; refuses it for cyclegan', async () => {
    const model = join(tmp, 'histmatch-n4.json');
    const fit = await run(['harmonize', 'fit', '--method', 'histmatch', '--bias-correct', '--site', `siteA=${join(tmp, 'siteA')}`, '--reference', 'siteA', '--out', model]);
    expect(fit.code).toBe(0);
    expect(fit.out).toMatch(/fitted histmatch with bias-field correction/);
    const m = await loadHarmonizerModel(model);
    expect(m).toMatchObject({ version: 2, method: 'histmatch', biasCorrection: { degree: 2 } });
    const output = join(tmp, 'siteB-2-n4.nii.gz');
    expect((await run(['harmonize', 'apply', '--model', model, join(tmp, 'held-out', 'siteB-2.nii.gz'), output])).code).toBe(0);
    expect((await readVolume(output)).data).toEqual((await applyHarmonizer(m, await readVolume(join(tmp, 'held-out', 'siteB-2.nii.gz')))).data);
    const bad = await run(['harmonize', 'fit', '--method', 'cyclegan', '--bias-correct', '--site', `siteA=${join(tmp, 'siteA')}`, '--reference', 'siteA', '--out', join(tmp, 'c.json')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--bias-correct is a pre-step of zscore, whitestripe, nyul and histmatch/);
  });
});
