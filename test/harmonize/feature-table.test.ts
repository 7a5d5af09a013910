import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatFeatureCsv, parseFeatureCsv, readFeatureCsv, selectRows, validateFeatureTable, writeFeatureCsv, type FeatureTable } from '../../harmonize/feature-table.ts';
import { regionFeatures } from '../../harmonize/region-features.ts';
import { createVolume } from '../../volumes/volume.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-features-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TABLE: FeatureTable = {
  subjects: ['s1', 's,2', 's"3'],
  sites: ['a', 'b', 'a'],
  features: ['wm_mean', 'gm_ml'],
  values: [
    [1.5, 0.1 + 0.2],
    [-2e-7, 1e21],
    [3, 4],
  ],
  covariates: { age: [30, 41.5, 50], sex: ['F', 'M', 'F'] },
};

describe('feature tables', () => {
  it('round-trip through CSV exactly (quoting, number formats, covariate types)', async () => {
    const path = join(tmp, 't.csv');
    await writeFeatureCsv(TABLE, path);
    const back = await readFeatureCsv(path, ['age', 'sex']);
    expect(back).toEqual(TABLE);
    expect(formatFeatureCsv(TABLE).split('\n')[0]).toBe('subject,site,age,sex,wm_mean,gm_ml');
    expect(formatFeatureCsv(TABLE)).toContain('"s,2"');
    expect(formatFeatureCsv(TABLE)).toContain('"s""3"');
  });

  it('takes columns in any order; non-covariate columns are features', () => {
    const t = parseFeatureCsv('f1,site,subject,f2\n1,a,x,2\n3,b,y,4\n\n');
    expect(t).toEqual({ subjects: ['x', 'y'], sites: ['a', 'b'], features: ['f1', 'f2'], values: [[1, 2], [3, 4]], covariates: {} });
  });

  it('reports bad CSVs with the row and column', () => {
    expect(() => parseFeatureCsv('subject,site,f\nx,a,abc\n', [], 'bad.csv')).toThrow(/bad\.csv: CSV row 2, column f: "abc" is not a finite number/);
    expect(() => parseFeatureCsv('subject,f\nx,1\n')).toThrow(/no "site" column/);
    expect(() => parseFeatureCsv('subject,site,f\nx,a\n')).toThrow(/CSV row 2 has 2 fields, the header has 3/);
    expect(() => parseFeatureCsv('subject,site,f\nx,a,1\nx,b,2\n')).toThrow(/subject ids must be unique/);
    expect(() => parseFeatureCsv('subject,site\nx,a\n')).toThrow(/no feature columns/);
  });

  it('validates tables built in code', () => {
    expect(() => validateFeatureTable({ ...TABLE, values: [[1, 2], [3], [4, 5]] })).toThrow(/row 1 \(s,2\) has 1 values, expected 2/);
    expect(() => validateFeatureTable({ ...TABLE, values: [[1, NaN], [3, 4], [5, 6]] })).toThrow(/feature gm_ml of subject s1 is NaN/);
    expect(() => validateFeatureTable({ ...TABLE, covariates: { age: [1, 'x', 3] as unknown as number[] } })).toThrow(/mixes numbers and text/);
    expect(selectRows(TABLE, [2, 0]).subjects).toEqual(['s"3', 's1']);
  });
});

describe('regionFeatures', () => {
  it('gives the mean intensity and volume (ml) of each region', () => {
    const labels = createVolume({ data: Uint8Array.from([0, 1, 1, 2, 2, 2, 0, 0]), shape: [2, 2, 2], spacing: [10, 10, 5], kind: 'label' });
    const image = createVolume({ data: Float32Array.from([9, 1, 3, 10, 20, 30, 9, 9]), shape: [2, 2, 2], spacing: [10, 10, 5] });
    expect(regionFeatures(image, labels, { 1: 'a', 2: 'b' })).toEqual({ a_mean: 2, b_mean: 20, a_ml: 1, b_ml: 1.5 });
    expect(() => regionFeatures(image, labels, { 3: 'c' }, 'subj')).toThrow(/subj: region c \(label 3\) has no voxels/);
  });
});
