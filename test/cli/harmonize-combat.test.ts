/**
 * `voxshift harmonize fit --method combat --table ... --site-column ...` and `harmonize apply
 * --model ... --table ... --out ...`: a CSV round trip with a custom site column and covariates
 * gives exactly the library's applyCombat, and a one-subject site, a constant feature and a missing
 * column are refused with exit code 2 and a message naming the problem.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { applyCombat } from '../../harmonize/combat.ts';
import { parseFeatureCsv } from '../../harmonize/feature-table.ts';
import { loadHarmonizerModel } from '../../harmonize/model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-combat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 3 scanners × 6 subjects; each scanner shifts and scales the features, age adds a real effect. */
function csv(rows: number, opts: { constant?: boolean; oneSubjectSite?: boolean } = {}): string {
  const lines = ['id,scanner,age,sex,wm_mean,gm_mean,csf_ml'];
  const shift: Record<string, number> = { A: 0, B: 40, C: -25 };
  const scale: Record<string, number> = { A: 1, B: 1.6, C: 0.7 };
  let k = 0;
  for (const site of ['A', 'B', 'C']) {
    const n = opts.oneSubjectSite && site === 'C' ? 1 : rows;
    for (let i = 0; i < n; i++, k++) {
      const age = 30 + ((k * 7) % 40);
      const wobble = Math.sin(k * 1.7);
      const wm = 100 + shift[site] + scale[site] * (5 * wobble + 0.3 * age);
      const gm = opts.constant ? 70 : 70 + shift[site] / 2 + scale[site] * (3 * Math.cos(k * 2.3) - 0.1 * age);
      lines.push(`s${k},${site},${age},${k % 2 ? 'F' : 'M'},${wm},${gm},${200 + 10 * Math.sin(k)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const columns = ['--site-column', 'scanner', '--subject-column', 'id'];
const covs = ['--covariates', 'age,sex'];

describe('voxshift harmonize fit/apply --method combat --table', () => {
  it('round-trips a CSV with a custom site column and covariates, as the library does', async () => {
    writeFileSync(join(tmp, 'train.csv'), csv(6));
    const model = join(tmp, 'combat.json');
    const fit = await run(['harmonize', 'fit', '--method', 'combat', '--table', join(tmp, 'train.csv'), ...columns, '--covariates', 'age,sex', '--reference', 'A', '--out', model]);
    expect(fit.err).toBe('');
    expect(fit.code).toBe(0);
    expect(fit.out).toMatch(/fitted combat on 18 subjects \(A, B, C\), 3 features/);
    const out = join(tmp, 'out.csv');
    const apply = await run(['harmonize', 'apply', '--model', model, '--table', join(tmp, 'train.csv'), '--out', out, ...columns]);
    expect(apply.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')[0]).toBe('id,scanner,age,sex,wm_mean,gm_mean,csf_ml');
    const got = parseFeatureCsv(text, ['age', 'sex'], undefined, { site: 'scanner', subject: 'id' });
    const input = parseFeatureCsv(csv(6), ['age', 'sex'], undefined, { site: 'scanner', subject: 'id' });
    const m = await loadHarmonizerModel(model);
    if (m.method !== 'combat') throw new Error('not a combat model');
    expect(got.values).toEqual(applyCombat(m, input).values);
    // the reference site is left as it was; the others move
    got.values.forEach((row, i) => {
      if (input.sites[i] === 'A') row.forEach((v, j) => expect(v).toBeCloseTo(input.values[i][j], 9));
    });
    expect(got.values.some((row, i) => input.sites[i] === 'B' && Math.abs(row[0] - input.values[i][0]) > 10)).toBe(true);
    // site means of wm_mean agree far better after than before
    const spread = (rows: number[][]): number => {
      const means = ['A', 'B', 'C'].map((s) => {
        const v = rows.filter((_, i) => input.sites[i] === s).map((r) => r[0]);
        return v.reduce((a, b) => a + b, 0) / v.length;
      });
      return Math.max(...means) - Math.min(...means);
    };
    expect(spread(got.values)).toBeLessThan(0.2 * spread(input.values));
  });

  it('refuses a one-subject site, a constant feature and a missing column', async () => {
    writeFileSync(join(tmp, 'one.csv'), csv(6, { oneSubjectSite: true }));
    const one = await run(['harmonize', 'fit', '--method', 'combat', '--table', join(tmp, 'one.csv'), ...columns, ...covs, '--out', join(tmp, 'one.json')]);
    expect(one.code).toBe(2);
    expect(one.err).toMatch(/site C has 1 subject; ComBat needs at least 2 per site/);
    expect(existsSync(join(tmp, 'one.json'))).toBe(false);
    writeFileSync(join(tmp, 'const.csv'), csv(6, { constant: true }));
    const constant = await run(['harmonize', 'fit', '--method', 'combat', '--table', join(tmp, 'const.csv'), ...columns, ...covs, '--out', join(tmp, 'c.json')]);
    expect(constant.code).toBe(2);
    expect(constant.err).toMatch(/feature gm_mean is constant/);
    const missing = await run(['harmonize', 'fit', '--method', 'combat', '--table', join(tmp, 'train.csv'), '--out', join(tmp, 'm.json')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/the CSV has no "subject" column \(columns: id, scanner/);
    const cov = await run(['harmonize', 'fit', '--method', 'combat', '--table', join(tmp, 'train.csv'), ...columns, '--covariates', 'height', '--out', join(tmp, 'm.json')]);
    expect(cov.code).toBe(2);
    expect(cov.err).toMatch(/no "height" column/);
    const noTable = await run(['harmonize', 'fit', '--method', 'combat', '--out', join(tmp, 'm.json')]);
    expect(noTable.code).toBe(2);
    expect(noTable.err).toMatch(/--table is required with --method combat/);
    const noOut = await run(['harmonize', 'apply', '--model', join(tmp, 'combat.json'), '--table', join(tmp, 'train.csv')]);
    expect(noOut.code).toBe(2);
    expect(noOut.err).toMatch(/--out is missing/);
  });
});
