/** NIfTI datatype codes (nifti1.h) and how voxshift stores each. */
import type { DType } from '../volume.ts';

export interface NiftiDatatype {
  code: number;
  name: string;
  /** Bytes per stored element (for RGB: bytes per voxel). */
  bytes: number;
  /** How it is held in a Volume; undefined = cannot be read. */
  dtype?: DType;
  /** Interleaved colour components per voxel (RGB24: 3, RGBA32: 4); they become planar channels. */
  components?: number;
  /** Stored as 64-bit integers, converted to float64. */
  int64?: 'signed' | 'unsigned';
}

const TABLE: readonly NiftiDatatype[] = [
  { code: 1, name: 'binary', bytes: 0 },
  { code: 2, name: 'uint8', bytes: 1, dtype: 'uint8' },
  { code: 4, name: 'int16', bytes: 2, dtype: 'int16' },
  { code: 8, name: 'int32', bytes: 4, dtype: 'int32' },
  { code: 16, name: 'float32', bytes: 4, dtype: 'float32' },
  { code: 32, name: 'complex64', bytes: 8 },
  { code: 64, name: 'float64', bytes: 8, dtype: 'float64' },
  { code: 128, name: 'rgb24', bytes: 3, dtype: 'uint8', components: 3 },
  { code: 256, name: 'int8', bytes: 1, dtype: 'int8' },
  { code: 512, name: 'uint16', bytes: 2, dtype: 'uint16' },
  { code: 768, name: 'uint32', bytes: 4, dtype: 'uint32' },
  { code: 1024, name: 'int64', bytes: 8, dtype: 'float64', int64: 'signed' },
  { code: 1280, name: 'uint64', bytes: 8, dtype: 'float64', int64: 'unsigned' },
  { code: 1536, name: 'float128', bytes: 16 },
  { code: 1792, name: 'complex128', bytes: 16 },
  { code: 2048, name: 'complex256', bytes: 32 },
  { code: 2304, name: 'rgba32', bytes: 4, dtype: 'uint8', components: 4 },
];

export function niftiDatatype(code: number): NiftiDatatype | undefined {
  return TABLE.find((t) => t.code === code);
}

/** The datatype code the writer uses for a volume dtype. */
export const DATATYPE_CODE: Record<DType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
};
