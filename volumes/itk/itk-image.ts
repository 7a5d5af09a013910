/**
 * ITK-Wasm Image ↔ Volume. Both are LPS and both store `direction` row-major with the axis cosines as
 * columns (checked against NRRD "space directions" written by ITK), so geometry maps field for field.
 * ITK interleaves pixel components (c fastest); a Volume keeps planar channels.
 */
import type { readImageNode } from '@itk-wasm/image-io';
import { VoxshiftError } from '../errors.ts';
import {
  allocate,
  createVolume,
  dtypeOf,
  isOrthonormal,
  type DType,
  type Modality,
  type Volume,
  type VolumeKind,
  type VolumeWarning,
  type VoxelArray,
} from '../volume.ts';

export type ItkImage = Awaited<ReturnType<typeof readImageNode>>;

const COMPONENT_TYPES: Record<string, DType> = {
  int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32', uint32: 'uint32',
  float32: 'float32', float64: 'float64',
};

const UNSUPPORTED_PIXEL_TYPES = new Set(['Complex', 'Unknown', 'Matrix', 'VariableSizeMatrix']);

export interface FromItkOptions {
  file: string;
  format: 'nrrd' | 'mha';
  kind?: VolumeKind;
  modality?: Modality;
}

function toVoxels(data: unknown, componentType: string, file: string, warnings: VolumeWarning[]): VoxelArray {
  if (componentType === 'int64' || componentType === 'uint64') {
    const big = data as BigInt64Array | BigUint64Array;
    const out = new Float64Array(big.length);
    for (let i = 0; i < big.length; i++) {
      const v = Number(big[i]);
      if (!Number.isSafeInteger(v)) {
        throw new VoxshiftError('UNSUPPORTED_IMAGE', `${componentType} voxel ${i} (${big[i]}) does not fit a float64 exactly`, { file });
      }
      out[i] = v;
    }
    warnings.push({ code: 'ITK_INT64_AS_FLOAT64', message: `${componentType} voxels were converted to float64 (exact: all within 2^53)` });
    return out;
  }
  const dtype = COMPONENT_TYPES[componentType];
  if (dtype === undefined || data === null || typeof data !== 'object' || !ArrayBuffer.isView(data)) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `pixel component type "${componentType}" is not supported`, { file });
  }
  return data as VoxelArray;
}

function deinterleave(src: VoxelArray, n: number, components: number): VoxelArray {
  const out = allocate(dtypeOf(src), src.length);
  for (let c = 0; c < components; c++) {
    const base = c * n;
    for (let v = 0; v < n; v++) out[base + v] = src[v * components + c];
  }
  return out;
}

function interleave(src: VoxelArray, n: number, components: number): VoxelArray {
  const out = allocate(dtypeOf(src), src.length);
  for (let c = 0; c < components; c++) {
    const base = c * n;
    for (let v = 0; v < n; v++) out[v * components + c] = src[base + v];
  }
  return out;
}

/** Converts an image read by ITK-Wasm (2-D, 3-D, or 4-D whose 4th axis becomes channels). */
export function volumeFromItkImage(img: ItkImage, opts: FromItkOptions): Volume {
  const { file } = opts;
  const dim = img.imageType.dimension;
  const components = img.imageType.components;
  if (dim < 2 || dim > 4) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `${dim}-D images are not supported (2-D to 4-D are)`, { file });
  }
  if (UNSUPPORTED_PIXEL_TYPES.has(img.imageType.pixelType)) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `pixel type ${img.imageType.pixelType} is not supported`, { file });
  }
  if (dim === 4 && components > 1) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', '4-D images with multi-component pixels are not supported', { file });
  }
  const warnings: VolumeWarning[] = [];
  let data = toVoxels(img.data, img.imageType.componentType, file, warnings);
  const size = [...img.size];
  const shape = [size[0], size[1], dim >= 3 ? size[2] : 1];
  const n = shape[0] * shape[1] * shape[2];
  const channels = dim === 4 ? size[3] : components;
  if (data.length !== n * channels) {
    throw new VoxshiftError('TRUNCATED_FILE', `image holds ${data.length} values, its size says ${n * channels}`, { file });
  }
  if (components > 1) data = deinterleave(data, n, components);
  // Embed the top-left 3×3 (or 2×2) of ITK's row-major direction; extra axes keep the identity.
  const itkDir = Array.from(img.direction as ArrayLike<number | bigint>, Number);
  const direction = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const used = Math.min(dim, 3);
  for (let r = 0; r < used; r++) for (let c = 0; c < used; c++) direction[r * 3 + c] = itkDir[r * dim + c] + 0; // + 0 turns -0 into 0
  if (dim === 4) {
    let mixes = false;
    for (let a = 0; a < 3; a++) if (Math.abs(itkDir[a * 4 + 3]) > 1e-6 || Math.abs(itkDir[3 * 4 + a]) > 1e-6) mixes = true;
    if (mixes) throw new VoxshiftError('UNSUPPORTED_IMAGE', 'the 4th axis of this image is oriented in space', { file });
    warnings.push({
      code: 'ITK_4D_AS_CHANNELS',
      message: `4-D image: its ${size[3]} entries along the 4th axis are channels (4th spacing ${img.spacing[3]} and origin ${img.origin[3]} dropped)`,
    });
  }
  if (!isOrthonormal(direction, 1e-4)) {
    throw new VoxshiftError('MALFORMED_HEADER', `direction is not orthonormal: [${direction.map((v) => v.toFixed(5)).join(', ')}]`, {
      file,
      param: 'direction',
    });
  }
  const spacing = [img.spacing[0], img.spacing[1], dim >= 3 ? img.spacing[2] : 1];
  const origin = [img.origin[0], img.origin[1], dim >= 3 ? img.origin[2] : 0];
  if (!spacing.every((s) => Number.isFinite(s) && s > 0) || !origin.every(Number.isFinite)) {
    throw new VoxshiftError('MALFORMED_HEADER', `spacing [${spacing.join(', ')}] or origin [${origin.join(', ')}] is invalid`, { file });
  }
  const extra: Record<string, unknown> = {};
  const md = img.metadata instanceof Map ? img.metadata : new Map<string, unknown>();
  for (const [k, v] of md) if (typeof v === 'string' || typeof v === 'number') extra[k] = v;
  return createVolume({
    data,
    shape,
    channels,
    spacing,
    origin,
    direction,
    kind: opts.kind ?? 'intensity',
    modality: opts.modality ?? 'unknown',
    meta: {
      source: file,
      format: opts.format,
      units: opts.kind === 'label' ? 'label' : 'unknown',
      warnings,
      extra: { itkPixelType: img.imageType.pixelType, itkMetadata: extra },
    },
    history: [{ op: 'readItkImage', params: { file, format: opts.format } }],
  });
}

/** A 3-D ITK-Wasm image of the volume; channels become interleaved vector components. */
export function itkImageFromVolume(vol: Volume): ItkImage {
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  const components = vol.channels;
  return {
    imageType: {
      dimension: 3,
      componentType: dtypeOf(vol.data),
      pixelType: components > 1 ? 'VariableLengthVector' : 'Scalar',
      components,
    },
    name: 'image',
    origin: [...vol.origin],
    spacing: [...vol.spacing],
    direction: Float64Array.from(vol.direction),
    size: [...vol.shape],
    metadata: new Map(),
    // A copy: the wasm side may take ownership of the buffer it is given.
    data: components > 1 ? interleave(vol.data, n, components) : vol.data.slice(),
  } as unknown as ItkImage;
}
