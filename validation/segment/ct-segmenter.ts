/**
 * CT segmentation by HU ranges into the shared classes (segmenter.ts), inside the body mask
 * (validation/masks.ts: > −500 HU, largest component, holes filled per axial slice):
 *
 * | class  | HU (defaults)   | notes                                                                  |
 * |--------|-----------------|------------------------------------------------------------------------|
 * | dark   | < −500          | air inside the body: sinuses, airways, bowel gas, lung parenchyma       |
 * | fat    | −500 .. −30     | fat is −190..−30; −500..−190 is counted as fat too, except next to air (below), where it is air/tissue partial volume (bowel wall, airway and skin edges, lung vessels) and counts as soft tissue |
 * | soft   | −30 .. 150      | muscle, organs, brain, blood, and water (see fluid)                     |
 * | fluid  | off             | CT separates water (0..15 HU) from soft tissue (20..60 HU) only by a few HU, less than its noise; with `fluidHu` set (e.g. [−10, 18]) soft-tissue voxels whose smoothed value is in that range become fluid |
 * | marrow | 150 .. 800      | cancellous bone (and contrast-filled vessels, partial-volume cortex)    |
 * | bone   | ≥ 800           | dense, cortical bone: 800 HU is midway between cancellous (≈ 300) and cortical (≈ 1300) bone, so cortex blurred into marrow is not called dense |
 *
 * The thresholds apply to the image as it is (`smoothMm`, a Gaussian σ in mm, smooths it first; off
 * by default because it thins skull tables and fat layers), except the fluid range, which is read
 * on the image smoothed by `fluidSmoothMm` (default 2 mm), as a few HU only make sense on averages.
 * Afterwards isolated specks are removed: every 6-connected piece of a class smaller than
 * `minComponentMm3` (default 3 voxels) takes the majority label of its surroundings
 * (clean-labels.ts), and an optional opening of every class (`openingMm`, a ball in mm, default 0 =
 * off, as it would erase thin skull and skin) cleans up more.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { bodyMask } from '../masks.ts';
import { gaussianKernel, separableFilter } from '../metrics/separable-filter.ts';
import { removeSmallPieces } from './clean-labels.ts';
import { openLabels } from './morphology.ts';
import { SHARED_CLASS } from './segmenter.ts';
import type { SegmentOptions, Segmenter, SharedClass } from './segmenter.ts';

export interface CtSegmenterOptions {
  /** Below: dark (air). Default −500. */
  airHu?: number;
  /** Below (and ≥ airHu): fat. Default −30. */
  fatMaxHu?: number;
  /** From here: marrow (cancellous bone). Default 150. */
  marrowHu?: number;
  /** From here: dense bone. Default 800. */
  boneHu?: number;
  /** [low, high] HU of the fluid class carved out of soft tissue; default none (fluid counts as soft). */
  fluidHu?: readonly [number, number] | null;
  /** Gaussian smoothing σ in mm before the thresholds; default 0 (none: it thins skull and fat layers). */
  smoothMm?: number;
  /** Gaussian σ in mm of the image the fluid range is read on; default 2. */
  fluidSmoothMm?: number;
  /** Pieces of a class smaller than this are relabelled; default DEFAULT_MIN_PIECE_VOXELS voxels. */
  minComponentMm3?: number;
  /** Opening radius (mm) of every class; default 0 (off). */
  openingMm?: number;
}

/** Specks smaller than this many voxels are relabelled when minComponentMm3 is not given. */
export const DEFAULT_MIN_PIECE_VOXELS = 3;

function checkNumber(value: number, param: string): void {
  if (!Number.isFinite(value)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a finite number, got ${value}`, { param });
  }
}

export function smoothVolume(vol: Volume, sigmaMm: number): Float64Array {
  const data = Float64Array.from(vol.data);
  if (sigmaMm <= 0) return data;
  const kernels = vol.spacing.map((s, a) => (vol.shape[a] > 1 && sigmaMm / s >= 0.2 ? gaussianKernel(sigmaMm / s, 3) : null));
  return separableFilter(data, vol.shape, kernels);
}

/** Below this (and at or above airHu), a voxel next to air is air/tissue partial volume, not fat. */
const PARTIAL_AIR_HU = -190;

/** Whether a 26-neighbour of voxel p is below `airHu`. */
function touchesAir(v: Float64Array, p: number, shape: Volume['shape'], airHu: number): boolean {
  const [nx, ny, nz] = shape;
  const i = p % nx;
  const j = Math.floor(p / nx) % ny;
  const k = Math.floor(p / (nx * ny));
  for (let dk = -1; dk <= 1; dk++) {
    const c = k + dk;
    if (c < 0 || c >= nz) continue;
    for (let dj = -1; dj <= 1; dj++) {
      const b = j + dj;
      if (b < 0 || b >= ny) continue;
      for (let di = -1; di <= 1; di++) {
        const a = i + di;
        if (a < 0 || a >= nx) continue;
        if (v[a + nx * (b + ny * c)] < airHu) return true;
      }
    }
  }
  return false;
}

export function ctSegmenter(options: CtSegmenterOptions = {}): Segmenter {
  const airHu = options.airHu ?? -500;
  const fatMaxHu = options.fatMaxHu ?? -30;
  const marrowHu = options.marrowHu ?? 150;
  const boneHu = options.boneHu ?? 800;
  const fluid = options.fluidHu ?? null;
  const smoothMm = options.smoothMm ?? 0;
  const openingMm = options.openingMm ?? 0;
  const fluidSmoothMm = options.fluidSmoothMm ?? 2;
  const partialAirHu = Math.max(airHu, Math.min(PARTIAL_AIR_HU, fatMaxHu));
  for (const [v, p] of [[airHu, 'airHu'], [fatMaxHu, 'fatMaxHu'], [marrowHu, 'marrowHu'], [boneHu, 'boneHu'], [smoothMm, 'smoothMm'], [openingMm, 'openingMm'], [fluidSmoothMm, 'fluidSmoothMm']] as const) checkNumber(v, p);
  if (!(airHu < fatMaxHu && fatMaxHu < marrowHu && marrowHu <= boneHu)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `HU cuts must increase: airHu ${airHu} < fatMaxHu ${fatMaxHu} < marrowHu ${marrowHu} ≤ boneHu ${boneHu}`, {
      param: 'options',
    });
  }
  if (fluid !== null && !(fluid.length === 2 && fluid[0] < fluid[1] && fluid[0] >= fatMaxHu && fluid[1] <= marrowHu)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `fluidHu must be [low, high] inside the soft-tissue range [${fatMaxHu}, ${marrowHu}], got ${JSON.stringify(fluid)}`, {
      param: 'fluidHu',
    });
  }
  if (smoothMm < 0 || openingMm < 0 || fluidSmoothMm < 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `smoothMm, fluidSmoothMm and openingMm must be ≥ 0, got ${smoothMm}, ${fluidSmoothMm}, ${openingMm}`, { param: 'options' });
  }
  const classes: SharedClass[] = [SHARED_CLASS.OUTSIDE, SHARED_CLASS.DARK, SHARED_CLASS.FAT, SHARED_CLASS.SOFT];
  if (fluid) classes.push(SHARED_CLASS.FLUID);
  classes.push(SHARED_CLASS.BONE, SHARED_CLASS.MARROW);
  const params = { airHu, fatMaxHu, marrowHu, boneHu, fluidHu: fluid, smoothMm, fluidSmoothMm, openingMm, minComponentMm3: options.minComponentMm3 ?? null };

  return {
    name: 'ct-hu',
    classes,
    segment(volume: Volume, segOptions: SegmentOptions = {}): Volume<Uint8Array> {
      if (volume.channels !== 1) {
        throw new VoxshiftError('INVALID_ARGUMENT', `the CT segmenter needs a one-channel volume, got ${volume.channels} channels`, { param: 'volume' });
      }
      const body = segOptions.body ?? bodyMask(volume, { threshold: -500 });
      if (body.data.length !== volume.data.length) {
        throw new VoxshiftError('GEOMETRY_MISMATCH', `body mask has ${body.data.length} voxels, the volume ${volume.data.length}`, { param: 'body' });
      }
      const v = smoothVolume(volume, smoothMm);
      const vf = fluid ? smoothVolume(volume, fluidSmoothMm) : v;
      const out = new Uint8Array(v.length);
      for (let p = 0; p < v.length; p++) {
        if (body.data[p] === 0) continue;
        const x = v[p];
        let c: number;
        if (x < airHu) c = SHARED_CLASS.DARK;
        else if (x < fatMaxHu) c = x < partialAirHu && touchesAir(v, p, volume.shape, airHu) ? SHARED_CLASS.SOFT : SHARED_CLASS.FAT;
        else if (x < marrowHu) c = fluid && vf[p] >= fluid[0] && vf[p] <= fluid[1] ? SHARED_CLASS.FLUID : SHARED_CLASS.SOFT;
        else if (x < boneHu) c = SHARED_CLASS.MARROW;
        else c = SHARED_CLASS.BONE;
        out[p] = c;
      }
      const voxelMm3 = volume.spacing[0] * volume.spacing[1] * volume.spacing[2];
      const minVoxels = options.minComponentMm3 !== undefined ? Math.ceil(options.minComponentMm3 / voxelMm3) : DEFAULT_MIN_PIECE_VOXELS;
      if (minVoxels > 1) removeSmallPieces(out, volume.shape, minVoxels);
      if (openingMm > 0) openLabels(out, volume, openingMm);
      return deriveVolume<Uint8Array>(
        volume,
        { data: out, kind: 'label', modality: 'SEG', meta: { units: 'label', description: 'shared tissue classes (ct-hu segmenter)' } },
        { op: 'segment', params: { segmenter: 'ct-hu', ...params } },
      );
    },
  };
}
