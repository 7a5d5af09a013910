/**
 * From the frames of one series (headers only) to the voxel grid: which frame goes to which slice and
 * channel, and the LPS geometry. Pure; no pixel is read here.
 *
 * Rules (documented in volumes/dicom/README.md):
 * - Slices are sorted along the normal n = rowCosine × columnCosine by projecting each
 *   ImagePositionPatient on n; the slice spacing comes from the positions, never SliceThickness.
 * - Frames at the same position (within POSITION_TOL) are channels (time points, echoes, image
 *   types), ordered by temporal index, then AcquisitionNumber, InstanceNumber, DimensionIndexValues
 *   and frame number. Every position must hold the same number of frames.
 * - Gantry tilt (positions drifting across the plane) is an error, GANTRY_TILT.
 * - Uneven spacing: see `UNEVEN_TOL_*`; the caller resamples or fails.
 */
import { VoxshiftError } from '../errors.ts';
import type { Mat3, Vec3 } from '../volume.ts';
import { cross } from './dicom-header.ts';
import type { DicomImageHeader, FrameInfo } from './dicom-header.ts';

/** Positions closer than this along the normal are the same slice (mm). */
export const POSITION_TOL = 0.01;
/** Slice positions may drift across the plane by this much in total before it is called tilt (mm). */
export const TILT_LATERAL_TOL = 0.1;
/** ...or by this fraction of the smallest pixel spacing, whichever is larger. */
export const TILT_PIXEL_FRACTION = 0.25;
/** Spacing is uneven when max |Δ - median Δ| exceeds both of these. */
export const UNEVEN_TOL_MM = 0.01;
export const UNEVEN_TOL_FRACTION = 0.01;

export interface FrameRef {
  header: DicomImageHeader;
  frame: FrameInfo;
  /** Mosaic tile index, when the frame is one image of a Siemens mosaic. */
  tile?: number;
  position?: Vec3;
}

export interface LayoutWarning {
  code: string;
  message: string;
}

export interface SeriesLayout {
  rows: number;
  columns: number;
  /** slices[k][c]: the frame shown at slice k, channel c (before any resampling). */
  slices: FrameRef[][];
  channels: number;
  /** Distance of each slice along the normal from the first (mm). */
  sliceOffsets: number[];
  spacing: Vec3;
  origin: Vec3;
  direction: Mat3;
  /** Set when the spacing is uneven beyond tolerance: the gaps between consecutive slices (mm). */
  uneven?: { gaps: number[]; median: number };
  warnings: LayoutWarning[];
}

function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
function dot(a: readonly number[], b: readonly number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
function norm(a: readonly number[]): number {
  return Math.hypot(a[0], a[1], a[2]);
}
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Row and column cosines, checked and made exactly orthonormal. */
export function orthonormalCosines(o: readonly number[], file: string): { row: Vec3; col: Vec3; normal: Vec3 } {
  const rn = norm(o.slice(0, 3));
  const cn = norm(o.slice(3, 6));
  if (!(rn > 0.5 && rn < 1.5 && cn > 0.5 && cn < 1.5)) {
    throw new VoxshiftError('MALFORMED_HEADER', `ImageOrientationPatient [${o.join(', ')}] does not hold two unit vectors`, { file });
  }
  const row: Vec3 = [o[0] / rn, o[1] / rn, o[2] / rn];
  let col: Vec3 = [o[3] / cn, o[4] / cn, o[5] / cn];
  const d = dot(row, col);
  if (Math.abs(d) > 0.01) {
    throw new VoxshiftError('MALFORMED_HEADER', `ImageOrientationPatient row and column cosines are not perpendicular (dot ${d.toFixed(4)})`, { file });
  }
  col = [col[0] - d * row[0], col[1] - d * row[1], col[2] - d * row[2]];
  const cl = norm(col);
  col = [col[0] / cl, col[1] / cl, col[2] / cl];
  return { row, col, normal: cross([...row, ...col]) };
}

type Key = (number | undefined)[];

function channelKey(f: FrameRef): Key {
  const h = f.header;
  return [
    f.frame.temporal ?? h.temporalPositionIdentifier,
    h.acquisitionNumber,
    h.instanceNumber,
    ...(f.frame.dimensionIndex ?? []),
    f.frame.index,
    f.tile,
  ];
}

function compareKeys(a: Key, b: Key): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? -Infinity;
    const y = b[i] ?? -Infinity;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Spacing along the slice axis when positions cannot give it (a single slice, or frames without
 * positions): SpacingBetweenSlices, then SliceThickness (dcm2niix's order), then 1 mm with a warning.
 */
function nominalSliceSpacing(h: DicomImageHeader, f: FrameInfo | undefined, warnings: LayoutWarning[]): number {
  const thick = f?.sliceThickness ?? h.sliceThickness;
  const between = h.spacingBetweenSlices;
  for (const c of [between, thick]) if (c !== undefined && c > 0) return c;
  warnings.push({ code: 'DICOM_NO_SLICE_SPACING', message: 'no SliceThickness or SpacingBetweenSlices: slice spacing set to 1 mm' });
  return 1;
}

export function layoutSeries(frames: FrameRef[]): SeriesLayout {
  if (frames.length === 0) throw new VoxshiftError('NO_SERIES', 'no image frames to lay out');
  const first = frames[0];
  const h0 = first.header;
  const file = h0.file;
  const warnings: LayoutWarning[] = [];
  const rows = first.tile !== undefined && h0.mosaic ? h0.rows / h0.mosaic.tilesPerSide : h0.rows;
  const columns = first.tile !== undefined && h0.mosaic ? h0.columns / h0.mosaic.tilesPerSide : h0.columns;

  const orientation = first.frame.orientation;
  let row: Vec3 = [1, 0, 0];
  let col: Vec3 = [0, 1, 0];
  let normal: Vec3 = [0, 0, 1];
  if (orientation) {
    ({ row, col, normal } = orthonormalCosines(orientation, file));
  } else {
    warnings.push({ code: 'DICOM_NO_ORIENTATION', message: 'no ImageOrientationPatient: identity direction assumed' });
  }
  let ps = first.frame.pixelSpacing;
  if (!ps) {
    warnings.push({ code: 'DICOM_NO_PIXEL_SPACING', message: 'no PixelSpacing or ImagerPixelSpacing: 1 mm pixels assumed' });
    ps = [1, 1];
  } else if (h0.imagerPixelSpacingUsed) {
    warnings.push({ code: 'DICOM_IMAGER_PIXEL_SPACING', message: 'no PixelSpacing: ImagerPixelSpacing (at the detector) used' });
  }
  for (const f of frames) {
    const p = f.frame.pixelSpacing;
    if (p && (Math.abs(p[0] - ps[0]) > 1e-4 || Math.abs(p[1] - ps[1]) > 1e-4)) {
      throw new VoxshiftError('INCONSISTENT_SERIES', `pixel spacing ${p.join('\\')} differs from ${ps.join('\\')} within one series`, { file: f.header.file });
    }
  }

  const allPositioned = frames.every((f) => f.position !== undefined);
  let positioned: { ref: FrameRef; d: number; p: Vec3 }[];
  if (allPositioned) {
    positioned = frames.map((ref) => ({ ref, d: dot(ref.position as Vec3, normal), p: ref.position as Vec3 }));
  } else {
    // Frames without positions (legacy multi-frame, secondary capture): stacked in file/frame order.
    const ordered = [...frames].sort((a, b) =>
      compareKeys([a.header.instanceNumber, a.frame.index], [b.header.instanceNumber, b.frame.index]),
    );
    const step = frames.length > 1 ? nominalSliceSpacing(h0, first.frame, warnings) : 1;
    const start: Vec3 = first.position ?? [0, 0, 0];
    if (!first.position) warnings.push({ code: 'DICOM_NO_POSITION', message: 'no ImagePositionPatient: origin set to (0, 0, 0)' });
    if (frames.length > 1) {
      warnings.push({
        code: 'DICOM_FRAMES_WITHOUT_POSITIONS',
        message: `${frames.length} frames without per-frame positions stacked as slices ${step} mm apart, in frame order`,
      });
    }
    positioned = ordered.map((ref, k) => {
      const p: Vec3 = [start[0] + k * step * normal[0], start[1] + k * step * normal[1], start[2] + k * step * normal[2]];
      return { ref, d: dot(p, normal), p };
    });
  }
  positioned.sort((a, b) => a.d - b.d || compareKeys(channelKey(a.ref), channelKey(b.ref)));

  // Group equal positions into channels.
  const groups: { d: number; p: Vec3; refs: FrameRef[] }[] = [];
  for (const e of positioned) {
    const g = groups[groups.length - 1];
    if (g && Math.abs(e.d - g.d) < POSITION_TOL) {
      if (norm(sub(e.p, g.p)) > 10 * POSITION_TOL + 0.1) {
        throw new VoxshiftError('INCONSISTENT_SERIES', `two frames at the same slice depth but ${norm(sub(e.p, g.p)).toFixed(2)} mm apart in the plane`, {
          file: e.ref.header.file,
        });
      }
      g.refs.push(e.ref);
    } else {
      groups.push({ d: e.d, p: e.p, refs: [e.ref] });
    }
  }
  const channels = groups[0].refs.length;
  if (!groups.every((g) => g.refs.length === channels)) {
    const counts = groups.map((g) => g.refs.length);
    throw new VoxshiftError('INCONSISTENT_SERIES', `slice positions hold different numbers of frames (${[...new Set(counts)].join(', ')}): missing or extra images`, {
      file,
      details: { framesPerPosition: counts },
    });
  }
  for (const g of groups) g.refs.sort((a, b) => compareKeys(channelKey(a), channelKey(b)));

  const origin = groups[0].p;
  const sliceOffsets = groups.map((g) => g.d - groups[0].d);
  let sliceSpacing: number;
  let uneven: SeriesLayout['uneven'];
  if (groups.length === 1) {
    sliceSpacing = nominalSliceSpacing(h0, first.frame, warnings);
  } else {
    // Tilt: the in-plane drift of the last slice relative to the first.
    let maxLateral = 0;
    for (const g of groups) {
      const v = sub(g.p, origin);
      const along = dot(v, normal);
      maxLateral = Math.max(maxLateral, norm([v[0] - along * normal[0], v[1] - along * normal[1], v[2] - along * normal[2]]));
    }
    // A drift below a quarter of the smallest pixel is ignored (with a warning above 0.1 mm): it
    // moves no voxel centre by more than a quarter voxel.
    const tiltTol = Math.max(TILT_LATERAL_TOL, TILT_PIXEL_FRACTION * Math.min(ps[0], ps[1]));
    if (maxLateral > TILT_LATERAL_TOL && maxLateral <= tiltTol) {
      warnings.push({
        code: 'DICOM_SMALL_DRIFT_IGNORED',
        message: `slice positions drift ${maxLateral.toFixed(3)} mm across the plane (under a quarter pixel): treated as an untilted stack`,
      });
    }
    if (maxLateral > tiltTol) {
      const last = sub(groups[groups.length - 1].p, origin);
      const along = dot(last, normal);
      const lateral = norm([last[0] - along * normal[0], last[1] - along * normal[1], last[2] - along * normal[2]]);
      const angle = (Math.atan2(lateral, Math.abs(along)) * 180) / Math.PI;
      throw new VoxshiftError(
        'GANTRY_TILT',
        `slice positions are not along the slice normal: gantry tilt of about ${angle.toFixed(2)}° (${maxLateral.toFixed(2)} mm drift across the plane); tilted stacks are not resampled (dcm2niix can correct tilt)`,
        { file, details: { tiltDegrees: angle, lateralDriftMm: maxLateral } },
      );
    }
    const gaps = sliceOffsets.slice(1).map((o, i) => o - sliceOffsets[i]);
    const m = median(gaps);
    const dev = Math.max(...gaps.map((g) => Math.abs(g - m)));
    if (dev > UNEVEN_TOL_MM && dev > UNEVEN_TOL_FRACTION * m) uneven = { gaps, median: m };
    sliceSpacing = sliceOffsets[sliceOffsets.length - 1] / (groups.length - 1);
  }
  const direction: Mat3 = [row[0], col[0], normal[0], row[1], col[1], normal[1], row[2], col[2], normal[2]];
  return {
    rows,
    columns,
    slices: groups.map((g) => g.refs),
    channels,
    sliceOffsets,
    spacing: [ps[1], ps[0], sliceSpacing],
    origin,
    direction,
    uneven,
    warnings,
  };
}
