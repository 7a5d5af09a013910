/**
 * Reorientation by axis permutation and flips only (no interpolation, exact for every dtype):
 * the result's orientation code is the target code, and every voxel keeps its world position.
 */
import { axisOrientations, orientationCode, parseOrientationCode } from './orientation.ts';
import { voxelToWorld } from './affine.ts';
import { allocate, dtypeOf, deriveVolume } from './volume.ts';
import type { Mat3, Vec3, Volume, VoxelArray } from './volume.ts';

/** How output axis `a` reads the input: input axis `from[a]`, reversed when `flip[a]`. */
export interface AxisMapping {
  from: [number, number, number];
  flip: [boolean, boolean, boolean];
}

/** The permutation and flips taking `vol`'s current orientation to `target`. */
export function reorientMapping(direction: Mat3 | readonly number[], target: string): AxisMapping {
  const want = parseOrientationCode(target, 'target');
  const have = axisOrientations(direction);
  const from: [number, number, number] = [0, 0, 0];
  const flip: [boolean, boolean, boolean] = [false, false, false];
  for (let a = 0; a < 3; a++) {
    const c = have.findIndex((h) => h.worldAxis === want[a].worldAxis);
    from[a] = c;
    flip[a] = have[c].sign !== want[a].sign;
  }
  return { from, flip };
}

/**
 * Copies voxels so that output voxel (o0, o1, o2) = input voxel with index o_a along axis from[a]
 * (or n - 1 - o_a when flipped). Channels stay planar.
 */
export function permuteFlipData<T extends VoxelArray>(data: T, shape: readonly number[], channels: number, m: AxisMapping): T {
  const inStride = [1, shape[0], shape[0] * shape[1]];
  const n = shape[0] * shape[1] * shape[2];
  const outShape = m.from.map((c) => shape[c]);
  const step = [0, 0, 0];
  let base = 0;
  for (let a = 0; a < 3; a++) {
    const c = m.from[a];
    step[a] = m.flip[a] ? -inStride[c] : inStride[c];
    if (m.flip[a]) base += (shape[c] - 1) * inStride[c];
  }
  const out = allocate(dtypeOf(data), data.length) as T;
  const [n0, n1, n2] = outShape;
  const [s0, s1, s2] = step;
  for (let ch = 0; ch < channels; ch++) {
    const off = ch * n;
    let o = off;
    for (let k = 0; k < n2; k++) {
      for (let j = 0; j < n1; j++) {
        let p = off + base + k * s2 + j * s1;
        if (s0 === 1) {
          out.set(data.subarray(p, p + n0), o);
          o += n0;
        } else {
          for (let i = 0; i < n0; i++, p += s0) out[o++] = data[p];
        }
      }
    }
  }
  return out;
}

/**
 * Permutes/flips the voxel axes so that the orientation code becomes `target` (default 'LPS'):
 * spacing and direction columns are permuted (flipped columns negated), and the origin becomes the
 * world position of the input voxel that lands at index (0, 0, 0). Oblique volumes go to the
 * closest code (see orientation.ts); their direction stays oblique.
 */
export function reorient<T extends VoxelArray>(vol: Volume<T>, target = 'LPS'): Volume<T> {
  const m = reorientMapping(vol.direction, target);
  const d = vol.direction;
  const shape = m.from.map((c) => vol.shape[c]) as unknown as Vec3;
  const spacing = m.from.map((c) => vol.spacing[c]) as unknown as Vec3;
  const direction = new Array<number>(9);
  for (let a = 0; a < 3; a++) {
    const c = m.from[a];
    const sgn = m.flip[a] ? -1 : 1;
    // + 0 turns −0 into 0, so flipped axis-aligned directions compare and print cleanly.
    for (let r = 0; r < 3; r++) direction[r * 3 + a] = sgn * d[r * 3 + c] + 0;
  }
  const first = [0, 0, 0];
  for (let a = 0; a < 3; a++) if (m.flip[a]) first[m.from[a]] = vol.shape[m.from[a]] - 1;
  const origin = voxelToWorld(vol, first);
  const data = permuteFlipData(vol.data, vol.shape, vol.channels, m);
  return deriveVolume<T>(
    vol,
    { data, shape, spacing, origin, direction },
    { op: 'reorient', params: { from: orientationCode(vol), to: target.toUpperCase(), axes: [...m.from], flips: [...m.flip] } },
  );
}
