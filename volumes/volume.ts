/**
 * The one volume type of voxshift (ITK-Wasm's Image, TorchIO's Subject image).
 *
 * Conventions:
 * - Voxels in a typed array, x fastest, then y, then z, then channel (planar channels, NIfTI order).
 * - World coordinates are LPS millimetres (as DICOM and ITK); NIfTI's RAS is converted at its boundary.
 * - `direction` is a row-major 3×3 matrix whose *columns* are the world unit vectors of the voxel
 *   axes i, j, k (ITK's convention): world = origin + direction · diag(spacing) · [i, j, k]ᵀ.
 * - Derived values (affine, orientation code) are functions of these fields, never stored.
 */
import { VoxshiftError } from './errors.ts';

export type DType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export type VoxelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

export type Vec3 = readonly [number, number, number];
export type Shape3 = readonly [number, number, number];
/** Row-major 3×3; columns are the axis direction cosines. */
export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

export type VolumeKind = 'intensity' | 'label';

/** DICOM modality codes we distinguish; anything else is kept as `OT` with the original in meta. */
export type Modality = 'CT' | 'MR' | 'PT' | 'NM' | 'US' | 'XA' | 'CR' | 'DX' | 'SEG' | 'OT' | 'unknown';

/** Physical meaning of the voxel values. */
export type IntensityUnits = 'HU' | 'arbitrary' | 'normalized' | 'probability' | 'label' | 'unknown';

export type SourceFormat = 'nifti' | 'dicom' | 'nrrd' | 'mha' | 'phantom' | 'memory';

export interface VolumeWarning {
  /** Stable machine-readable code, e.g. `NIFTI_SCL_SLOPE_ZERO`, `DICOM_UNEVEN_SPACING_RESAMPLED`. */
  code: string;
  message: string;
}

/** One step in a volume's life: read, resampled, normalised, augmented, translated... */
export interface HistoryEntry {
  op: string;
  params: Record<string, unknown>;
}

export interface VolumeMeta {
  /** Where the voxels came from (file or folder path), when they came from a file. */
  source?: string;
  format?: SourceFormat;
  units?: IntensityUnits;
  /** Header fix-ups and oddities; never silently repaired. */
  warnings: VolumeWarning[];
  /** A short human description (NIfTI descrip, DICOM SeriesDescription). */
  description?: string;
  /** NIfTI: which transform gave the geometry and the codes found. */
  nifti?: {
    version: 1 | 2;
    xform: 'sform' | 'qform' | 'pixdim';
    sformCode: number;
    qformCode: number;
    datatype: string;
    littleEndian: boolean;
    sclSlope: number;
    sclInter: number;
  };
  /** DICOM: identifying and geometry-relevant tags of the series (strings as found in the file). */
  dicom?: Record<string, string>;
  /** Free-form extra facts, JSON-serialisable. */
  extra?: Record<string, unknown>;
}

export interface Volume<T extends VoxelArray = VoxelArray> {
  readonly data: T;
  /** Voxel counts along i (x), j (y), k (z). */
  readonly shape: Shape3;
  /** Number of planar channels (4-D NIfTI time points, RGB...); 1 for ordinary volumes. */
  readonly channels: number;
  /** Millimetres between voxel centres along i, j, k. */
  readonly spacing: Vec3;
  /** World (LPS, mm) position of the centre of voxel (0, 0, 0). */
  readonly origin: Vec3;
  readonly direction: Mat3;
  readonly kind: VolumeKind;
  readonly modality: Modality;
  readonly meta: VolumeMeta;
  readonly history: readonly HistoryEntry[];
}

export interface VolumeInit<T extends VoxelArray = VoxelArray> {
  data: T;
  shape: Shape3 | readonly number[];
  channels?: number;
  spacing?: Vec3 | readonly number[];
  origin?: Vec3 | readonly number[];
  direction?: Mat3 | readonly number[];
  kind?: VolumeKind;
  modality?: Modality;
  meta?: Partial<VolumeMeta>;
  history?: readonly HistoryEntry[];
}

export const IDENTITY_DIRECTION: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** Largest voxel count (per channel) we accept: 2^31 - 1 elements is the typed-array ceiling. */
export const MAX_VOXELS = 2 ** 31 - 1;

export function dtypeOf(data: VoxelArray): DType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

export function allocate(dtype: DType, length: number): VoxelArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint16':
      return new Uint16Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
  }
}

export function voxelCount(shape: Shape3): number {
  return shape[0] * shape[1] * shape[2];
}

function vec3(value: readonly number[] | undefined, fallback: Vec3, param: string): Vec3 {
  if (value === undefined) return fallback;
  if (value.length !== 3 || !value.every((v) => Number.isFinite(v))) {
    throw new VoxshiftError('INVALID_VOLUME', `${param} must be 3 finite numbers, got [${value.join(', ')}]`, { param });
  }
  return [value[0], value[1], value[2]];
}

/** Checks that the direction matrix is orthonormal within `tol` (columns unit length, pairwise orthogonal). */
export function isOrthonormal(d: readonly number[], tol = 1e-3): boolean {
  for (let a = 0; a < 3; a++) {
    for (let b = a; b < 3; b++) {
      let dot = 0;
      for (let r = 0; r < 3; r++) dot += d[r * 3 + a] * d[r * 3 + b];
      if (Math.abs(dot - (a === b ? 1 : 0)) > tol) return false;
    }
  }
  return true;
}

/**
 * Builds a volume and checks it: positive integer shape, data length = voxels × channels, positive
 * finite spacing, orthonormal direction. Fields are frozen copies; the voxel array is shared.
 */
export function createVolume<T extends VoxelArray>(init: VolumeInit<T>): Volume<T> {
  const shape = init.shape;
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new VoxshiftError('INVALID_VOLUME', `shape must be 3 positive integers, got [${shape.join(', ')}]`, {
      param: 'shape',
    });
  }
  const channels = init.channels ?? 1;
  if (!Number.isInteger(channels) || channels < 1) {
    throw new VoxshiftError('INVALID_VOLUME', `channels must be a positive integer, got ${channels}`, { param: 'channels' });
  }
  const n = shape[0] * shape[1] * shape[2];
  if (n > MAX_VOXELS) {
    throw new VoxshiftError('SIZE_LIMIT', `volume of ${shape.join('×')} voxels exceeds the ${MAX_VOXELS} limit`, {
      param: 'shape',
    });
  }
  if (init.data.length !== n * channels) {
    throw new VoxshiftError(
      'INVALID_VOLUME',
      `data has ${init.data.length} elements, expected ${n * channels} (${shape.join('×')} × ${channels} channels)`,
      { param: 'data' },
    );
  }
  const spacing = vec3(init.spacing, [1, 1, 1], 'spacing');
  if (!spacing.every((s) => s > 0)) {
    throw new VoxshiftError('INVALID_VOLUME', `spacing must be positive, got [${spacing.join(', ')}]`, { param: 'spacing' });
  }
  const origin = vec3(init.origin, [0, 0, 0], 'origin');
  const dir = init.direction ?? IDENTITY_DIRECTION;
  if (dir.length !== 9 || !dir.every((v) => Number.isFinite(v))) {
    throw new VoxshiftError('INVALID_VOLUME', 'direction must be 9 finite numbers (row-major 3×3)', { param: 'direction' });
  }
  if (!isOrthonormal(dir)) {
    throw new VoxshiftError('INVALID_VOLUME', `direction is not orthonormal: [${dir.map((v) => v.toFixed(4)).join(', ')}]`, {
      param: 'direction',
    });
  }
  const meta: VolumeMeta = { warnings: [], ...init.meta };
  meta.warnings = [...(init.meta?.warnings ?? [])];
  return Object.freeze({
    data: init.data,
    shape: Object.freeze([shape[0], shape[1], shape[2]]) as Shape3,
    channels,
    spacing: Object.freeze(spacing) as Vec3,
    origin: Object.freeze(origin) as Vec3,
    direction: Object.freeze([...dir]) as unknown as Mat3,
    kind: init.kind ?? 'intensity',
    modality: init.modality ?? 'unknown',
    meta,
    history: Object.freeze([...(init.history ?? [])]),
  });
}

/** A new volume with the same geometry and metadata as `like`, with new voxels and optional changes. */
export function deriveVolume<T extends VoxelArray>(
  like: Volume,
  changes: Partial<VolumeInit<T>> & { data: T },
  step?: HistoryEntry,
): Volume<T> {
  return createVolume<T>({
    data: changes.data,
    shape: changes.shape ?? like.shape,
    channels: changes.channels ?? like.channels,
    spacing: changes.spacing ?? like.spacing,
    origin: changes.origin ?? like.origin,
    direction: changes.direction ?? like.direction,
    kind: changes.kind ?? like.kind,
    modality: changes.modality ?? like.modality,
    meta: { ...like.meta, ...changes.meta, warnings: [...(changes.meta?.warnings ?? like.meta.warnings)] },
    history: [...(changes.history ?? like.history), ...(step ? [step] : [])],
  });
}

/** Same voxels and geometry, one more history entry. */
export function withHistory<T extends VoxelArray>(vol: Volume<T>, step: HistoryEntry): Volume<T> {
  return deriveVolume<T>(vol, { data: vol.data }, step);
}

/** The typed array of one channel (a view, no copy). */
export function channelData<T extends VoxelArray>(vol: Volume<T>, channel: number): T {
  if (!Number.isInteger(channel) || channel < 0 || channel >= vol.channels) {
    throw new VoxshiftError('INVALID_ARGUMENT', `channel ${channel} out of range 0..${vol.channels - 1}`, {
      param: 'channel',
    });
  }
  const n = voxelCount(vol.shape);
  return vol.data.subarray(channel * n, (channel + 1) * n) as T;
}

/** Linear index of voxel (i, j, k) in channel 0. */
export function voxelIndex(shape: Shape3, i: number, j: number, k: number): number {
  return i + shape[0] * (j + shape[1] * k);
}
