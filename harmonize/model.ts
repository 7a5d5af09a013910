/**
 * The saved form of a fitted harmonizer: one versioned JSON document naming the method, the
 * reference site, the sites and subject counts it was fitted on and the method's parameters.
 * Loading checks every field, so a model that was edited by hand or written by a newer voxshift
 * fails with an error naming the field, not later with NaN voxels.
 *
 * ```json
 * { "format": "voxshift-harmonizer", "version": 1, "method": "nyul", "reference": "siteA",
 *   "sites": ["siteA"], "subjects": { "siteA": 8 }, "modality": "MR", "mask": { "type": "body" },
 *   "voxshift": "0.1.0", "parameters": { "percentiles": [1, 10, ...], "standard": [...] } }
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VoxshiftError } from '../volumes/errors.ts';
import type { Modality } from '../volumes/volume.ts';
import { validateCombatParameters, type CombatParameters } from './combat.ts';
import { resolveBiasCorrection, type BiasCorrectionSpec } from './bias-correct.ts';
import type { MaskSpec } from './foreground.ts';

export const HARMONIZER_FORMAT = 'voxshift-harmonizer';
/** The version of a model that uses no later feature; bumped when a saved model's meaning changes. */
export const HARMONIZER_MODEL_VERSION = 1;
/**
 * Models with `biasCorrection` are written as version 2, so an older voxshift refuses them instead of
 * applying the method without the correction; models without it stay version 1.
 */
export const BIAS_CORRECTION_MODEL_VERSION = 2;
/** The newest version this voxshift reads; older readers refuse newer models. */
export const HARMONIZER_MAX_VERSION = BIAS_CORRECTION_MODEL_VERSION;

export type IntensityMethod = 'zscore' | 'whitestripe' | 'nyul' | 'histmatch' | 'cyclegan';
export type HarmonizeMethod = IntensityMethod | 'combat';
export const INTENSITY_METHODS: readonly IntensityMethod[] = ['zscore', 'whitestripe', 'nyul', 'histmatch', 'cyclegan'];
export const HARMONIZE_METHODS: readonly HarmonizeMethod[] = [...INTENSITY_METHODS, 'combat'];

export interface ZScoreParameters {
  /** The reference site's foreground mean and standard deviation (means over its subjects). */
  mean: number;
  std: number;
}

export interface WhiteStripeParameters {
  /** Which histogram peak is white matter: the tallest ('largest') or the brightest ('last') of the tall ones. */
  peak: 'largest' | 'last';
  /** Peaks are searched among the foreground voxels above this percentile. */
  voiPercentile: number;
  /** Half-width of the stripe in quantiles around the peak (Shinohara et al.: 0.05). */
  width: number;
  bins: number;
  /** Gaussian smoothing of the histogram, σ in bins. */
  smoothing: number;
  /** Peaks lower than this fraction of the tallest are ignored. */
  rarePeak: number;
  /** The reference site's white-stripe mean and standard deviation (means over its subjects). */
  mean: number;
  std: number;
}

export interface NyulParameters {
  /** Landmark percentiles, ascending; the first and last bound the standardised range. */
  percentiles: number[];
  /** The standard scale: the landmarks' positions, learned on the reference site. */
  standard: number[];
}

export interface HistMatchParameters {
  /** Percentile levels, ascending. */
  percentiles: number[];
  /** The reference site's pooled foreground quantiles at those levels. */
  quantiles: number[];
}

export interface CycleGanParameters {
  /** Source site → translation checkpoint folder (site → reference), relative to the model file. */
  models: Record<string, string>;
  spatialDims: 2 | 3;
}

interface Common {
  format: typeof HARMONIZER_FORMAT;
  version: number;
  /** The site every other site is mapped onto. */
  reference: string;
  /** The sites seen when fitting, reference included. */
  sites: string[];
  /** Subjects per site used in the fit. */
  subjects: Record<string, number>;
  /** The voxshift version that fitted the model. */
  voxshift: string;
}

interface IntensityCommon extends Common {
  modality: Modality;
  mask: MaskSpec;
  /** Bias-field correction (bias-correct.ts) run on every image before the method, at fit and apply (version ≥ 2). */
  biasCorrection?: BiasCorrectionSpec;
}

export type ZScoreModel = IntensityCommon & { method: 'zscore'; parameters: ZScoreParameters };
export type WhiteStripeModel = IntensityCommon & { method: 'whitestripe'; parameters: WhiteStripeParameters };
export type NyulModel = IntensityCommon & { method: 'nyul'; parameters: NyulParameters };
export type HistMatchModel = IntensityCommon & { method: 'histmatch'; parameters: HistMatchParameters };
export type CycleGanModel = IntensityCommon & { method: 'cyclegan'; parameters: CycleGanParameters };
export type CombatModel = Common & { method: 'combat'; parameters: CombatParameters };

export type IntensityModel = ZScoreModel | WhiteStripeModel | NyulModel | HistMatchModel | CycleGanModel;
export type HarmonizerModel = IntensityModel | CombatModel;

function fail(field: string, expected: string, received: unknown, file?: string): never {
  const shown = JSON.stringify(received);
  throw new VoxshiftError('INVALID_ARGUMENT', `harmonizer model ${field} must be ${expected}, got ${shown === undefined ? 'nothing' : shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}`, {
    param: field,
    ...(file !== undefined ? { file } : {}),
  });
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function numbers(field: string, v: unknown, file: string | undefined, opts: { min?: number; ascending?: 'strict' | 'weak' } = {}): number[] {
  if (!Array.isArray(v) || v.length < (opts.min ?? 1) || !v.every(finite)) fail(field, `an array of at least ${opts.min ?? 1} finite numbers`, v, file);
  const a = v as number[];
  if (opts.ascending) {
    for (let i = 1; i < a.length; i++) {
      if (opts.ascending === 'strict' ? !(a[i] > a[i - 1]) : !(a[i] >= a[i - 1])) fail(field, `${opts.ascending === 'strict' ? 'strictly ' : ''}ascending`, v, file);
    }
  }
  return a;
}

function num(field: string, v: unknown, file: string | undefined, ok: (x: number) => boolean, what: string): number {
  if (!finite(v) || !ok(v)) fail(field, what, v, file);
  return v;
}

function checkPercentiles(field: string, v: unknown, file: string | undefined): number[] {
  const p = numbers(field, v, file, { min: 2, ascending: 'strict' });
  if (!(p[0] >= 0 && p[p.length - 1] <= 100)) fail(field, 'percentiles in [0, 100]', v, file);
  return p;
}

/** Checks the method's parameters (throws naming the field). */
function checkParameters(method: HarmonizeMethod, p: unknown, file: string | undefined): void {
  if (!isObj(p)) fail('parameters', 'an object', p, file);
  const pos = (x: number): boolean => x > 0;
  switch (method) {
    case 'zscore':
      num('parameters.mean', p.mean, file, () => true, 'a finite number');
      num('parameters.std', p.std, file, pos, 'a positive number');
      return;
    case 'whitestripe':
      if (p.peak !== 'largest' && p.peak !== 'last') fail('parameters.peak', "'largest' or 'last'", p.peak, file);
      num('parameters.voiPercentile', p.voiPercentile, file, (x) => x >= 0 && x < 100, 'a number in [0, 100)');
      num('parameters.width', p.width, file, (x) => x > 0 && x <= 0.5, 'a number in (0, 0.5]');
      num('parameters.bins', p.bins, file, (x) => Number.isInteger(x) && x >= 16, 'an integer ≥ 16');
      num('parameters.smoothing', p.smoothing, file, (x) => x >= 0, 'a number ≥ 0');
      num('parameters.rarePeak', p.rarePeak, file, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
      num('parameters.mean', p.mean, file, () => true, 'a finite number');
      num('parameters.std', p.std, file, pos, 'a positive number');
      return;
    case 'nyul': {
      const pc = checkPercentiles('parameters.percentiles', p.percentiles, file);
      const s = numbers('parameters.standard', p.standard, file, { min: 2, ascending: 'strict' });
      if (s.length !== pc.length) fail('parameters.standard', `${pc.length} landmarks (one per percentile)`, p.standard, file);
      return;
    }
    case 'histmatch': {
      const pc = checkPercentiles('parameters.percentiles', p.percentiles, file);
      const q = numbers('parameters.quantiles', p.quantiles, file, { min: 2, ascending: 'weak' });
      if (q.length !== pc.length) fail('parameters.quantiles', `${pc.length} quantiles (one per percentile)`, p.quantiles, file);
      if (!(q[q.length - 1] > q[0])) fail('parameters.quantiles', 'not all equal', p.quantiles, file);
      return;
    }
    case 'cyclegan': {
      if (!isObj(p.models) || Object.keys(p.models).length === 0 || !Object.values(p.models).every((d) => typeof d === 'string' && d.length > 0)) {
        fail('parameters.models', 'an object of source site → checkpoint folder', p.models, file);
      }
      if (p.spatialDims !== 2 && p.spatialDims !== 3) fail('parameters.spatialDims', '2 or 3', p.spatialDims, file);
      return;
    }
    case 'combat':
      validateCombatParameters(p as unknown as CombatParameters, file);
      return;
  }
}

/** Validates a parsed JSON value as a harmonizer model (`file` names it in errors). */
export function validateHarmonizerModel(value: unknown, file?: string): HarmonizerModel {
  if (!isObj(value)) fail('(root)', 'a JSON object', value, file);
  if (value.format !== HARMONIZER_FORMAT) fail('format', `"${HARMONIZER_FORMAT}"`, value.format, file);
  if (!(Number.isInteger(value.version) && (value.version as number) >= 1)) fail('version', 'a positive integer', value.version, file);
  if ((value.version as number) > HARMONIZER_MAX_VERSION) {
    throw new VoxshiftError(
      'INCOMPATIBLE_CHECKPOINT',
      `harmonizer model version ${String(value.version)} is newer than this voxshift reads (${HARMONIZER_MAX_VERSION}); upgrade voxshift`,
      { param: 'version', ...(file !== undefined ? { file } : {}) },
    );
  }
  const method = value.method as HarmonizeMethod;
  if (!HARMONIZE_METHODS.includes(method)) fail('method', `one of ${HARMONIZE_METHODS.join(', ')}`, value.method, file);
  if (typeof value.reference !== 'string' || value.reference.length === 0) fail('reference', 'a site name', value.reference, file);
  if (!Array.isArray(value.sites) || value.sites.length === 0 || !value.sites.every((s) => typeof s === 'string' && s.length > 0)) {
    fail('sites', 'a non-empty array of site names', value.sites, file);
  }
  if (!(value.sites as string[]).includes(value.reference)) fail('sites', `a list including the reference site "${value.reference}"`, value.sites, file);
  if (!isObj(value.subjects) || !Object.values(value.subjects).every((n) => Number.isInteger(n) && (n as number) >= 1)) {
    fail('subjects', 'an object of site → subject count', value.subjects, file);
  }
  if (typeof value.voxshift !== 'string') fail('voxshift', 'a version string', value.voxshift, file);
  if (method !== 'combat') {
    if (typeof value.modality !== 'string') fail('modality', 'a modality code (MR, CT, ...)', value.modality, file);
    if (!isObj(value.mask) || value.mask.type !== 'body') fail('mask', '{ "type": "body" }', value.mask, file);
  }
  if (value.biasCorrection !== undefined) {
    if (method === 'combat' || method === 'cyclegan') fail('biasCorrection', 'absent: only zscore, whitestripe, nyul and histmatch models take a bias-correction step', value.biasCorrection, file);
    if ((value.version as number) < BIAS_CORRECTION_MODEL_VERSION) fail('version', `${BIAS_CORRECTION_MODEL_VERSION} or more when biasCorrection is set`, value.version, file);
    if (!isObj(value.biasCorrection)) fail('biasCorrection', 'an object of bias-correction settings', value.biasCorrection, file);
    try {
      const spec = resolveBiasCorrection(value.biasCorrection as Partial<BiasCorrectionSpec>, 'harmonizer model biasCorrection');
      const missing = Object.keys(spec).filter((k) => !(k in (value.biasCorrection as Obj)));
      if (missing.length > 0) fail('biasCorrection', `complete (missing ${missing.join(', ')})`, value.biasCorrection, file);
    } catch (e) {
      if (e instanceof VoxshiftError && file !== undefined) throw new VoxshiftError(e.shortCode, e.message, { ...(e.param !== undefined ? { param: e.param } : {}), file, cause: e });
      throw e;
    }
  }
  checkParameters(method, value.parameters, file);
  return value as unknown as HarmonizerModel;
}

/** A short stable id of a model (sha-256 of its JSON, 16 hex digits), recorded in volume histories. */
export function modelDigest(model: HarmonizerModel): string {
  return createHash('sha256').update(JSON.stringify(model)).digest('hex').slice(0, 16);
}

/** Writes the model as JSON (atomically: a temporary file renamed over the target). */
export async function saveHarmonizerModel(model: HarmonizerModel, path: string): Promise<void> {
  validateHarmonizerModel(model, path);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(model, null, 2)}\n`);
  await rename(tmp, path);
}

/** Reads and validates a model written by saveHarmonizerModel. */
export async function loadHarmonizerModel(path: string): Promise<HarmonizerModel> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new VoxshiftError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read the harmonizer model (${code ?? String(e)})`, { file: path, cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new VoxshiftError('MALFORMED_HEADER', `the harmonizer model is not valid JSON: ${(e as Error).message}`, { file: path, cause: e });
  }
  return validateHarmonizerModel(parsed, path);
}
