/**
 * Comparison of a voxshift Volume with the dcm2niix / pydicom summaries in
 * test/fixtures/reference/dicom.json (made by scripts/reference/dcm2niix-summary.py).
 *
 * dcm2niix flips the row order (and its affine with it), so voxels are compared in world space: each
 * reference index goes through the reference affine to LPS millimetres, then through the inverse
 * of the volume's affine back to a voxel index, which must be a whole number.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { affineOf, invertAffine } from '../../../volumes/affine.ts';
import type { Volume } from '../../../volumes/volume.ts';
import { FIXTURES } from '../../helpers/shared-data.ts';

export interface Stats {
  sum: number;
  min: number;
  max: number;
  samples: [number, number][];
}

export interface Dcm2niixOutput extends Stats {
  name: string;
  shape: number[];
  datatype: string;
  affineLps: number[];
}

export interface Dcm2niixRef {
  returncode: number;
  outputs: Dcm2niixOutput[];
  messages: string[];
}

export interface PydicomRef extends Partial<Stats> {
  rows?: number;
  columns?: number;
  frames?: number;
  samplesPerPixel?: number;
  photometric?: string;
  arrayShape?: number[];
  rescaleApplied?: boolean;
  pixelError?: string;
  error?: string;
  imagePositionPatient?: number[] | null;
  pixelSpacing?: number[] | null;
}

export interface DicomReference {
  series: Record<string, { dcm2niix: Dcm2niixRef }>;
  files: Record<string, { dcm2niix: Dcm2niixRef; pydicom: PydicomRef }>;
}

let cached: DicomReference | undefined;
export function dicomReference(): DicomReference {
  cached ??= JSON.parse(readFileSync(join(FIXTURES, 'reference', 'dicom.json'), 'utf8')) as DicomReference;
  return cached;
}

function mul(a: readonly number[], v: readonly number[]): number[] {
  return [0, 1, 2].map((r) => a[r * 4] * v[0] + a[r * 4 + 1] * v[1] + a[r * 4 + 2] * v[2] + a[r * 4 + 3]);
}

/** Unravels a Fortran-order (x fastest) index. */
export function unravel(index: number, shape: readonly number[]): number[] {
  const out: number[] = [];
  let r = index;
  for (const n of shape) {
    out.push(r % n);
    r = Math.floor(r / n);
  }
  return out;
}

export interface CompareOptions {
  /** Geometry tolerance in mm (corner positions). */
  mm?: number;
  /** Absolute tolerance on voxel values. */
  valueTol?: number;
  /** Which channel of the volume the output corresponds to (dcm2niix splits some series). */
  channel?: number;
  /** Replace the reference's slice axis (column 2 of the affine) — for resampled series. */
  sliceAxisOverride?: number[];
  /** Only compare samples on these reference slices. */
  slices?: number[];
  /** Skip sum/min/max (e.g. when only some slices are comparable). */
  skipStats?: boolean;
  /** Compare shape and sum/min/max only: for images with no geometry, where dcm2niix invents one. */
  valuesOnly?: boolean;
  /** Compare geometry only (dcm2niix decodes this codec differently). */
  geometryOnly?: boolean;
  /** Voxels must agree up to one linear map ours·a + b (dcm2niix scaled them differently). */
  linearValues?: boolean;
}

/** Geometry (all 8 grid corners in world space) and voxel values against one dcm2niix output. */
export function expectMatchesDcm2niix(vol: Volume, ref: Dcm2niixOutput, opts: CompareOptions = {}): void {
  const mm = opts.mm ?? 1e-3;
  const refShape = ref.shape;
  const spatial = [refShape[0], refShape[1], refShape[2] ?? 1];
  const refChannels = refShape.slice(3).reduce((a, b) => a * b, 1);
  expect([...vol.shape]).toEqual(spatial);
  if (opts.channel === undefined) expect(vol.channels).toBe(refChannels);
  if (opts.valuesOnly) {
    const { sum, min, max } = channelStats(vol);
    const tol = opts.valueTol ?? 0;
    const count = vol.data.length;
    expect(Math.abs(min - ref.min)).toBeLessThanOrEqual(tol + 1e-4 * Math.abs(ref.min));
    expect(Math.abs(max - ref.max)).toBeLessThanOrEqual(tol + 1e-4 * Math.abs(ref.max));
    expect(Math.abs(sum - ref.sum)).toBeLessThanOrEqual(tol * count + 1e-6 * Math.abs(ref.sum) + 1e-3);
    return;
  }
  const R = [...ref.affineLps];
  if (opts.sliceAxisOverride) for (let r = 0; r < 3; r++) R[r * 4 + 2] = opts.sliceAxisOverride[r];
  for (let a = 0; a < 3; a++) {
    const refSpacing = Math.hypot(R[a], R[4 + a], R[8 + a]);
    expect(Math.abs(refSpacing - vol.spacing[a]) * spatial[a], `spacing axis ${a}: ref ${refSpacing}, ours ${vol.spacing[a]}`).toBeLessThan(mm + 1e-6 * spatial[a]);
  }
  const A = affineOf(vol);
  const inv = invertAffine(A);
  // Every corner of the reference grid must be a corner of ours, at the same world position.
  const corners: number[][] = [];
  for (const i of [0, spatial[0] - 1]) for (const j of [0, spatial[1] - 1]) for (const k of [0, spatial[2] - 1]) corners.push([i, j, k]);
  const ourCorners = corners.map((c) => mul(inv, mul(R, c)));
  for (const [n, oc] of ourCorners.entries()) {
    for (let a = 0; a < 3; a++) {
      const nearest = Math.round(oc[a]);
      expect(Math.abs(oc[a] - nearest) * vol.spacing[a], `corner ${corners[n].join(',')} axis ${a}`).toBeLessThan(mm);
      expect(nearest === 0 || nearest === vol.shape[a] - 1, `corner ${corners[n].join(',')} maps to ${oc.join(',')}`).toBe(true);
    }
  }
  if (opts.geometryOnly) return;
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  const tol = opts.valueTol ?? 0;
  const pairs: [number, number][] = [];
  for (const [index, value] of ref.samples) {
    const idx = unravel(index, [...spatial, refChannels]);
    if (opts.slices && !opts.slices.includes(idx[2])) continue;
    const ours = mul(inv, mul(R, idx.slice(0, 3))).map(Math.round);
    const channel = (opts.channel ?? 0) + idx[3];
    const v = vol.data[channel * n + ours[0] + vol.shape[0] * (ours[1] + vol.shape[1] * ours[2])];
    pairs.push([v, value]);
    if (opts.linearValues) continue;
    expect(Math.abs(v - value), `voxel ref ${idx.join(',')} = ${value}, ours ${ours.join(',')} = ${v}`).toBeLessThanOrEqual(tol + 1e-4 * Math.abs(value));
  }
  if (opts.linearValues) {
    const [p0, p1] = [pairs.reduce((a, b) => (b[0] < a[0] ? b : a)), pairs.reduce((a, b) => (b[0] > a[0] ? b : a))];
    expect(p1[0]).toBeGreaterThan(p0[0]);
    const a = (p1[1] - p0[1]) / (p1[0] - p0[0]);
    const b = p0[1] - a * p0[0];
    const range = Math.abs(p1[1] - p0[1]);
    for (const [ours, theirs] of pairs) expect(Math.abs(ours * a + b - theirs), `${ours}·${a}+${b} vs ${theirs}`).toBeLessThanOrEqual(1e-4 * range);
    return;
  }
  if (!opts.skipStats) {
    const { sum, min, max } = channelStats(vol, opts.channel, opts.channel === undefined ? vol.channels : refChannels);
    expect(Math.abs(min - ref.min)).toBeLessThanOrEqual(tol + 1e-4 * Math.abs(ref.min));
    expect(Math.abs(max - ref.max)).toBeLessThanOrEqual(tol + 1e-4 * Math.abs(ref.max));
    expect(Math.abs(sum - ref.sum)).toBeLessThanOrEqual(tol * n * refChannels + 1e-6 * Math.abs(ref.sum) + 1e-3);
  }
}

export function channelStats(vol: Volume, first = 0, count = vol.channels): { sum: number; min: number; max: number } {
  const n = vol.shape[0] * vol.shape[1] * vol.shape[2];
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = first * n; i < (first + count) * n; i++) {
    const v = vol.data[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { sum, min, max };
}

/** Voxel values against pydicom's pixel_array (frames in file order = slices, planar samples). */
export function expectMatchesPydicom(vol: Volume, ref: PydicomRef, valueTol = 0): void {
  if (!ref.samples || ref.sum === undefined || ref.min === undefined || ref.max === undefined) throw new Error('no pydicom pixels in the reference');
  expect(vol.data.length).toBe((ref.arrayShape ?? []).reduce((a, b) => a * b, 1));
  for (const [index, value] of ref.samples) {
    expect(Math.abs(vol.data[index] - value), `pydicom flat index ${index}`).toBeLessThanOrEqual(valueTol + 1e-4 * Math.abs(value));
  }
  const { sum, min, max } = channelStats(vol);
  expect(Math.abs(min - ref.min)).toBeLessThanOrEqual(valueTol + 1e-4 * Math.abs(ref.min));
  expect(Math.abs(max - ref.max)).toBeLessThanOrEqual(valueTol + 1e-4 * Math.abs(ref.max));
  expect(Math.abs(sum - ref.sum)).toBeLessThanOrEqual(valueTol * vol.data.length + 1e-6 * Math.abs(ref.sum) + 1e-3);
}
