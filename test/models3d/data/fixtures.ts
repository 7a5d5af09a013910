/** Small hand-made DomainVolumes for the sampler tests: voxel values that name their voxel. */
import type { DomainVolume } from '../../../models3d/data/domain-volume.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Mat3 } from '../../../volumes/volume.ts';

export interface CodedOptions {
  spacing?: [number, number, number];
  origin?: [number, number, number];
  direction?: Mat3 | readonly number[];
  /** Foreground test per voxel; default everything. */
  foreground?: (i: number, j: number, k: number) => boolean;
  /** Voxel value; default the linear index p = i + nx·(j + ny·k), exact in float32 below 2^24. */
  value?: (i: number, j: number, k: number, p: number) => number;
}

/** A DomainVolume whose values are given directly (no normalisation), with a matching source volume. */
export function coded(name: string, shape: [number, number, number], o: CodedOptions = {}): DomainVolume {
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const data = new Float32Array(n);
  const foreground = new Uint8Array(n);
  const value = o.value ?? ((_i, _j, _k, p) => p);
  const fg = o.foreground ?? (() => true);
  let p = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, p++) {
        data[p] = value(i, j, k, p);
        foreground[p] = fg(i, j, k) ? 1 : 0;
      }
  const source = createVolume({
    data: data.slice(),
    shape,
    spacing: o.spacing ?? [0.8, 1.1, 2.5],
    origin: o.origin ?? [-10, 20.5, 3],
    ...(o.direction !== undefined ? { direction: o.direction } : {}),
    modality: 'MR',
  });
  return {
    name,
    data,
    shape,
    spacing: [source.spacing[0], source.spacing[1], source.spacing[2]],
    foreground,
    normalization: { type: 'mr-percentile', p: [0.5, 99.5], low: 0, high: 1 },
    source,
  };
}

/** The VoxshiftError `fn` throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): VoxshiftError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VoxshiftError) return e;
    throw new Error(`expected a VoxshiftError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a VoxshiftError, nothing was thrown');
}
