/**
 * generatePhantom: one seeded digital subject — label map, CT (HU) and spin-echo T1w/T2w MR on one
 * grid — and regeneratePhantom, which rebuilds it from the `phantom` history entry of any of them.
 */
import { VoxshiftError } from '../errors.ts';
import type { HistoryEntry, Mat3, Shape3, Vec3, Volume } from '../volume.ts';
import { createVolume, IDENTITY_DIRECTION, isOrthonormal } from '../volume.ts';
import { headClassifier, sampleHeadAnatomy, type HeadAnatomy } from './head-anatomy.ts';
import { pelvisClassifier, samplePelvisAnatomy, type PelvisAnatomy } from './pelvis-anatomy.ts';
import { rasterize, type Classifier, type GridMap } from './rasterize.ts';
import { render, type TissueTables } from './render.ts';
import { applyScannerEffects, resolveScannerEffects, type ScannerEffects } from './scanner-effects.ts';
import { checkSeed, clippedNormal, deriveSeed, streamRng } from './seeds.ts';
import { round3 } from './shapes.ts';
import { DEFAULT_SEQUENCES, spinEchoSignal, type SpinEchoSequence, type Weighting } from './signal-model.ts';
import { SmoothNoise } from './smooth-noise.ts';
import { TISSUES, TISSUE, type FieldStrength } from './tissues.ts';

/** Bumped whenever the same options would give different voxels. */
export const PHANTOM_VERSION = 1;

export type PhantomRegion = 'head' | 'pelvis';

export interface PoseOptions {
  /** Largest rotation about each axis, degrees (uniform in ±max). Default 6 × variation. */
  maxRotationDeg?: number;
  /** Largest translation along each axis, mm. Default 4 × variation. */
  maxTranslationMm?: number;
}

export interface PhantomOptions {
  region: PhantomRegion;
  /** Voxel counts; default head [128, 128, 96], pelvis [160, 120, 64], or field of view ÷ spacing. */
  shape?: Shape3 | readonly number[];
  /** mm; default head [1.6, 1.6, 2.0], pelvis [2.2, 2.2, 2.5], or field of view ÷ shape. */
  spacing?: Vec3 | readonly number[];
  /** Grid direction cosines (row-major, columns = axes); default identity. The grid is always centred on world (0, 0, 0). */
  direction?: Mat3 | readonly number[];
  seed: number;
  /** 0..1: how far sizes, shapes, pose and tissue values deviate from the reference subject. Default 0.5. */
  variation?: number;
  pose?: PoseOptions;
  fieldStrength?: FieldStrength;
  sequences?: Partial<Record<Weighting, SpinEchoSequence>>;
  /** CT noise standard deviation in HU; default drawn from [10, 20] by the seed. */
  ctNoiseHu?: number;
  /** MR scanner effects (merged over DEFAULT_SCANNER_EFFECTS), applied to T1w and T2w. */
  scanner?: Partial<ScannerEffects>;
  /** Seed of the scanner effects; default derived from `seed`. */
  scannerSeed?: number;
}

export interface PhantomTissueParams {
  id: number;
  name: string;
  hu: number;
  t1: number;
  t2: number;
  pd: number;
  /** Noise-free spin-echo signals of the pure tissue. */
  signalT1w: number;
  signalT2w: number;
}

/** The options needed to regenerate a subject exactly (as recorded in history), all filled in. */
export interface PhantomRecipe {
  region: PhantomRegion;
  shape: [number, number, number];
  spacing: [number, number, number];
  direction: number[];
  seed: number;
  variation: number;
  pose: Required<PoseOptions>;
  fieldStrength: FieldStrength;
  sequences: Record<Weighting, SpinEchoSequence>;
  ctNoiseHu: number;
  scanner: ScannerEffects;
  scannerSeed: number;
}

export interface PhantomParams extends PhantomRecipe {
  version: number;
  /** Sampled rigid pose of the anatomy in the world: rotation (deg about x, y, z) and translation (mm). */
  poseSampled: { rotationDeg: [number, number, number]; translationMm: [number, number, number] };
  anatomy: HeadAnatomy | PelvisAnatomy;
  tissues: PhantomTissueParams[];
  /** White-matter signal of each weighting: the unit of scanner noise and contrast. */
  referenceIntensity: { t1: number; t2: number };
  /** Label ids present in the label volume. */
  labelsPresent: number[];
}

export interface Phantom {
  labels: Volume<Uint8Array>;
  ct: Volume<Float32Array>;
  t1: Volume<Float32Array>;
  t2: Volume<Float32Array>;
  params: PhantomParams;
}

const REGIONS: Record<PhantomRegion, { shape: [number, number, number]; spacing: [number, number, number] }> = {
  head: { shape: [128, 128, 96], spacing: [1.6, 1.6, 2.0] },
  pelvis: { shape: [160, 120, 64], spacing: [2.2, 2.2, 2.5] },
};

/** Voxel budget: 512³ (keeps a mistaken shape from allocating gigabytes). */
const MAX_PHANTOM_VOXELS = 512 ** 3;

const KNOWN_OPTIONS = new Set([
  'region', 'shape', 'spacing', 'direction', 'seed', 'variation', 'pose', 'fieldStrength', 'sequences', 'ctNoiseHu', 'scanner', 'scannerSeed',
]);

function invalid(param: string, message: string, value: unknown): never {
  throw new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(value)}`, { param, details: { value } });
}

function finiteVec(value: unknown, param: string, ok: (v: number) => boolean, what: string): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && ok(v))) {
    invalid(param, `must be 3 ${what}`, value);
  }
  return [value[0], value[1], value[2]];
}

/** Fills defaults and validates; the result regenerates the same subject. */
export function resolvePhantomOptions(options: PhantomOptions): PhantomRecipe {
  if (typeof options !== 'object' || options === null) invalid('options', 'must be an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) invalid(`options.${key}`, `is not a phantom option (expected one of ${[...KNOWN_OPTIONS].join(', ')})`, key);
  }
  const region = options.region;
  if (region !== 'head' && region !== 'pelvis') invalid('region', "must be 'head' or 'pelvis'", region);
  const seed = checkSeed(options.seed, 'seed');
  const variation = options.variation ?? 0.5;
  if (typeof variation !== 'number' || !(variation >= 0 && variation <= 1)) invalid('variation', 'must be a number in [0, 1]', variation);
  const def = REGIONS[region];
  const fov = def.shape.map((n, i) => n * def.spacing[i]);
  let shape: [number, number, number];
  let spacing: [number, number, number];
  if (options.shape !== undefined) {
    shape = finiteVec(options.shape, 'shape', (v) => Number.isInteger(v) && v >= 1, 'positive integers');
    spacing = options.spacing !== undefined
      ? finiteVec(options.spacing, 'spacing', (v) => v > 0, 'positive numbers (mm)')
      : [round3(fov[0] / shape[0]), round3(fov[1] / shape[1]), round3(fov[2] / shape[2])];
  } else if (options.spacing !== undefined) {
    spacing = finiteVec(options.spacing, 'spacing', (v) => v > 0, 'positive numbers (mm)');
    shape = [0, 1, 2].map((i) => Math.max(1, Math.round(fov[i] / spacing[i]))) as [number, number, number];
  } else {
    shape = [...def.shape];
    spacing = [...def.spacing];
  }
  if (shape[0] * shape[1] * shape[2] > MAX_PHANTOM_VOXELS) {
    throw new VoxshiftError('SIZE_LIMIT', `phantom of ${shape.join('×')} voxels exceeds the ${MAX_PHANTOM_VOXELS} voxel limit`, {
      param: 'shape',
      details: { shape },
    });
  }
  const direction = options.direction ?? IDENTITY_DIRECTION;
  if (!Array.isArray(direction) || direction.length !== 9 || !direction.every((v) => typeof v === 'number' && Number.isFinite(v)) || !isOrthonormal(direction)) {
    invalid('direction', 'must be 9 numbers forming an orthonormal 3×3 matrix (row-major)', direction);
  }
  const pose = options.pose ?? {};
  if (typeof pose !== 'object' || pose === null) invalid('pose', 'must be an object', pose);
  const maxRotationDeg = pose.maxRotationDeg ?? round3(6 * variation);
  const maxTranslationMm = pose.maxTranslationMm ?? round3(4 * variation);
  if (!(Number.isFinite(maxRotationDeg) && maxRotationDeg >= 0 && maxRotationDeg <= 45)) invalid('pose.maxRotationDeg', 'must be in [0, 45]', maxRotationDeg);
  if (!(Number.isFinite(maxTranslationMm) && maxTranslationMm >= 0 && maxTranslationMm <= 50)) invalid('pose.maxTranslationMm', 'must be in [0, 50]', maxTranslationMm);
  const fieldStrength = options.fieldStrength ?? '3T';
  if (fieldStrength !== '1.5T' && fieldStrength !== '3T') invalid('fieldStrength', "must be '1.5T' or '3T'", fieldStrength);
  const sequences = { ...DEFAULT_SEQUENCES[fieldStrength] };
  for (const w of ['t1', 't2'] as const) {
    const given = options.sequences?.[w];
    if (given === undefined) continue;
    const tr = given.trMs;
    const te = given.teMs;
    if (!(Number.isFinite(tr) && Number.isFinite(te) && tr > 0 && te > 0 && te < tr)) invalid(`sequences.${w}`, 'must have 0 < teMs < trMs', given);
    sequences[w] = { trMs: tr, teMs: te };
  }
  let ctNoiseHu = options.ctNoiseHu;
  if (ctNoiseHu === undefined) ctNoiseHu = round3(10 + 10 * streamRng(seed, 'ct-noise-level')());
  if (!(Number.isFinite(ctNoiseHu) && ctNoiseHu >= 0)) invalid('ctNoiseHu', 'must be a non-negative number', ctNoiseHu);
  const scanner = resolveScannerEffects(options.scanner, 'scanner');
  const scannerSeed = options.scannerSeed === undefined ? deriveSeed(seed, 'scanner') : checkSeed(options.scannerSeed, 'scannerSeed');
  return {
    region, shape, spacing, direction: [...direction], seed, variation,
    pose: { maxRotationDeg, maxTranslationMm }, fieldStrength, sequences, ctNoiseHu, scanner, scannerSeed,
  };
}

function rotation(deg: readonly number[]): number[] {
  const [a, b, c] = deg.map((d) => (d * Math.PI) / 180);
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const ry = [Math.cos(b), 0, Math.sin(b), 0, 1, 0, -Math.sin(b), 0, Math.cos(b)];
  const rz = [Math.cos(c), -Math.sin(c), 0, Math.sin(c), Math.cos(c), 0, 0, 0, 1];
  return mul3(rz, mul3(ry, rx));
}

function mul3(p: readonly number[], q: readonly number[]): number[] {
  const out = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) out[r * 3 + c] += p[r * 3 + k] * q[k * 3 + c];
  return out;
}

function tissueTables(recipe: PhantomRecipe): { tables: TissueTables; tissues: PhantomTissueParams[] } {
  const rng = streamRng(recipe.seed, 'tissues');
  const v = recipe.variation;
  const n = TISSUES.length;
  const tables: TissueTables = {
    hu: new Float64Array(n), huTexCoarse: new Float64Array(n), huTexFine: new Float64Array(n),
    t1: new Float64Array(n), t2: new Float64Array(n), mrTexCoarse: new Float64Array(n), mrTexFine: new Float64Array(n),
  };
  const tissues: PhantomTissueParams[] = [];
  for (const t of TISSUES) {
    const [lo, hi] = t.huRange;
    const hu = round3(Math.min(hi, Math.max(lo, t.hu + (v * (hi - lo) * clippedNormal(rng)) / 4)));
    const ref = t.mr[recipe.fieldStrength];
    const relax = {
      t1: round3(ref.t1 * (1 + 0.05 * v * clippedNormal(rng))),
      t2: round3(ref.t2 * (1 + 0.05 * v * clippedNormal(rng))),
      pd: round3(Math.min(1, ref.pd * (1 + 0.03 * v * clippedNormal(rng)))),
    };
    const s1 = spinEchoSignal(relax, recipe.sequences.t1);
    const s2 = spinEchoSignal(relax, recipe.sequences.t2);
    tables.hu[t.id] = hu;
    [tables.huTexCoarse[t.id], tables.huTexFine[t.id]] = t.huTexture;
    [tables.mrTexCoarse[t.id], tables.mrTexFine[t.id]] = t.mrTexture;
    tables.t1[t.id] = s1;
    tables.t2[t.id] = s2;
    tissues.push({ id: t.id, name: t.name, hu, ...relax, signalT1w: round3(s1), signalT2w: round3(s2) });
  }
  return { tables, tissues };
}

/** Builds the labels and clean (scanner-free) volumes; shared by generatePhantom and generateCohort. */
export function renderPhantom(recipe: PhantomRecipe): { labels: Uint8Array; ct: Float32Array; t1: Float32Array; t2: Float32Array; params: PhantomParams; origin: Vec3 } {
  const { region, seed, variation, shape, spacing, direction } = recipe;
  let anatomy: HeadAnatomy | PelvisAnatomy;
  let classify: Classifier;
  if (region === 'head') {
    const a = sampleHeadAnatomy(seed, variation);
    anatomy = a;
    classify = headClassifier(a, seed);
  } else {
    const a = samplePelvisAnatomy(seed, variation);
    anatomy = a;
    classify = pelvisClassifier(a, seed);
  }
  const poseRng = streamRng(seed, 'pose');
  const { maxRotationDeg: mr, maxTranslationMm: mt } = recipe.pose;
  const rotationDeg = [0, 1, 2].map(() => round3(mr * (2 * poseRng() - 1))) as [number, number, number];
  const translationMm = [0, 1, 2].map(() => round3(mt * (2 * poseRng() - 1))) as [number, number, number];
  // World p = R q + t; grid p = o + D S ijk with the grid centred on the world origin.
  const ds = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((e) => direction[e] * spacing[e % 3]);
  const half = shape.map((n) => (n - 1) / 2);
  const origin = [0, 1, 2].map((r) => -(ds[r * 3] * half[0] + ds[r * 3 + 1] * half[1] + ds[r * 3 + 2] * half[2])) as unknown as Vec3;
  const rot = rotation(rotationDeg);
  const rt = [rot[0], rot[3], rot[6], rot[1], rot[4], rot[7], rot[2], rot[5], rot[8]];
  const m = mul3(rt, ds);
  const o = [origin[0] - translationMm[0], origin[1] - translationMm[1], origin[2] - translationMm[2]];
  const q0 = [0, 1, 2].map((r) => rt[r * 3] * o[0] + rt[r * 3 + 1] * o[1] + rt[r * 3 + 2] * o[2]) as [number, number, number];
  const grid: GridMap = { shape, q0, m };

  const raster = rasterize(classify, grid);
  const { tables, tissues } = tissueTables(recipe);
  const box = region === 'head' ? 160 : 240;
  const texRng = streamRng(seed, 'texture');
  const texCoarse = new SmoothNoise(texRng, [-box, -box, -box], [box, box, box], 20);
  const texFine = new SmoothNoise(texRng, [-box, -box, -box], [box, box, box], 4);
  const out = render(raster, grid, tables, texCoarse, texFine, recipe.ctNoiseHu, deriveSeed(seed, 'ct-noise'));
  const present = new Set<number>();
  const counts = new Uint32Array(256);
  for (let i = 0; i < raster.labels.length; i++) counts[raster.labels[i]]++;
  counts.forEach((c, id) => c > 0 && present.add(id));
  const params: PhantomParams = {
    version: PHANTOM_VERSION,
    ...recipe,
    poseSampled: { rotationDeg, translationMm },
    anatomy,
    tissues,
    referenceIntensity: { t1: tables.t1[TISSUE.WHITE_MATTER], t2: tables.t2[TISSUE.WHITE_MATTER] },
    labelsPresent: [...present].sort((a, b) => a - b),
  };
  return { labels: raster.labels, ct: out.ct, t1: out.t1, t2: out.t2, params, origin };
}

type Output = 'labels' | 'ct' | 't1' | 't2';

function historyEntry(recipe: PhantomRecipe, output: Output): HistoryEntry {
  return { op: 'phantom', params: { version: PHANTOM_VERSION, output, ...structuredClone(recipe) } };
}

/** Wraps rendered arrays into the four volumes, applying the recipe's scanner effects to the MR. */
export function assemblePhantom(r: ReturnType<typeof renderPhantom>, recipe: PhantomRecipe): Phantom {
  const geometry = { shape: recipe.shape, spacing: recipe.spacing, origin: r.origin, direction: recipe.direction };
  const desc = `voxshift ${recipe.region} phantom, seed ${recipe.seed}`;
  const labels = createVolume({
    ...geometry, data: r.labels, kind: 'label', modality: 'SEG',
    meta: { format: 'phantom', units: 'label', description: `${desc}: tissue labels` }, history: [historyEntry(recipe, 'labels')],
  });
  const ct = createVolume({
    ...geometry, data: r.ct, modality: 'CT',
    meta: { format: 'phantom', units: 'HU', description: `${desc}: CT` }, history: [historyEntry(recipe, 'ct')],
  });
  const mr = (w: Weighting, data: Float32Array): Volume<Float32Array> => {
    const clean = createVolume({
      ...geometry, data, modality: 'MR',
      meta: { format: 'phantom', units: 'arbitrary', extra: { referenceIntensity: r.params.referenceIntensity[w] } },
    });
    const seq = recipe.sequences[w];
    const noisy = applyScannerEffects(clean, recipe.scanner, deriveSeed(recipe.scannerSeed, w));
    return createVolume({
      ...geometry, data: noisy.data, modality: 'MR',
      meta: {
        format: 'phantom', units: 'arbitrary',
        description: `${desc}: ${w === 't1' ? 'T1w' : 'T2w'} spin echo TR ${seq.trMs} ms TE ${seq.teMs} ms, ${recipe.fieldStrength}`,
        extra: { referenceIntensity: noisy.meta.extra?.referenceIntensity },
      },
      history: [historyEntry(recipe, w)],
    });
  };
  return { labels, ct, t1: mr('t1', r.t1), t2: mr('t2', r.t2), params: { ...r.params, ...structuredClone(recipe) } };
}

/** One seeded phantom subject: tissue labels, CT (HU), T1w and T2w MR, all on the same grid. */
export function generatePhantom(options: PhantomOptions): Phantom {
  const recipe = resolvePhantomOptions(options);
  return assemblePhantom(renderPhantom(recipe), recipe);
}

/** Rebuilds a phantom, bit for bit, from the `phantom` history entry of any of its volumes. */
export function regeneratePhantom(entry: HistoryEntry): Phantom {
  if (entry?.op !== 'phantom' || typeof entry.params !== 'object' || entry.params === null) {
    throw new VoxshiftError('INVALID_ARGUMENT', `expected a history entry with op 'phantom', got ${JSON.stringify(entry?.op)}`, { param: 'entry' });
  }
  const { version, output: _output, ...options } = entry.params as Record<string, unknown>;
  if (version !== PHANTOM_VERSION) {
    throw new VoxshiftError('INVALID_ARGUMENT', `phantom history is version ${String(version)}; this build regenerates version ${PHANTOM_VERSION}`, {
      param: 'entry.params.version',
    });
  }
  return generatePhantom(options as unknown as PhantomOptions);
}
