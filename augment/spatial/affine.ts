/**
 * Affine (TorchIO's Affine, MONAI's Affine): rotation, scale, shear and translation of the content
 * about the centre of the grid in world space (LPS mm), the same mapping for every volume.
 *
 * The content moves by T(w) = L·(w − c) + c + t with L = R·H·S: S = diag(scale) (> 1 enlarges),
 * H = [[1, h0, h1], [0, 1, h2], [0, 0, 1]] (shear), R = Rz·Ry·Rx (degrees about the world axes),
 * c = world centre of the grid, t = translation (mm). Output voxel o samples input index
 * A⁻¹·T⁻¹·A·o (A = voxel→world affine): one 3×4 matrix, precomputed. Equivalent `matrix` form:
 * the 12 numbers [L | t] row-major; the inverse twin is given in that form.
 */
import { affineOf, invertAffine, multiplyAffine } from '../../volumes/affine.ts';
import type { Volume } from '../../volumes/volume.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range, Vec3 } from '../options.ts';
import { subjectGrid } from '../subject.ts';
import { defineRandom, defineTwin } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { INTERPOLATION_KEYS, readInterpolation, warpSubject } from './interpolation.ts';
import type { InterpolationOptions } from './interpolation.ts';

export interface AffineParams extends InterpolationOptions {
  rotationDeg?: Vec3;
  scale?: Vec3;
  shear?: Vec3;
  translationMm?: Vec3;
  /** Alternative to the components: [L | t] as 12 numbers, row-major (see the file comment). */
  matrix?: number[];
}

const rad = Math.PI / 180;

/** [L | t] (12 numbers, row-major) from the components. */
export function affineComponentsMatrix(rotationDeg: Vec3, scale: Vec3, shear: Vec3, translationMm: Vec3): number[] {
  const [ax, ay, az] = rotationDeg.map((d) => d * rad);
  const cx = Math.cos(ax), sx = Math.sin(ax), cy = Math.cos(ay), sy = Math.sin(ay), cz = Math.cos(az), sz = Math.sin(az);
  const rx = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const ry = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const rzm = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  const h = [1, shear[0], shear[1], 0, 1, shear[2], 0, 0, 1];
  const s = [scale[0], 0, 0, 0, scale[1], 0, 0, 0, scale[2]];
  const l = mul3(mul3(mul3(mul3(rzm, ry), rx), h), s);
  return [l[0], l[1], l[2], translationMm[0], l[3], l[4], l[5], translationMm[1], l[6], l[7], l[8], translationMm[2]];
}

function mul3(a: number[], b: number[]): number[] {
  const o = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) o[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
  return o;
}

/** The inverse map's [L⁻¹ | −L⁻¹·t]. */
export function invertAffineMatrix(m: readonly number[]): number[] {
  const inv = invertAffine([...m, 0, 0, 0, 1]);
  return inv.slice(0, 12);
}

/** The input index sampled by output index o, as a 3×4 row-major matrix, for content map [L | t] on `grid`. */
export function affineVoxelMatrix(grid: Volume, m: readonly number[]): number[] {
  const a = affineOf(grid);
  const c = [0, 1, 2].map((ax) => (grid.shape[ax] - 1) / 2);
  const cw = [0, 1, 2].map((r) => a[r * 4] * c[0] + a[r * 4 + 1] * c[1] + a[r * 4 + 2] * c[2] + a[r * 4 + 3]);
  // T(w) = L·w + (c + t − L·c)
  const t = [0, 1, 2].map((r) => cw[r] + m[r * 4 + 3] - (m[r * 4] * cw[0] + m[r * 4 + 1] * cw[1] + m[r * 4 + 2] * cw[2]));
  const tw = [m[0], m[1], m[2], t[0], m[4], m[5], m[6], t[1], m[8], m[9], m[10], t[2], 0, 0, 0, 1];
  return multiplyAffine(multiplyAffine(invertAffine(a), invertAffine(tw)), a).slice(0, 12);
}

export function Affine(params: AffineParams, where = 'Affine'): DeterministicTransform {
  const r = new OptionReader(where, params, ['rotationDeg', 'scale', 'shear', 'translationMm', 'matrix', ...INTERPOLATION_KEYS]);
  const interp = readInterpolation(r);
  let matrix: number[];
  let recorded: Record<string, unknown>;
  if (r.has('matrix')) {
    if (['rotationDeg', 'scale', 'shear', 'translationMm'].some((k) => r.has(k))) {
      r.fail('matrix', 'expected either matrix or rotationDeg/scale/shear/translationMm, not both', params.matrix);
    }
    matrix = r.numbers('matrix', undefined, 12);
    recorded = { matrix };
  } else {
    const rotationDeg = r.vec3('rotationDeg', [0, 0, 0]);
    const scale = r.vec3('scale', [1, 1, 1], 1e-3);
    const shear = r.vec3('shear', [0, 0, 0]);
    const translationMm = r.vec3('translationMm', [0, 0, 0]);
    matrix = affineComponentsMatrix(rotationDeg, scale, shear, translationMm);
    recorded = { rotationDeg, scale, shear, translationMm };
  }
  const det =
    matrix[0] * (matrix[5] * matrix[10] - matrix[6] * matrix[9]) -
    matrix[1] * (matrix[4] * matrix[10] - matrix[6] * matrix[8]) +
    matrix[2] * (matrix[4] * matrix[9] - matrix[5] * matrix[8]);
  if (!(Math.abs(det) > 1e-9)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${where}: the linear part is singular (determinant ${det})`, { param: where });
  }
  const self = defineTwin(
    'Affine',
    { ...recorded, ...interp },
    (subject) => warpSubject(subject, affineVoxelMatrix(subjectGrid(subject), matrix), null, interp),
    () => Affine({ matrix: invertAffineMatrix(matrix), ...interp }, `${where}.inverse`),
  );
  return self;
}

/** One [min, max] for all axes, or one per world axis. */
export type AxisRanges = Range | [Range, Range, Range];

export interface RandomAffineOptions extends InterpolationOptions {
  /** Degrees about world x, y, z, drawn per axis. Default [-10, 10]. */
  rotationDeg?: AxisRanges;
  /** Default [0.9, 1.1]; drawn once for all axes when `isotropic` (default true, needs one range). */
  scale?: AxisRanges;
  isotropic?: boolean;
  /** Shear factors h0..h2, drawn each. Default [0, 0]. */
  shear?: Range;
  /** mm along world x, y, z, drawn per axis. Default [0, 0]. */
  translationMm?: AxisRanges;
  p?: number;
}

export function RandomAffine(options: RandomAffineOptions = {}, where = 'RandomAffine'): Transform {
  const r = new OptionReader(where, options, ['rotationDeg', 'scale', 'isotropic', 'shear', 'translationMm', 'p', ...INTERPOLATION_KEYS]);
  const rot = r.ranges3('rotationDeg', [-10, 10], -360, 360);
  const scale = r.ranges3('scale', [0.9, 1.1], 0.01, 100);
  const isotropic = r.bool('isotropic', true);
  if (isotropic && scale.some((s) => s[0] !== scale[0][0] || s[1] !== scale[0][1])) {
    r.fail('scale', 'expected one [min, max] when isotropic is true', options.scale);
  }
  const sh = r.range('shear', [0, 0], -1, 1);
  const shear: [Range, Range, Range] = [sh, sh, sh];
  const trans = r.ranges3('translationMm', [0, 0]);
  const interp = readInterpolation(r);
  const draw3 = (ranges: [Range, Range, Range], rng: () => number): Vec3 => [
    uniform(rng, ...ranges[0]),
    uniform(rng, ...ranges[1]),
    uniform(rng, ...ranges[2]),
  ];
  return defineRandom('RandomAffine', r.prob('p', 1), (_s, rng) => {
    const rotationDeg = draw3(rot, rng);
    let sc = draw3(scale, rng);
    if (isotropic) sc = [sc[0], sc[0], sc[0]];
    return Affine({ rotationDeg, scale: sc, shear: draw3(shear, rng), translationMm: draw3(trans, rng), ...interp });
  });
}
