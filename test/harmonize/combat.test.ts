/**
 * ComBat against the numpy reference of the published equations (bench/combat_reference.py, output
 * committed in test/fixtures/reference/combat-reference.json) within 1e-4, and its contract: apply on
 * new subjects without refitting, reference site unchanged, covariates kept, clear errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyCombat, fitCombat, type CombatOptions } from '../../harmonize/combat.ts';
import type { FeatureTable } from '../../harmonize/feature-table.ts';
import { selectRows } from '../../harmonize/feature-table.ts';
import { validateHarmonizerModel } from '../../harmonize/model.ts';
import { FIXTURES } from '../helpers/shared-data.ts';

interface ReferenceCase {
  covariates: string[];
  reference: string | null;
  empiricalBayes: boolean;
  batches: string[];
  grandMean: number[];
  varPooled: number[];
  gammaHat: number[][];
  deltaHat: number[][];
  gammaStar: number[][];
  deltaStar: number[][];
  iterations: number[];
  train: number[][];
  heldOut: number[][];
}

const input = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'combat-input.json'), 'utf8')) as { train: FeatureTable; heldOut: FeatureTable };
const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'combat-reference.json'), 'utf8')) as { cases: Record<string, ReferenceCase> };

function maxDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j]))));
  });
  return d;
}

function optionsOf(c: ReferenceCase): CombatOptions {
  return { covariates: c.covariates, empiricalBayes: c.empiricalBayes, ...(c.reference !== null ? { reference: c.reference } : {}) };
}

function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('ComBat vs the numpy reference (bench/combat_reference.py)', () => {
  it('has the reference cases', () => {
    expect(Object.keys(reference.cases).sort()).toEqual(['eb-covariates', 'eb-reference', 'location-scale']);
  });
  describe.each(Object.entries(reference.cases))('%s', (_name, c) => {
    const fit = fitCombat(input.train, optionsOf(c));
    const p = fit.model.parameters;
    it('estimates the same parameters within 1e-4', () => {
      expect(p.batches).toEqual(c.batches);
      expect(maxDiff([p.grandMean], [c.grandMean])).toBeLessThan(1e-4);
      // varPooled in feature units²: compare relative to scale.
      p.varPooled.forEach((v, g) => expect(Math.abs(v - c.varPooled[g]) / c.varPooled[g]).toBeLessThan(1e-4));
      expect(maxDiff(p.gammaHat, c.gammaHat)).toBeLessThan(1e-4);
      expect(maxDiff(p.deltaHat, c.deltaHat)).toBeLessThan(1e-4);
      expect(maxDiff(p.gammaStar, c.gammaStar)).toBeLessThan(1e-4);
      expect(maxDiff(p.deltaStar, c.deltaStar)).toBeLessThan(1e-4);
      if (c.empiricalBayes) expect(p.priors.map((x) => x?.iterations)).toEqual(c.iterations);
    });
    it('harmonises the training and the held-out subjects to the same numbers within 1e-4', () => {
      expect(maxDiff(fit.adjusted.values, c.train)).toBeLessThan(1e-4);
      expect(maxDiff(applyCombat(fit.model, input.heldOut).values, c.heldOut)).toBeLessThan(1e-4);
    });
  });
});

describe('ComBat contract', () => {
  const fit = fitCombat(input.train, { covariates: ['headMl', 'group'] });

  it('applying the model to the training subjects reproduces the fit', () => {
    expect(applyCombat(fit.model, input.train).values).toEqual(fit.adjusted.values);
  });

  it('applies to new subjects without refitting: one at a time equals all at once, and the model is not changed', () => {
    const before = JSON.stringify(fit.model);
    const all = applyCombat(fit.model, input.heldOut);
    for (let i = 0; i < input.heldOut.subjects.length; i++) {
      expect(applyCombat(fit.model, selectRows(input.heldOut, [i])).values[0]).toEqual(all.values[i]);
    }
    expect(JSON.stringify(fit.model)).toBe(before);
  });

  it('leaves the reference site unchanged and moves the other sites towards it', () => {
    const ref = fitCombat(input.train, { covariates: ['headMl', 'group'], reference: 'siteA' });
    const out = applyCombat(ref.model, input.heldOut);
    input.heldOut.sites.forEach((s, i) => {
      if (s === 'siteA') expect(out.values[i]).toEqual(input.heldOut.values[i]);
    });
    const wm = input.train.features.indexOf('wm_mean');
    const siteMean = (t: FeatureTable, site: string): number => {
      const v = t.values.filter((_, i) => t.sites[i] === site).map((r) => r[wm]);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const gapBefore = Math.abs(siteMean(input.train, 'siteB') - siteMean(input.train, 'siteA'));
    const gapAfter = Math.abs(siteMean(ref.adjusted, 'siteB') - siteMean(ref.adjusted, 'siteA'));
    expect(gapAfter).toBeLessThan(0.05 * gapBefore);
  });

  it('keeps the biological covariate effect (patients −4 % white-matter intensity)', () => {
    const ref = fitCombat(input.train, { covariates: ['headMl', 'group'], reference: 'siteA' });
    const wm = input.train.features.indexOf('wm_mean');
    const groups = input.train.covariates.group as string[];
    const ratio = (t: FeatureTable): number => {
      const m = (g: string): number => {
        const v = t.values.filter((_, i) => groups[i] === g).map((r) => r[wm]);
        return v.reduce((a, b) => a + b, 0) / v.length;
      };
      return m('patient') / m('control');
    };
    // After harmonisation all sites share siteA's scale, where the effect is 0.96 by construction.
    expect(ratio(ref.adjusted)).toBeGreaterThan(0.94);
    expect(ratio(ref.adjusted)).toBeLessThan(0.98);
    // Without the covariate the group effect is (partly) removed as noise instead: a different fit.
    const noCov = fitCombat(input.train, { reference: 'siteA', covariates: [] });
    expect(noCov.adjusted.values).not.toEqual(ref.adjusted.values);
  });

  it('saves as a valid harmonizer model that reloads', () => {
    const json = JSON.parse(JSON.stringify(fit.model));
    const back = validateHarmonizerModel(json);
    expect(applyCombat(back as typeof fit.model, input.heldOut).values).toEqual(applyCombat(fit.model, input.heldOut).values);
    json.parameters.deltaStar[0][0] = -1;
    expect(() => validateHarmonizerModel(json, 'm.json')).toThrow(/parameters\.deltaStar must be/);
  });

  it('refuses a site with one subject, naming it', () => {
    const rows = input.train.sites.flatMap((s, i) => (s !== 'siteC' || i === input.train.sites.indexOf('siteC') ? [i] : []));
    expect(errorMessage(() => fitCombat(selectRows(input.train, rows)))).toMatch(/site siteC has 1 subject; ComBat needs at least 2 per site/);
  });

  it('refuses constant features (overall and within a site) and too few sites', () => {
    const t = selectRows(input.train, input.train.subjects.map((_, i) => i));
    t.values.forEach((r) => (r[3] = 42));
    expect(errorMessage(() => fitCombat(t))).toMatch(/feature wm_mean is constant \(42\) across all subjects/);
    const u = selectRows(input.train, input.train.subjects.map((_, i) => i));
    u.values.forEach((r, i) => (r[0] = u.sites[i] === 'siteB' ? 7 : r[0]));
    expect(errorMessage(() => fitCombat(u))).toMatch(/feature fat_mean is constant \(7\) within site siteB/);
    const one = selectRows(input.train, input.train.sites.flatMap((s, i) => (s === 'siteA' ? [i] : [])));
    expect(errorMessage(() => fitCombat(one))).toMatch(/at least 2 sites/);
  });

  it('refuses unknown sites, unseen levels, missing features and confounded covariates', () => {
    const other = selectRows(input.heldOut, [0]);
    other.sites[0] = 'siteZ';
    expect(errorMessage(() => applyCombat(fit.model, other))).toMatch(/site "siteZ", which the ComBat model was not fitted on/);
    const level = selectRows(input.heldOut, [0]);
    (level.covariates.group as string[])[0] = 'unknown';
    expect(errorMessage(() => applyCombat(fit.model, level))).toMatch(/covariate group .* "unknown", a level the model never saw/);
    const missing = selectRows(input.heldOut, [0]);
    missing.features = missing.features.map((f) => (f === 'gm_ml' ? 'gm_volume' : f));
    expect(errorMessage(() => applyCombat(fit.model, missing))).toMatch(/lacks feature "gm_ml"/);
    const confounded = selectRows(input.train, input.train.subjects.map((_, i) => i));
    confounded.covariates = { scanner: confounded.sites.map((s) => (s === 'siteA' ? 1 : 0)) };
    expect(errorMessage(() => fitCombat(confounded))).toMatch(/design matrix is singular/);
    expect(errorMessage(() => fitCombat(input.train, { covariates: ['age'] }))).toMatch(/covariate "age" is not in the table/);
    expect(errorMessage(() => fitCombat(input.train, { reference: 'siteQ' }))).toMatch(/reference site "siteQ" has no subjects/);
  });
});
