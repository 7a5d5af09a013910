/** Small synthetic volumes for the volume-helper tests: anisotropic spacing and a tilted direction. */
import { pythonWith as sharedPythonWith } from '../helpers/shared-data.ts';
import { allocate, createVolume } from '../../volumes/volume.ts';
import type { DType, Mat3, Volume, VolumeKind } from '../../volumes/volume.ts';

/** Row-major rotation R = Rz(c) · Ry(b) · Rx(a); columns are the rotated axes. */
export function rotation(a: number, b: number, c: number): Mat3 {
  const [ca, sa, cb, sb, cc, sc] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), Math.cos(c), Math.sin(c)];
  const rx = [1, 0, 0, 0, ca, -sa, 0, sa, ca];
  const ry = [cb, 0, sb, 0, 1, 0, -sb, 0, cb];
  const rz = [cc, -sc, 0, sc, cc, 0, 0, 0, 1];
  const mul = (p: number[], q: number[]): number[] => {
    const o = new Array<number>(9).fill(0);
    for (let r = 0; r < 3; r++) for (let col = 0; col < 3; col++) for (let k = 0; k < 3; k++) o[r * 3 + col] += p[r * 3 + k] * q[k * 3 + col];
    return o;
  };
  return mul(rz, mul(ry, rx)) as unknown as Mat3;
}

/** A tilted direction whose dominant components still give 'LPS'. */
export const TILTED: Mat3 = rotation(0.2, -0.15, 0.3);

export interface SyntheticOptions {
  shape?: [number, number, number];
  spacing?: [number, number, number];
  origin?: [number, number, number];
  direction?: Mat3 | readonly number[];
  dtype?: DType;
  channels?: number;
  kind?: VolumeKind;
  value?: (i: number, j: number, k: number, ch: number) => number;
}

export function synthetic(o: SyntheticOptions = {}): Volume {
  const shape = o.shape ?? [5, 4, 3];
  const channels = o.channels ?? 1;
  const data = allocate(o.dtype ?? 'float32', shape[0] * shape[1] * shape[2] * channels);
  const value = o.value ?? ((i, j, k, ch) => i + 10 * j + 100 * k + 1000 * ch);
  let p = 0;
  for (let ch = 0; ch < channels; ch++)
    for (let k = 0; k < shape[2]; k++) for (let j = 0; j < shape[1]; j++) for (let i = 0; i < shape[0]; i++) data[p++] = value(i, j, k, ch);
  return createVolume({
    data,
    shape,
    channels,
    spacing: o.spacing ?? [0.7, 1.3, 2.5],
    origin: o.origin ?? [12.5, -30.25, 7],
    direction: o.direction ?? TILTED,
    kind: o.kind ?? 'intensity',
    modality: 'MR',
  });
}

/** A python3 that can import `mod` (see the shared helper), or null locally when none has it. */
export function pythonWith(mod: string): string | null {
  return sharedPythonWith(mod) ?? null;
}
