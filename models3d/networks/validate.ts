import { VoxshiftError } from '../../volumes/errors.ts';

/** Throws INVALID_ARGUMENT unless `value` is an integer in [min, max]. */
export function checkInt(param: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be an integer from ${min} to ${max}, got ${String(value)}`, {
      param,
      details: { received: value, min, max },
    });
  }
  return value;
}

export function checkSpatialDims(value: unknown): 2 | 3 {
  if (value !== 2 && value !== 3) {
    throw new VoxshiftError('INVALID_ARGUMENT', `spatialDims must be 2 or 3, got ${String(value)}`, {
      param: 'spatialDims',
      details: { received: value },
    });
  }
  return value;
}

export function checkRate(param: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a number in [0, 1), got ${String(value)}`, {
      param,
      details: { received: value },
    });
  }
  return value;
}
