/**
 * A JSON-serialisable summary of a volume: what `voxshift info` prints and the service returns.
 */
import { affineOf } from './affine.ts';
import { orientationCode } from './orientation.ts';
import { dtypeOf, type DType, type Volume } from './volume.ts';

export interface VolumeSummary {
  shape: [number, number, number];
  channels: number;
  dtype: DType;
  spacing: [number, number, number];
  origin: [number, number, number];
  /** Row-major 3×3, columns are the axis directions (LPS). */
  direction: number[];
  /** Voxel→world (LPS mm) affine, row-major 4×4. */
  affine: number[];
  orientation: string;
  kind: Volume['kind'];
  modality: Volume['modality'];
  units: string;
  range: { min: number; max: number; nonFinite: number };
  source?: string;
  format?: string;
  description?: string;
  warnings: { code: string; message: string }[];
  history: string[];
}

function valueRange(data: ArrayLike<number>): { min: number; max: number; nonFinite: number } {
  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (!Number.isFinite(v)) nonFinite++;
  }
  if (nonFinite > 0) {
    min = Infinity;
    max = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { min, max, nonFinite };
}

export function describeVolume(vol: Volume): VolumeSummary {
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    shape: [...vol.shape],
    channels: vol.channels,
    dtype: dtypeOf(vol.data),
    spacing: vol.spacing.map(round) as [number, number, number],
    origin: vol.origin.map(round) as [number, number, number],
    direction: vol.direction.map(round),
    affine: affineOf(vol).map(round),
    orientation: orientationCode(vol),
    kind: vol.kind,
    modality: vol.modality,
    units: vol.meta.units ?? 'unknown',
    range: valueRange(vol.data),
    ...(vol.meta.source !== undefined ? { source: vol.meta.source } : {}),
    ...(vol.meta.format !== undefined ? { format: vol.meta.format } : {}),
    ...(vol.meta.description !== undefined ? { description: vol.meta.description } : {}),
    warnings: vol.meta.warnings.map((w) => ({ code: w.code, message: w.message })),
    history: vol.history.map((h) => h.op),
  };
}

/** The summary as aligned human-readable lines. */
export function formatVolumeSummary(s: VolumeSummary): string {
  const f = (xs: readonly number[], digits = 4) => xs.map((x) => Number(x.toFixed(digits))).join(', ');
  const lines = [
    `shape        ${s.shape.join(' × ')}${s.channels > 1 ? ` × ${s.channels} channels` : ''} (${s.dtype})`,
    `spacing      ${f(s.spacing)} mm`,
    `origin       ${f(s.origin, 3)} mm (LPS)`,
    `direction    [${f(s.direction.slice(0, 3))}; ${f(s.direction.slice(3, 6))}; ${f(s.direction.slice(6, 9))}]`,
    `orientation  ${s.orientation}`,
    `modality     ${s.modality} (${s.kind}, units ${s.units})`,
    `range        ${s.range.min} .. ${s.range.max}${s.range.nonFinite > 0 ? ` (${s.range.nonFinite} non-finite values!)` : ''}`,
  ];
  if (s.description) lines.push(`description  ${s.description}`);
  if (s.source) lines.push(`source       ${s.source}${s.format ? ` (${s.format})` : ''}`);
  for (const w of s.warnings) lines.push(`warning      ${w.code}: ${w.message}`);
  return lines.join('\n');
}
