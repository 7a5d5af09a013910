/**
 * Orientation codes (nibabel's `aff2axcodes`, ITK's "RAI"-style letters but in the "points toward"
 * convention): for each voxel axis i, j, k, the world direction the axis points TOWARD.
 *
 * World is LPS (+x = Left, +y = Posterior, +z = Superior), so an identity direction is 'LPS' and a
 * typical NIfTI volume stored RAS+ (x toward the right...) is 'RAS'.
 *
 * Each voxel axis gets the world axis of the dominant component of its direction column. When
 * two columns share a dominant world axis (directions tilted by more than 45°), the snapping is
 * greedy over the whole matrix: the largest |cosine| fixes its (voxel axis, world axis) pair, that
 * row and column are removed, and so on. This always yields three different world axes and, unlike
 * nibabel's `io_orientation` (which takes the columns in i, j, k order), does not depend on the
 * order of the voxel axes — so reorient(vol, code) always ends at `code`. Both agree whenever the
 * dominant components of the columns lie on different world axes.
 */
import { VoxshiftError } from './errors.ts';
import type { Mat3 } from './volume.ts';

/** The letter of the +x, +y, +z LPS world axes and of their opposites. */
const POSITIVE = ['L', 'P', 'S'] as const;
const NEGATIVE = ['R', 'A', 'I'] as const;

/** Per voxel axis: the world axis (0 = x, 1 = y, 2 = z) and the sign it points along. */
export interface AxisOrientation {
  worldAxis: 0 | 1 | 2;
  sign: 1 | -1;
}

/** Snaps a direction matrix (columns = axis cosines) to a signed axis permutation; see the file comment. */
export function axisOrientations(direction: Mat3 | readonly number[]): [AxisOrientation, AxisOrientation, AxisOrientation] {
  const usedRow = [false, false, false];
  const usedCol = [false, false, false];
  const out: AxisOrientation[] = [];
  for (let step = 0; step < 3; step++) {
    let best = -1;
    let br = 0;
    let bc = 0;
    // Exact ties go to the lowest column, then the lowest row (deterministic).
    for (let c = 0; c < 3; c++) {
      if (usedCol[c]) continue;
      for (let r = 0; r < 3; r++) {
        const v = Math.abs(direction[r * 3 + c]);
        if (!usedRow[r] && v > best) {
          best = v;
          br = r;
          bc = c;
        }
      }
    }
    usedRow[br] = true;
    usedCol[bc] = true;
    out[bc] = { worldAxis: br as 0 | 1 | 2, sign: direction[br * 3 + bc] < 0 ? -1 : 1 };
  }
  return [out[0], out[1], out[2]];
}

/** Three letters, e.g. 'LPS' for an identity direction; see the file comment for the convention. */
export function orientationCode(vol: { direction: Mat3 | readonly number[] }): string {
  return axisOrientations(vol.direction)
    .map((a) => (a.sign > 0 ? POSITIVE : NEGATIVE)[a.worldAxis])
    .join('');
}

/**
 * Parses and validates a 3-letter code (case-insensitive) into per-axis world axes and signs.
 * Each of the pairs L/R, P/A, S/I must appear exactly once.
 */
export function parseOrientationCode(code: string, param = 'orientation'): [AxisOrientation, AxisOrientation, AxisOrientation] {
  const upper = typeof code === 'string' ? code.toUpperCase() : '';
  const out: AxisOrientation[] = [];
  const seen = [false, false, false];
  if (upper.length === 3) {
    for (const ch of upper) {
      let axis = POSITIVE.indexOf(ch as (typeof POSITIVE)[number]);
      let sign: 1 | -1 = 1;
      if (axis < 0) {
        axis = NEGATIVE.indexOf(ch as (typeof NEGATIVE)[number]);
        sign = -1;
      }
      if (axis < 0 || seen[axis]) break;
      seen[axis] = true;
      out.push({ worldAxis: axis as 0 | 1 | 2, sign });
    }
  }
  if (out.length !== 3) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `orientation code must be 3 letters using each of L/R, P/A, S/I once (e.g. 'LPS', 'RAS'), got ${JSON.stringify(code)}`,
      { param, details: { received: code } },
    );
  }
  return [out[0], out[1], out[2]];
}

/** The exact axis-aligned direction matrix of a code ('LPS' → identity, 'RAS' → diag(-1, -1, 1)). */
export function directionForCode(code: string): Mat3 {
  const axes = parseOrientationCode(code);
  const d = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  axes.forEach((a, c) => {
    d[a.worldAxis * 3 + c] = a.sign;
  });
  return d as unknown as Mat3;
}
