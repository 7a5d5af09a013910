/**
 * What every harmonizer's fit takes — volumes grouped by site, one of them the reference — and the
 * shared checks and bookkeeping: site names, subject counts, one modality, per-volume checks, and
 * the common header of the saved model. Also the output side: every harmonized volume keeps its
 * input's grid and gains one `harmonize` history entry.
 */
import { VERSION } from '../cli/version.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import { deriveVolume } from '../volumes/volume.ts';
import type { Modality, Volume, VolumeWarning } from '../volumes/volume.ts';
import { checkIntensityVolume, commonModality, DEFAULT_MASK, foregroundMask, volumeName } from './foreground.ts';
import { HARMONIZER_FORMAT, HARMONIZER_MODEL_VERSION, modelDigest } from './model.ts';
import type { HarmonizerModel, IntensityModel } from './model.ts';

/** One subject of a site: its image and optionally its own foreground mask (non-zero inside). */
export interface SiteSubject {
  volume: Volume;
  mask?: Volume | Uint8Array;
  /** Shown in errors; default: the volume's source file, else `<site>[<index>]`. */
  name?: string;
}

/** Site name → its subjects (plain volumes or volumes with masks). */
export type SiteVolumes = Record<string, readonly (Volume | SiteSubject)[]>;

export interface PreparedSubject {
  site: string;
  name: string;
  volume: Volume;
  /** The foreground (given or the body mask), computed on first use. */
  mask(): Uint8Array;
}

export interface PreparedSites {
  reference: string;
  sites: string[];
  subjects: Record<string, number>;
  bySite: Map<string, PreparedSubject[]>;
  modality: Modality;
}

const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkSiteName(name: string, param = 'site'): void {
  if (typeof name !== 'string' || !SITE_NAME.test(name)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be 1–64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`, {
      param,
    });
  }
}

function isSubject(x: Volume | SiteSubject): x is SiteSubject {
  return typeof x === 'object' && x !== null && 'volume' in x && !('data' in x);
}

/**
 * Checks and groups the fit input. `needSites` lists the sites whose volumes the method needs (the
 * reference always); each needs at least `minSubjects` subjects.
 */
export function prepareSites(sites: SiteVolumes, reference: string, options: { minSubjects?: number; needAll?: boolean } = {}): PreparedSites {
  if (typeof sites !== 'object' || sites === null || Array.isArray(sites) || Object.keys(sites).length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'sites must be a non-empty object of site name → volumes', { param: 'sites' });
  }
  checkSiteName(reference, 'reference');
  const names = Object.keys(sites);
  for (const n of names) checkSiteName(n, 'sites');
  if (!names.includes(reference)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `reference site ${JSON.stringify(reference)} is not among the sites (${names.join(', ')})`, {
      param: 'reference',
      details: { reference, sites: names },
    });
  }
  const minSubjects = options.minSubjects ?? 1;
  const bySite = new Map<string, PreparedSubject[]>();
  const subjects: Record<string, number> = {};
  const all: { name: string; volume: Volume }[] = [];
  for (const site of names) {
    const list = sites[site];
    if (!Array.isArray(list)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `sites.${site} must be an array of volumes`, { param: `sites.${site}` });
    }
    if (list.length < minSubjects && (options.needAll || site === reference)) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `site ${site} has ${list.length} subject${list.length === 1 ? '' : 's'}; this method needs at least ${minSubjects} per site`,
        { param: `sites.${site}`, details: { site, subjects: list.length, needed: minSubjects } },
      );
    }
    const prepared = list.map((item, i): PreparedSubject => {
      const s: SiteSubject = isSubject(item) ? item : { volume: item };
      const name = s.name ?? volumeName(s.volume, `${site}[${i}]`);
      checkIntensityVolume(s.volume, name);
      all.push({ name, volume: s.volume });
      let mask: Uint8Array | undefined;
      return {
        site,
        name,
        volume: s.volume,
        mask: () => (mask ??= foregroundMask(s.volume, name, s.mask)),
      };
    });
    bySite.set(site, prepared);
    subjects[site] = prepared.length;
  }
  return { reference, sites: names, subjects, bySite, modality: commonModality(all) };
}

/** The header fields every intensity model shares. */
export function intensityHeader(p: PreparedSites, sitesUsed: readonly string[] = [p.reference]): Omit<IntensityModel, 'method' | 'parameters'> {
  const subjects: Record<string, number> = {};
  for (const s of sitesUsed) subjects[s] = p.subjects[s];
  return {
    format: HARMONIZER_FORMAT,
    version: HARMONIZER_MODEL_VERSION,
    reference: p.reference,
    sites: [...sitesUsed],
    subjects,
    voxshift: VERSION,
    modality: p.modality,
    mask: { ...DEFAULT_MASK },
  };
}

/**
 * The harmonized volume: `data` on `input`'s grid (geometry, kind, modality unchanged), units
 * 'arbitrary' (the reference site's intensity scale), and one history entry
 * `{ op: 'harmonize', params: { method, reference, model, ...fitted } }` where `model` is the
 * model's digest and `fitted` what was measured on this image (its landmarks, stripe...);
 * `warnings` (e.g. from the model's inference) are added to the input's.
 */
export function harmonizedVolume(
  input: Volume,
  data: Float32Array,
  model: HarmonizerModel,
  fitted: Record<string, unknown>,
  warnings: readonly VolumeWarning[] = [],
): Volume<Float32Array> {
  const params = { method: model.method, reference: model.reference, model: modelDigest(model), ...fitted };
  return deriveVolume<Float32Array>(
    input,
    {
      data,
      meta: {
        ...input.meta,
        units: 'arbitrary',
        warnings: [...input.meta.warnings, ...warnings],
        extra: { ...input.meta.extra, harmonized: { method: model.method, reference: model.reference } },
      },
    },
    { op: 'harmonize', params },
  );
}
