/**
 * One entry point for every image harmonizer: `fitHarmonizer` (method + volumes grouped by site +
 * reference site → a JSON-serialisable model) and `openHarmonizer` / `applyHarmonizer` (model +
 * volume → volume on the same grid, in the reference site's intensity scale, with one more history
 * entry). ComBat works on feature tables instead (combat.ts).
 */
import { dirname, resolve } from 'node:path';
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';
import { correctBias, resolveBiasCorrection, type BiasCorrectionOptions, type BiasCorrectionSpec } from './bias-correct.ts';
import { fitCycleGan, openCycleGan, type CycleGanFitOptions } from './cyclegan.ts';
import { applyHistMatch, fitHistMatch, type HistMatchOptions } from './histmatch.ts';
import { BIAS_CORRECTION_MODEL_VERSION, INTENSITY_METHODS, loadHarmonizerModel, type HarmonizerModel, type IntensityMethod, type IntensityModel } from './model.ts';
import { applyNyul, fitNyul, type NyulOptions } from './nyul.ts';
import type { SiteSubject, SiteVolumes } from './sites.ts';
import { applyWhiteStripe, fitWhiteStripe, type WhiteStripeOptions } from './whitestripe.ts';
import { applyZScore, fitZScore } from './zscore.ts';

export interface FitHarmonizerOptions {
  method: IntensityMethod;
  sites: SiteVolumes;
  reference: string;
  whitestripe?: WhiteStripeOptions;
  nyul?: NyulOptions;
  histmatch?: HistMatchOptions;
  /** Required for 'cyclegan' (at least modelPath). */
  cyclegan?: CycleGanFitOptions;
  /**
   * Bias-field correction (bias-correct.ts) before the method, on every fit image and, recorded in
   * the model, on every image it is applied to; true for the defaults. Not for cyclegan.
   */
  biasCorrection?: boolean | BiasCorrectionOptions;
}

function isSiteSubject(x: Volume | SiteSubject): x is SiteSubject {
  return typeof x === 'object' && x !== null && 'volume' in x && !('data' in x);
}

/** The reference site's volumes bias-corrected (each with its own mask, when given); the classical methods fit on the reference only, so the other sites pass through. */
function correctReference(sites: SiteVolumes, reference: string, spec: BiasCorrectionSpec): SiteVolumes {
  if (typeof sites !== 'object' || sites === null) return sites;
  return Object.fromEntries(
    Object.entries(sites).map(([site, list]) => [
      site,
      site === reference && Array.isArray(list)
        ? list.map((item: Volume | SiteSubject) => {
            const s = isSiteSubject(item) ? item : { volume: item };
            return { ...s, volume: correctBias(s.volume, { ...spec, ...(s.mask !== undefined ? { mask: s.mask } : {}) }) };
          })
        : list,
    ]),
  );
}

export async function fitHarmonizer(options: FitHarmonizerOptions): Promise<IntensityModel> {
  const bc = options.biasCorrection;
  if (bc === undefined || bc === false) return fitMethod(options);
  if (options.method === 'cyclegan') {
    throw new VoxshiftError('INVALID_ARGUMENT', "biasCorrection is a pre-step of the classical methods (zscore, whitestripe, nyul, histmatch), not of 'cyclegan'", { param: 'biasCorrection' });
  }
  const spec = resolveBiasCorrection(bc === true ? {} : bc);
  const model = await fitMethod({ ...options, sites: correctReference(options.sites, options.reference, spec) });
  return { ...model, version: BIAS_CORRECTION_MODEL_VERSION, biasCorrection: spec };
}

async function fitMethod(options: FitHarmonizerOptions): Promise<IntensityModel> {
  const { method, sites, reference } = options;
  switch (method) {
    case 'zscore':
      return fitZScore(sites, reference);
    case 'whitestripe':
      return fitWhiteStripe(sites, reference, options.whitestripe);
    case 'nyul':
      return fitNyul(sites, reference, options.nyul);
    case 'histmatch':
      return fitHistMatch(sites, reference, options.histmatch);
    case 'cyclegan':
      if (!options.cyclegan) throw new VoxshiftError('INVALID_ARGUMENT', "method 'cyclegan' needs cyclegan options (modelPath, training settings)", { param: 'cyclegan' });
      return fitCycleGan(sites, reference, options.cyclegan);
    default:
      throw new VoxshiftError('INVALID_ARGUMENT', `method must be one of ${INTENSITY_METHODS.join(', ')} (combat works on feature tables: fitCombat), got ${JSON.stringify(method)}`, {
        param: 'method',
      });
  }
}

export interface ApplyOptions {
  /** The input's site: needed by 'cyclegan' (one model per source site); the others ignore it. */
  site?: string;
  /** Foreground mask (non-zero inside) on the volume's grid; default: the body mask. */
  mask?: Volume | Uint8Array;
}

export interface Harmonizer {
  readonly model: IntensityModel;
  apply(volume: Volume, options?: ApplyOptions): Promise<Volume<Float32Array>>;
  dispose(): void;
}

/**
 * A harmonizer ready to apply to many volumes. `baseDir` is the folder the model file lives in
 * (CycleGAN checkpoint paths are relative to it); default the working directory.
 */
export function openHarmonizer(model: HarmonizerModel, options: { baseDir?: string } = {}): Harmonizer {
  if (model.method === 'combat') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'a ComBat model harmonizes feature tables, not images; use applyCombat (CLI: apply --model M.json IN.csv OUT.csv)', { param: 'model' });
  }
  const m = model;
  const cycle = m.method === 'cyclegan' ? openCycleGan(m, options.baseDir ?? process.cwd()) : undefined;
  return {
    model: m,
    async apply(input: Volume, o: ApplyOptions = {}): Promise<Volume<Float32Array>> {
      const mask = o.mask !== undefined ? { mask: o.mask } : {};
      const volume = m.biasCorrection && m.method !== 'cyclegan' ? correctBias(input, { ...m.biasCorrection, ...mask }) : input;
      switch (m.method) {
        case 'zscore':
          return applyZScore(m, volume, mask);
        case 'whitestripe':
          return applyWhiteStripe(m, volume, mask);
        case 'nyul':
          return applyNyul(m, volume, mask);
        case 'histmatch':
          return applyHistMatch(m, volume, mask);
        case 'cyclegan': {
          const sources = Object.keys(m.parameters.models);
          const site = o.site ?? (sources.length === 1 ? sources[0] : undefined);
          if (site === undefined) {
            throw new VoxshiftError('INVALID_ARGUMENT', `the CycleGAN harmonizer has one model per source site (${sources.join(', ')}); say which site the volume comes from`, {
              param: 'site',
            });
          }
          return (cycle as ReturnType<typeof openCycleGan>).apply(volume, site);
        }
      }
    },
    dispose: () => cycle?.dispose(),
  };
}

/** Applies a model (object, or a model file path) to one volume. */
export async function applyHarmonizer(model: HarmonizerModel | string, volume: Volume, options: ApplyOptions & { baseDir?: string } = {}): Promise<Volume<Float32Array>> {
  const m = typeof model === 'string' ? await loadHarmonizerModel(model) : model;
  const baseDir = options.baseDir ?? (typeof model === 'string' ? dirname(resolve(model)) : undefined);
  const h = openHarmonizer(m, baseDir !== undefined ? { baseDir } : {});
  try {
    return await h.apply(volume, options);
  } finally {
    h.dispose();
  }
}
