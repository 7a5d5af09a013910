/**
 * Learned harmonisation: an unpaired CycleGAN per source site, translating that site's images into
 * the reference site's appearance (models3d: config, domain volumes, trainModel, translate).
 *
 * Many-to-one is done with one model per source site, not one conditional (StarGAN-style) model:
 * - CycleGAN's losses are defined for one pair of domains; a site-conditional generator would need a
 *   new network input and loss terms that models3d does not have, while the per-pair model reuses
 *   the tested trainer unchanged;
 * - each model's checkpoint then records exactly its site pair (domains.a.name = source site,
 *   domains.b.name = reference) and both sites' intensity normalisations;
 * - adding a site trains one new model and leaves the others (and their results) untouched;
 * - the cost is linear in the number of sites, which is small in practice (a handful of scanners).
 *
 * The saved harmonizer model lists, per source site, its checkpoint folder relative to the model
 * file's folder. Applying needs the input's site; reference-site images are returned unchanged.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';
import { prepareDomainVolume } from '../models3d/data/domain-volume.ts';
import { resolveModelConfig, type ModelConfigInput } from '../models3d/model/config.ts';
import { loadTranslator, translate, type Translator } from '../models3d/inference/translate.ts';
import { trainModel, type StepReport } from '../models3d/training/train-model.ts';
import { checkIntensityVolume, checkModality, volumeName } from './foreground.ts';
import type { CycleGanModel } from './model.ts';
import { harmonizedVolume, intensityHeader, prepareSites, type SiteVolumes } from './sites.ts';

export interface CycleGanFitOptions {
  /** Where the harmonizer model JSON will be saved; checkpoints go beside it (see `checkpointDir`). */
  modelPath: string;
  /** Folder of the per-site training runs; default `<modelPath without .json>.cyclegan`. */
  checkpointDir?: string;
  spatialDims?: 2 | 3;
  /** Model settings merged into every site's config (networks, optimizer incl. steps, data, seed). */
  config?: Omit<ModelConfigInput, 'kind' | 'spatialDims' | 'domains'>;
  onStep?: (site: string, report: StepReport) => void;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

function defaultCheckpointDir(modelPath: string): string {
  return modelPath.replace(/\.json$/i, '') + '.cyclegan';
}

/** Trains one CycleGAN per non-reference site (site → reference) and returns the harmonizer model. */
export async function fitCycleGan(sites: SiteVolumes, reference: string, options: CycleGanFitOptions): Promise<CycleGanModel> {
  if (typeof options?.modelPath !== 'string' || options.modelPath.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'the CycleGAN harmonizer needs modelPath (where its model JSON will be saved)', { param: 'modelPath' });
  }
  const p = prepareSites(sites, reference, { minSubjects: 1, needAll: true });
  const sources = p.sites.filter((s) => s !== reference);
  if (sources.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `the CycleGAN harmonizer needs at least one site besides the reference ${reference}`, { param: 'sites' });
  }
  const spatialDims = options.spatialDims ?? 2;
  const modelDir = dirname(resolve(options.modelPath));
  const root = resolve(options.checkpointDir ?? defaultCheckpointDir(options.modelPath));
  await mkdir(root, { recursive: true });
  const models: Record<string, string> = {};
  const modality = p.modality === 'unknown' ? 'MR' : p.modality;
  for (const site of sources) {
    const config = resolveModelConfig({
      ...options.config,
      kind: 'cyclegan',
      spatialDims,
      domains: { a: { name: site, modality }, b: { name: reference, modality } },
    });
    const prep = (list: readonly { name: string; volume: Volume }[], spec = config.domains.a.normalization) =>
      list.map((s) => prepareDomainVolume(s.volume, spec, s.name));
    const data = {
      a: prep(p.bySite.get(site) ?? []),
      b: prep(p.bySite.get(reference) ?? [], config.domains.b.normalization),
    };
    const outDir = join(root, site);
    options.log?.(`cyclegan ${site} → ${reference}: ${data.a.length} + ${data.b.length} volumes, ${config.optimizer.constantSteps + config.optimizer.decaySteps} steps`);
    const result = await trainModel({
      config,
      data,
      outDir,
      checkpointEvery: 1_000_000,
      logEvery: 50,
      montageEvery: 0,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onStep ? { onStep: (r: StepReport) => options.onStep?.(site, r) } : {}),
      notes: { harmonize: { source: site, reference } },
    });
    if (result.modelDir === undefined) {
      throw new VoxshiftError('CANCELLED', `training of the ${site} → ${reference} model stopped at step ${result.step}; no model was written`, { param: 'signal' });
    }
    models[site] = relative(modelDir, result.modelDir);
  }
  const header = intensityHeader(p, p.sites);
  return { ...header, modality, method: 'cyclegan', parameters: { models, spatialDims } };
}

/** Loaded generators of a CycleGAN harmonizer (one per source site), reused across volumes. */
export interface CycleGanApplier {
  apply(volume: Volume, site: string): Promise<Volume<Float32Array>>;
  dispose(): void;
}

/** `baseDir`: the folder of the model file (its checkpoint paths are relative to it). */
export function openCycleGan(model: CycleGanModel, baseDir: string): CycleGanApplier {
  const loaded = new Map<string, Promise<Translator>>();
  const sources = Object.keys(model.parameters.models);
  return {
    async apply(volume: Volume, site: string): Promise<Volume<Float32Array>> {
      const name = volumeName(volume, 'volume');
      checkIntensityVolume(volume, name);
      checkModality(volume, model.modality, name);
      if (site === model.reference) {
        return harmonizedVolume(volume, Float32Array.from(volume.data), model, { site, identity: true });
      }
      const rel = model.parameters.models[site];
      if (rel === undefined) {
        throw new VoxshiftError(
          'INVALID_ARGUMENT',
          `the CycleGAN harmonizer has no model for site ${JSON.stringify(site)}; it maps ${sources.join(', ')} → ${model.reference}`,
          { param: 'site', details: { site, sites: [...sources, model.reference] } },
        );
      }
      const dir = isAbsolute(rel) ? rel : join(baseDir, rel);
      let t = loaded.get(site);
      if (t === undefined) {
        t = loadTranslator(dir, 'AtoB');
        loaded.set(site, t);
      }
      const out = await translate(volume, await t);
      const known = new Set(volume.meta.warnings.map((w) => `${w.code}\n${w.message}`));
      const added = out.meta.warnings.filter((w) => !known.has(`${w.code}\n${w.message}`));
      return harmonizedVolume(volume, out.data, model, { site, checkpoint: rel }, added);
    },
    dispose(): void {
      for (const t of loaded.values()) void t.then((x) => x.dispose(), () => undefined);
      loaded.clear();
    },
  };
}
