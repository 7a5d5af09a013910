/**
 * Voxel→world geometry of a NIfTI header, chosen as the standard and nibabel do:
 * sform if sform_code > 0, else qform if qform_code > 0, else "method 1" (pixdim only).
 * Every transform is computed in RAS, then converted to voxshift's LPS at the end.
 *
 * Differences from nibabel, on purpose:
 * - A sheared sform cannot be held by a Volume (orthonormal direction). We then use the qform (when
 *   qform_code > 0) with a warning, or fail with MALFORMED_HEADER. nibabel keeps the shear.
 * - Method 1 is the NIfTI standard's x = pixdim[1]·i, y = pixdim[2]·j, z = pixdim[3]·k (origin 0, RAS
 *   axes). nibabel instead centres the grid and flips x (its Analyze "base affine").
 * - Negative xform codes are ignored (the standard says > 0; nibabel uses != 0), with a warning.
 * - A spatial unit of metres or microns is converted to mm (nibabel ignores xyzt_units), with a warning.
 */
import { geometryFromAffine, rasToLpsAffine, type Geometry, type Mat4 } from '../affine.ts';
import { VoxshiftError } from '../errors.ts';
import type { VolumeWarning } from '../volume.ts';
import type { NiftiHeader } from './nifti-header.ts';

export type NiftiXform = 'sform' | 'qform' | 'pixdim';

export interface NiftiGeometry extends Geometry {
  xform: NiftiXform;
}

const FLOAT32_EPS = 2 ** -23;
const FLOAT64_EPS = 2 ** -52;

/** pixdim[1..3] as nibabel fixes them: 0 → 1, negative → absolute value (with warnings). */
function spatialPixdims(h: NiftiHeader, warnings: VolumeWarning[]): [number, number, number] {
  const p = [h.pixdim[1], h.pixdim[2], h.pixdim[3]].map((v) => (Number.isFinite(v) ? v : 0));
  if (p.some((v) => v === 0)) {
    warnings.push({
      code: 'NIFTI_PIXDIM_ZERO',
      message: `pixdim[1..3] = [${h.pixdim.slice(1, 4).join(', ')}] has zero or non-finite entries; using 1 mm for them`,
    });
  }
  if (p.some((v) => v < 0)) {
    warnings.push({ code: 'NIFTI_PIXDIM_NEGATIVE', message: `pixdim[1..3] = [${p.join(', ')}] has negative entries; using their absolute values` });
  }
  return p.map((v) => (v === 0 ? 1 : Math.abs(v))) as [number, number, number];
}

/** The qform affine (RAS), exactly as nibabel's Nifti1Header.get_qform. */
export function qformAffine(h: NiftiHeader, file: string, warnings: VolumeWarning[]): Mat4 {
  const [b, c, d] = h.quatern;
  if (![b, c, d, ...h.qoffset].every(Number.isFinite)) {
    throw new VoxshiftError('MALFORMED_HEADER', `qform quaternion or offset is not finite: b,c,d=[${b}, ${c}, ${d}]`, { file });
  }
  // nibabel's fillpositive: a = sqrt(1 - (b²+c²+d²)); a tiny negative (rounding) counts as 0.
  const w2 = 1 - (b * b + c * c + d * d);
  const threshold = -3 * (h.version === 1 ? FLOAT32_EPS : FLOAT64_EPS);
  if (w2 < threshold) {
    throw new VoxshiftError('MALFORMED_HEADER', `qform quaternion b,c,d=[${b}, ${c}, ${d}] has norm > 1`, {
      file,
      details: { quatern: [b, c, d] },
    });
  }
  const a = w2 < 0 ? 0 : Math.sqrt(w2);
  // nibabel's quat2mat (normalising by the quaternion's squared norm).
  const nq = a * a + b * b + c * c + d * d;
  const s = 2 / nq;
  const X = b * s;
  const Y = c * s;
  const Z = d * s;
  const R = [
    1 - (c * Y + d * Z), b * Y - a * Z, b * Z + a * Y,
    b * Y + a * Z, 1 - (b * X + d * Z), c * Z - a * X,
    b * Z - a * Y, c * Z + a * X, 1 - (b * X + c * Y),
  ];
  let qfac = h.pixdim[0];
  if (qfac !== 1 && qfac !== -1) {
    warnings.push({ code: 'NIFTI_QFAC_INVALID', message: `pixdim[0] (qfac) is ${qfac}, expected 1 or -1; using 1` });
    qfac = 1;
  }
  const vox = spatialPixdims(h, warnings);
  vox[2] *= qfac;
  const [x, y, z] = h.qoffset;
  return [
    R[0] * vox[0], R[1] * vox[1], R[2] * vox[2], x,
    R[3] * vox[0], R[4] * vox[1], R[5] * vox[2], y,
    R[6] * vox[0], R[7] * vox[1], R[8] * vox[2], z,
    0, 0, 0, 1,
  ];
}

export function sformAffine(h: NiftiHeader): Mat4 {
  return [...h.srow, 0, 0, 0, 1];
}

function unitScale(h: NiftiHeader, warnings: VolumeWarning[]): number {
  const units = h.xyztUnits & 0x07;
  if (units === 1) {
    warnings.push({ code: 'NIFTI_UNITS_CONVERTED', message: 'spatial units are metres; converted to mm' });
    return 1000;
  }
  if (units === 3) {
    warnings.push({ code: 'NIFTI_UNITS_CONVERTED', message: 'spatial units are microns; converted to mm' });
    return 0.001;
  }
  return 1;
}

function toLpsGeometry(ras: Mat4, scale: number): Geometry & { orthonormal: boolean } {
  const scaled = ras.map((v, i) => (i < 12 ? v * scale : v));
  const g = geometryFromAffine(rasToLpsAffine(scaled));
  // `+ 0` turns the -0 that negating RAS zeros leaves into 0.
  const clean = (a: readonly number[]): number[] => a.map((v) => v + 0);
  return {
    spacing: clean(g.spacing) as unknown as Geometry['spacing'],
    origin: clean(g.origin) as unknown as Geometry['origin'],
    direction: clean(g.direction) as unknown as Geometry['direction'],
    orthonormal: g.orthonormal,
  };
}

/** Chooses the transform and returns LPS spacing/origin/direction. Pushes warnings; throws VoxshiftError. */
export function niftiGeometry(h: NiftiHeader, file: string, warnings: VolumeWarning[]): NiftiGeometry {
  if (h.flavour === 'analyze') {
    warnings.push({
      code: 'NIFTI_ANALYZE_GEOMETRY',
      message: 'Analyze 7.5 header (no NIfTI magic): orientation is unknown, geometry uses pixdim only (RAS axes, origin 0)',
    });
    return pixdimGeometry(h, warnings);
  }
  const scale = unitScale(h, warnings);
  for (const [name, code] of [['sform', h.sformCode], ['qform', h.qformCode]] as const) {
    if (code < 0) warnings.push({ code: 'NIFTI_XFORM_CODE_NEGATIVE', message: `${name}_code is ${code}; ignored` });
  }
  const qformUsable = h.qformCode > 0;
  if (h.sformCode > 0) {
    let problem: string;
    if (!h.srow.every(Number.isFinite)) {
      problem = 'has non-finite entries';
    } else {
      try {
        const g = toLpsGeometry(sformAffine(h), scale);
        if (g.orthonormal) return { spacing: g.spacing, origin: g.origin, direction: g.direction, xform: 'sform' };
        problem = 'has shear (its columns are not orthogonal)';
      } catch {
        problem = 'has a zero-length column';
      }
    }
    if (!qformUsable) {
      throw new VoxshiftError('MALFORMED_HEADER', `the sform ${problem} and there is no qform to fall back on`, {
        file,
        details: { srow: h.srow, sformCode: h.sformCode },
      });
    }
    warnings.push({ code: 'NIFTI_SFORM_UNUSABLE', message: `the sform ${problem}; using the qform instead` });
  }
  if (qformUsable) {
    const g = toLpsGeometry(qformAffine(h, file, warnings), scale);
    return { spacing: g.spacing, origin: g.origin, direction: g.direction, xform: 'qform' };
  }
  warnings.push({
    code: 'NIFTI_NO_XFORM',
    message: 'sform_code and qform_code are both 0: geometry uses pixdim only (RAS axes, origin 0)',
  });
  return pixdimGeometry(h, warnings, scale);
}

function pixdimGeometry(h: NiftiHeader, warnings: VolumeWarning[], scale = 1): NiftiGeometry {
  const [px, py, pz] = spatialPixdims(h, warnings);
  const g = toLpsGeometry([px, 0, 0, 0, 0, py, 0, 0, 0, 0, pz, 0, 0, 0, 0, 1], scale);
  return { spacing: g.spacing, origin: g.origin, direction: g.direction, xform: 'pixdim' };
}
