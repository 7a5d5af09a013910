/**
 * ComBat harmonisation of feature tables (Johnson, Li & Rabinovic, Biostatistics 2007; for imaging
 * features Fortin et al., NeuroImage 2017/2018 — the neuroCombat equations), with an optional
 * reference batch and biological covariates kept.
 *
 * Model, for feature g of subject j at site i:  y_ijg = α_g + x_ijᵀβ_g + γ_ig + δ_ig·ε_ijg.
 *
 * Fit (training subjects), per feature g:
 * 1. Design X = [site indicators | covariates] (numeric as given, categorical one-hot without its
 *    first level); B̂ = (XᵀX)⁻¹XᵀY.
 * 2. Grand mean α̂_g = Σ_i (n_i/n)·B̂_ig (with a reference site r: B̂_rg);
 *    pooled variance σ̂²_g = mean over subjects of (y − XB̂)² (with r: over r's subjects only).
 * 3. Standardise: z_ijg = (y_ijg − α̂_g − x_ijᵀβ̂_g)/σ̂_g.
 * 4. Site effects γ̂_ig = mean of z over site i; δ̂²_ig = its variance (n − 1).
 * 5. Empirical Bayes (parametric priors): γ_ig ~ N(γ̄_i, τ̄²_i) with γ̄_i, τ̄²_i the mean and
 *    (n − 1) variance of γ̂_i· over features; δ²_ig ~ InverseGamma(λ̄_i, θ̄_i) by the method of
 *    moments on δ̂²_i· (mean V̄, variance S̄²): λ̄ = (V̄² + 2S̄²)/S̄², θ̄ = (V̄³ + V̄S̄²)/S̄².
 *    Posterior means, iterated from γ* = γ̂, δ²* = δ̂² until every relative change ≤ `convergence`:
 *      γ*_ig = (n_i τ̄²_i γ̂_ig + δ²*_ig γ̄_i)/(n_i τ̄²_i + δ²*_ig)
 *      δ²*_ig = (θ̄_i + ½ Σ_j (z_ijg − γ*_ig)²)/(n_i/2 + λ̄_i − 1)
 *    (without empirical Bayes, γ* = γ̂ and δ²* = δ̂²). The reference site keeps γ* = 0, δ²* = 1.
 * Adjust: y*_ijg = σ̂_g·(z_ijg − γ*_ig)/δ*_ig + α̂_g + x_ijᵀβ̂_g.
 *
 * The fitted α̂, β̂, σ̂², γ*, δ²* are the model; applying it to new subjects of known sites uses them
 * unchanged (no refit, so held-out subjects never leak into the estimates), and applying it to the
 * training subjects reproduces the fit's output.
 */
import { VERSION } from '../cli/version.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import type { CovariateColumn, FeatureTable } from './feature-table.ts';
import { validateFeatureTable } from './feature-table.ts';
import { HARMONIZER_FORMAT, HARMONIZER_MODEL_VERSION } from './model.ts';
import type { CombatModel } from './model.ts';
import { checkSiteName } from './sites.ts';

export type CovariateSpec = { name: string; type: 'numeric' } | { name: string; type: 'categorical'; levels: string[] };

export interface CombatParameters {
  features: string[];
  /** Sites in the order of the per-site rows below (sorted by name). */
  batches: string[];
  referenceBatch: string | null;
  empiricalBayes: boolean;
  covariates: CovariateSpec[];
  /** α̂ per feature. */
  grandMean: number[];
  /** β̂: one row per design column of the covariates (categorical: one per level after the first), per feature. */
  beta: number[][];
  /** σ̂² per feature. */
  varPooled: number[];
  /** Per site (batches order), per feature. */
  gammaHat: number[][];
  deltaHat: number[][];
  gammaStar: number[][];
  deltaStar: number[][];
  /** Per site: the priors γ̄, τ̄², λ̄, θ̄ and the iterations the EB loop took (null without EB). */
  priors: ({ gammaBar: number; tau2: number; aPrior: number; bPrior: number; iterations: number } | null)[];
  convergence: number;
}

export interface CombatOptions {
  /** A site whose data stay unchanged and define the target (neuroCombat's ref_batch). */
  reference?: string;
  /** Covariate columns of the table to preserve; default all of them. */
  covariates?: readonly string[];
  /** Default true (parametric priors); false = location/scale per site without shrinkage. */
  empiricalBayes?: boolean;
  /** Relative change at which the EB iteration stops (neuroCombat: 1e-4). */
  convergence?: number;
}

export interface CombatFit {
  model: CombatModel;
  /** The training table, harmonised. */
  adjusted: FeatureTable;
}

const MAX_EB_ITERATIONS = 10_000;

function invalid(message: string, param: string, details?: Record<string, unknown>): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', message, { param, ...(details ? { details } : {}) });
}

function mean(a: readonly number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

/** Sample variance (n − 1). */
function variance1(a: readonly number[]): number {
  const m = mean(a);
  let s = 0;
  for (const v of a) s += (v - m) ** 2;
  return s / (a.length - 1);
}

/** Solves A·X = B (A k×k, B k×m) by Gaussian elimination with partial pivoting; null when A is singular. */
function solve(A: number[][], B: number[][]): number[][] | null {
  const k = A.length;
  const a = A.map((r) => [...r]);
  const b = B.map((r) => [...r]);
  let scale = 0;
  for (let i = 0; i < k; i++) scale = Math.max(scale, Math.abs(a[i][i]));
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
    if (!(Math.abs(a[piv][c]) > 1e-10 * scale)) return null;
    [a[c], a[piv]] = [a[piv], a[c]];
    [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < k; r++) {
      const f = a[r][c] / a[c][c];
      if (f === 0) continue;
      for (let q = c; q < k; q++) a[r][q] -= f * a[c][q];
      for (let q = 0; q < b[r].length; q++) b[r][q] -= f * b[c][q];
    }
  }
  for (let c = k - 1; c >= 0; c--) {
    for (let q = 0; q < b[c].length; q++) {
      let s = b[c][q];
      for (let r = c + 1; r < k; r++) s -= a[c][r] * b[r][q];
      b[c][q] = s / a[c][c];
    }
  }
  return b;
}

function covariateSpecs(table: FeatureTable, names: readonly string[]): CovariateSpec[] {
  return names.map((name) => {
    const col = table.covariates[name];
    if (col === undefined) {
      throw invalid(`covariate ${JSON.stringify(name)} is not in the table (it has ${Object.keys(table.covariates).join(', ') || 'no covariates'})`, 'covariates', { name });
    }
    if (col.every((v) => typeof v === 'number')) return { name, type: 'numeric' as const };
    const levels = [...new Set(col as string[])].sort();
    return { name, type: 'categorical' as const, levels };
  });
}

/** The covariate part of the design row of subject i. */
function covariateRow(specs: readonly CovariateSpec[], covariates: Record<string, CovariateColumn>, i: number, subject: string): number[] {
  const row: number[] = [];
  for (const s of specs) {
    const col = covariates[s.name];
    if (col === undefined) throw invalid(`the table lacks covariate ${JSON.stringify(s.name)}, which the model was fitted with`, 'covariates', { name: s.name });
    const v = col[i];
    if (s.type === 'numeric') {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`covariate ${s.name} of subject ${subject} must be a number (as in the fit), got ${JSON.stringify(v)}`, 'covariates');
      row.push(v);
    } else {
      const value = String(v);
      const k = s.levels.indexOf(value);
      if (k < 0) {
        throw invalid(`covariate ${s.name} of subject ${subject} is ${JSON.stringify(value)}, a level the model never saw (levels: ${s.levels.join(', ')})`, 'covariates', {
          name: s.name,
          value,
        });
      }
      for (let l = 1; l < s.levels.length; l++) row.push(k === l ? 1 : 0);
    }
  }
  return row;
}

/** The table's columns in the model's feature order (extra columns are ignored; a missing one is an error). */
function featureColumns(table: FeatureTable, features: readonly string[]): number[] {
  return features.map((f) => {
    const k = table.features.indexOf(f);
    if (k < 0) throw invalid(`the table lacks feature ${JSON.stringify(f)}, which the model was fitted with`, 'table', { feature: f });
    return k;
  });
}

/** Fits ComBat on a training table and returns the model and the harmonised training table. */
export function fitCombat(table: FeatureTable, options: CombatOptions = {}): CombatFit {
  validateFeatureTable(table);
  const n = table.subjects.length;
  const p = table.features.length;
  const eb = options.empiricalBayes ?? true;
  const convergence = options.convergence ?? 1e-4;
  if (!(convergence > 0 && convergence < 1)) throw invalid(`convergence must be in (0, 1), got ${convergence}`, 'convergence');
  const batches = [...new Set(table.sites)].sort();
  for (const b of batches) checkSiteName(b, 'site');
  if (batches.length < 2) throw invalid(`ComBat needs subjects from at least 2 sites, got only ${batches[0]}`, 'table', { sites: batches });
  const ref = options.reference ?? null;
  if (ref !== null && !batches.includes(ref)) throw invalid(`reference site ${JSON.stringify(ref)} has no subjects in the table (sites: ${batches.join(', ')})`, 'reference');
  const members = batches.map((b) => table.sites.flatMap((s, i) => (s === b ? [i] : [])));
  members.forEach((m, bi) => {
    if (m.length < 2) {
      throw invalid(`site ${batches[bi]} has ${m.length} subject; ComBat needs at least 2 per site to estimate its variance`, 'table', {
        site: batches[bi],
        subjects: m.length,
      });
    }
  });
  if (eb && p < 2) throw invalid('empirical Bayes pools the site effects over features and needs at least 2 features; pass empiricalBayes: false for one feature', 'table');
  for (let g = 0; g < p; g++) {
    const v0 = table.values[0][g];
    if (table.values.every((r) => r[g] === v0)) {
      throw invalid(`feature ${table.features[g]} is constant (${v0}) across all subjects; remove it before ComBat`, 'table', { feature: table.features[g] });
    }
    members.forEach((m, bi) => {
      const w0 = table.values[m[0]][g];
      if (m.every((i) => table.values[i][g] === w0)) {
        throw invalid(`feature ${table.features[g]} is constant (${w0}) within site ${batches[bi]}; its site variance would be 0`, 'table', {
          feature: table.features[g],
          site: batches[bi],
        });
      }
    });
  }

  const specs = covariateSpecs(table, options.covariates ?? Object.keys(table.covariates));
  const B = batches.length;
  const batchOf = table.sites.map((s) => batches.indexOf(s));
  const design = table.subjects.map((subj, i) => [...batches.map((_, b) => (batchOf[i] === b ? 1 : 0)), ...covariateRow(specs, table.covariates, i, subj)]);
  const k = design[0].length;
  // Normal equations XᵀX B̂ = XᵀY.
  const xtx = Array.from({ length: k }, (_, r) => Array.from({ length: k }, (_, c) => design.reduce((s, row) => s + row[r] * row[c], 0)));
  const xty = Array.from({ length: k }, (_, r) => Array.from({ length: p }, (_, g) => design.reduce((s, row, i) => s + row[r] * table.values[i][g], 0)));
  const bHat = solve(xtx, xty);
  if (bHat === null) {
    throw invalid(
      `the design matrix is singular: the covariates (${specs.map((s) => s.name).join(', ')}) are constant or confounded with site, so site and biology cannot be separated`,
      'covariates',
    );
  }
  const refIndex = ref === null ? -1 : batches.indexOf(ref);
  const grandMean = Array.from({ length: p }, (_, g) => (refIndex >= 0 ? bHat[refIndex][g] : members.reduce((s, m, b) => s + (m.length / n) * bHat[b][g], 0)));
  const beta = bHat.slice(B);
  const fitted = (i: number, g: number): number => design[i].reduce((s, x, c) => s + x * bHat[c][g], 0);
  const poolRows = refIndex >= 0 ? members[refIndex] : table.subjects.map((_, i) => i);
  const varPooled = Array.from({ length: p }, (_, g) => poolRows.reduce((s, i) => s + (table.values[i][g] - fitted(i, g)) ** 2, 0) / poolRows.length);
  varPooled.forEach((v, g) => {
    if (!(v > 0)) throw invalid(`feature ${table.features[g]} has no residual variance after the covariates; ComBat cannot scale it`, 'table', { feature: table.features[g] });
  });
  const standMean = (row: readonly number[], g: number): number => grandMean[g] + beta.reduce((s, bRow, c) => s + row[B + c] * bRow[g], 0);
  const z = table.values.map((r, i) => r.map((y, g) => (y - standMean(design[i], g)) / Math.sqrt(varPooled[g])));

  const gammaHat = members.map((m) => Array.from({ length: p }, (_, g) => mean(m.map((i) => z[i][g]))));
  const deltaHat = members.map((m) => Array.from({ length: p }, (_, g) => variance1(m.map((i) => z[i][g]))));
  const gammaStar: number[][] = [];
  const deltaStar: number[][] = [];
  const priors: CombatParameters['priors'] = [];
  members.forEach((m, b) => {
    if (!eb) {
      gammaStar.push([...gammaHat[b]]);
      deltaStar.push([...deltaHat[b]]);
      priors.push(null);
      return;
    }
    const gammaBar = mean(gammaHat[b]);
    const tau2 = variance1(gammaHat[b]);
    const vBar = mean(deltaHat[b]);
    const s2 = variance1(deltaHat[b]);
    if (!(tau2 > 0) || !(s2 > 0)) {
      throw invalid(`site ${batches[b]}: the site effects are identical across features, so the empirical Bayes priors are undefined; use empiricalBayes: false`, 'table', {
        site: batches[b],
      });
    }
    const aPrior = (2 * s2 + vBar * vBar) / s2;
    const bPrior = (vBar * s2 + vBar ** 3) / s2;
    const nb = m.length;
    let gOld = [...gammaHat[b]];
    let dOld = [...deltaHat[b]];
    let iterations = 0;
    for (;;) {
      const gNew = gOld.map((_, g) => (tau2 * nb * gammaHat[b][g] + dOld[g] * gammaBar) / (tau2 * nb + dOld[g]));
      const dNew = gNew.map((gn, g) => {
        let sum2 = 0;
        for (const i of m) sum2 += (z[i][g] - gn) ** 2;
        return (0.5 * sum2 + bPrior) / (nb / 2 + aPrior - 1);
      });
      let change = 0;
      for (let g = 0; g < p; g++) {
        change = Math.max(change, Math.abs(gNew[g] - gOld[g]) / Math.abs(gOld[g]), Math.abs(dNew[g] - dOld[g]) / Math.abs(dOld[g]));
      }
      gOld = gNew;
      dOld = dNew;
      iterations++;
      if (!(change > convergence)) break;
      if (iterations >= MAX_EB_ITERATIONS) {
        throw new VoxshiftError('INTERNAL', `ComBat's empirical Bayes iteration for site ${batches[b]} did not converge in ${MAX_EB_ITERATIONS} iterations`, { param: 'convergence' });
      }
    }
    gammaStar.push(gOld);
    deltaStar.push(dOld);
    priors.push({ gammaBar, tau2, aPrior, bPrior, iterations });
  });
  if (refIndex >= 0) {
    gammaStar[refIndex] = new Array<number>(p).fill(0);
    deltaStar[refIndex] = new Array<number>(p).fill(1);
  }
  const subjects: Record<string, number> = {};
  batches.forEach((b, i) => (subjects[b] = members[i].length));
  const model: CombatModel = {
    format: HARMONIZER_FORMAT,
    version: HARMONIZER_MODEL_VERSION,
    method: 'combat',
    // Without a reference site the target is the pooled grand mean; `reference` then names the
    // largest site only so every model has one (referenceBatch says which case it is).
    reference: ref ?? batches[members.reduce((best, m, b) => (m.length > members[best].length ? b : best), 0)],
    sites: batches,
    subjects,
    voxshift: VERSION,
    parameters: {
      features: [...table.features],
      batches,
      referenceBatch: ref,
      empiricalBayes: eb,
      covariates: specs,
      grandMean,
      beta,
      varPooled,
      gammaHat,
      deltaHat,
      gammaStar,
      deltaStar,
      priors,
      convergence,
    },
  };
  return { model, adjusted: applyCombat(model, table) };
}

/**
 * Harmonises a table with a fitted model (no refitting): each subject's site must be one the model
 * was fitted on, with the same covariates and features (extra feature columns are dropped). The
 * reference site's subjects are returned unchanged.
 */
export function applyCombat(model: CombatModel, table: FeatureTable): FeatureTable {
  validateCombatParameters(model.parameters);
  validateFeatureTable(table);
  const P = model.parameters;
  const cols = featureColumns(table, P.features);
  const values = table.values.map((row, i) => {
    const site = table.sites[i];
    const b = P.batches.indexOf(site);
    if (b < 0) {
      throw invalid(`subject ${table.subjects[i]} is from site ${JSON.stringify(site)}, which the ComBat model was not fitted on (sites: ${P.batches.join(', ')}); refit with that site's subjects`, 'table', {
        subject: table.subjects[i],
        site,
      });
    }
    const y = cols.map((k) => row[k]);
    if (P.referenceBatch === site) return y;
    const cov = covariateRow(P.covariates, table.covariates, i, table.subjects[i]);
    return y.map((v, g) => {
      const stand = P.grandMean[g] + P.beta.reduce((s, bRow, c) => s + cov[c] * bRow[g], 0);
      const sd = Math.sqrt(P.varPooled[g]);
      const zz = (v - stand) / sd;
      return (sd * (zz - P.gammaStar[b][g])) / Math.sqrt(P.deltaStar[b][g]) + stand;
    });
  });
  return { subjects: [...table.subjects], sites: [...table.sites], features: [...P.features], values, covariates: { ...table.covariates } };
}

/** Checks a ComBat parameter block (e.g. from a loaded model file). */
export function validateCombatParameters(p: CombatParameters, file?: string): CombatParameters {
  const fail = (field: string, what: string): never => {
    throw new VoxshiftError('INVALID_ARGUMENT', `harmonizer model parameters.${field} must be ${what}`, { param: `parameters.${field}`, ...(file !== undefined ? { file } : {}) });
  };
  const isNums = (a: unknown, len: number, ok: (x: number) => boolean = Number.isFinite): boolean =>
    Array.isArray(a) && a.length === len && a.every((x) => typeof x === 'number' && ok(x));
  if (!Array.isArray(p.features) || p.features.length === 0 || !p.features.every((f) => typeof f === 'string')) fail('features', 'a non-empty array of names');
  if (!Array.isArray(p.batches) || p.batches.length < 2 || !p.batches.every((b) => typeof b === 'string')) fail('batches', 'an array of at least 2 site names');
  if (p.referenceBatch !== null && !p.batches.includes(p.referenceBatch)) fail('referenceBatch', 'null or one of the batches');
  if (typeof p.empiricalBayes !== 'boolean') fail('empiricalBayes', 'true or false');
  if (!Array.isArray(p.covariates)) fail('covariates', 'an array');
  let columns = 0;
  for (const c of p.covariates) {
    if (c.type === 'numeric') columns++;
    else if (c.type === 'categorical' && Array.isArray(c.levels) && c.levels.length >= 1) columns += c.levels.length - 1;
    else fail('covariates', 'numeric or categorical (with levels) covariates');
  }
  const nf = p.features.length;
  if (!isNums(p.grandMean, nf)) fail('grandMean', `${nf} finite numbers`);
  if (!isNums(p.varPooled, nf, (x) => x > 0)) fail('varPooled', `${nf} positive numbers`);
  if (!Array.isArray(p.beta) || p.beta.length !== columns || !p.beta.every((r) => isNums(r, nf))) fail('beta', `${columns} rows of ${nf} numbers`);
  for (const key of ['gammaStar', 'deltaStar'] as const) {
    const rows = p[key];
    const ok = key === 'deltaStar' ? (x: number) => x > 0 : Number.isFinite;
    if (!Array.isArray(rows) || rows.length !== p.batches.length || !rows.every((r) => isNums(r, nf, ok))) fail(key, `${p.batches.length} rows of ${nf} ${key === 'deltaStar' ? 'positive ' : ''}numbers`);
  }
  return p;
}
