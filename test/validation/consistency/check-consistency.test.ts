/**
 * checkConsistency between CT images: identical images pass; an injected bone blob is reported as
 * hallucinated at its world position with its volume; a removed one as removed; the reference
 * comparison; JSON round trip and input errors. Synthetic CTs use anisotropic spacing and a
 * tilted grid so positions must go through the affine.
 */
import { describe, expect, it } from 'vitest';
import { voxelToWorld } from '../../../volumes/affine.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { createRng, normal } from '../../../volumes/random.ts';
import { createVolume, deriveVolume } from '../../../volumes/volume.ts';
import type { Mat3, Shape3, Volume } from '../../../volumes/volume.ts';
import { checkConsistency, checkConsistencyDetailed } from '../../../validation/consistency/check-consistency.ts';
import { ctSegmenter } from '../../../validation/segment/ct-segmenter.ts';

function tilted(): Mat3 {
  const a = (15 * Math.PI) / 180;
  const b = (-25 * Math.PI) / 180;
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const rz = [Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b), 0, 0, 0, 1];
  const m = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) m[i * 3 + j] += rz[i * 3 + k] * rx[k * 3 + j];
  return m as unknown as Mat3;
}

const shape: Shape3 = [64, 56, 28];
const spacing = [1.1, 1.3, 2.4] as const;

/** A CT "trunk": soft tissue (40 HU) in an ellipsoid, a fat layer (5 mm) under its surface, air outside, 8 HU noise. */
function trunk(seed: number, fatMm = 5): Volume<Float32Array> {
  const rng = createRng(seed);
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  const c = shape.map((n) => (n - 1) / 2);
  for (let k = 0, p = 0; k < shape[2]; k++) {
    for (let j = 0; j < shape[1]; j++) {
      for (let i = 0; i < shape[0]; i++, p++) {
        const x = ((i - c[0]) * spacing[0]) / 32;
        const y = ((j - c[1]) * spacing[1]) / 32;
        const z = ((k - c[2]) * spacing[2]) / 30;
        const r = Math.hypot(x, y, z);
        const hu = r > 1 ? -1000 : r > 1 - fatMm / 32 ? -100 : 40;
        data[p] = hu + normal(rng, 0, 8);
      }
    }
  }
  return createVolume({ data, shape, spacing, origin: [20, -35, 110], direction: tilted(), modality: 'CT', meta: { units: 'HU' } });
}

/** Paints a sphere of `hu` (radius mm, world centre) with partial volume from 4×4×4 sub-samples. */
function withSphere(vol: Volume<Float32Array>, centre: readonly number[], radius: number, hu: number): Volume<Float32Array> {
  const data = Float32Array.from(vol.data);
  for (let k = 0, p = 0; k < shape[2]; k++) {
    for (let j = 0; j < shape[1]; j++) {
      for (let i = 0; i < shape[0]; i++, p++) {
        const w = voxelToWorld(vol, [i, j, k]);
        if (Math.hypot(w[0] - centre[0], w[1] - centre[1], w[2] - centre[2]) > radius + 3) continue;
        let inside = 0;
        for (const a of [-0.375, -0.125, 0.125, 0.375]) {
          for (const b of [-0.375, -0.125, 0.125, 0.375]) {
            for (const e of [-0.375, -0.125, 0.125, 0.375]) {
              const q = voxelToWorld(vol, [i + a, j + b, k + e]);
              if (Math.hypot(q[0] - centre[0], q[1] - centre[1], q[2] - centre[2]) <= radius) inside++;
            }
          }
        }
        const f = inside / 64;
        data[p] = (1 - f) * data[p] + f * hu;
      }
    }
  }
  return deriveVolume<Float32Array>(vol, { data });
}

const ct = trunk(1);
const centre = voxelToWorld(ct, [36, 24, 15]);
const radius = 7;
const sphereMm3 = (4 / 3) * Math.PI * radius ** 3;

describe('checkConsistency', () => {
  it('passes identical images with no findings, and the report survives a JSON round trip', () => {
    const r = checkConsistency({ source: ct, synthetic: ct });
    expect(r.verdict).toBe('pass');
    expect(r.reasons).toEqual([]);
    expect(r.findings).toEqual([]);
    expect(r.reference).toBeNull();
    expect(r.source.segmenters).toEqual({ baseline: 'ct-hu', synthetic: 'ct-hu' });
    for (const c of r.source.classes) {
      expect(c.dice).toBe(1);
      expect(c.volumeChangePercent === null || c.volumeChangePercent === 0).toBe(true);
    }
    const soft = r.source.classes.find((c) => c.name === 'soft');
    expect(soft?.baselineMm3).toBeGreaterThan(50_000);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    // a lightly noised copy passes too
    const noisy = deriveVolume<Float32Array>(ct, { data: trunk(2).data });
    expect(checkConsistency({ source: ct, synthetic: noisy }).verdict).toBe('pass');
  });

  it('reports an injected bone blob as hallucinated bone at its world position, with its volume', () => {
    const synthetic = withSphere(ct, centre, radius, 1500);
    const { report, maps } = checkConsistencyDetailed({ source: ct, synthetic });
    expect(report.verdict).toBe('fail');
    const bone = report.findings.filter((f) => f.type === 'hallucinated' && f.className === 'bone');
    expect(bone).toHaveLength(1);
    const [f] = bone;
    expect(f.against).toBe('source');
    expect(f.otherClassName).toBe('soft');
    expect(Math.hypot(f.centroidWorld[0] - centre[0], f.centroidWorld[1] - centre[1], f.centroidWorld[2] - centre[2])).toBeLessThan(1);
    expect(Math.abs(f.volumeMm3 - sphereMm3) / sphereMm3).toBeLessThan(0.2);
    expect(f.slice.axis).toBe(2);
    expect(Math.abs(f.slice.index - 15)).toBeLessThanOrEqual(1);
    expect(f.bbox.min[2]).toBeLessThanOrEqual(13);
    expect(f.bbox.max[2]).toBeGreaterThanOrEqual(17);
    // the soft tissue the blob replaced is reported as removed, at the same place
    const soft = report.findings.find((x) => x.type === 'removed' && x.className === 'soft');
    expect(soft).toBeDefined();
    expect(Math.hypot(soft!.centroidWorld[0] - centre[0], soft!.centroidWorld[1] - centre[1], soft!.centroidWorld[2] - centre[2])).toBeLessThan(1.5);
    expect(report.findings).toHaveLength(2);
    expect(report.reasons[0]).toMatch(/^hallucinated bone: 1\.\d\d cm³ at \(/);
    // the maps mark the finding's voxels with its id
    const centreVoxel = 36 + shape[0] * (24 + shape[1] * 15);
    expect(maps.hallucinated.data[centreVoxel]).toBe(f.id);
    expect(maps.removed.data[centreVoxel]).toBe(soft!.id);
    expect(maps.segmentations.synthetic.data[centreVoxel]).toBe(5);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('reports a blob present in the source only as removed', () => {
    const source = withSphere(ct, centre, radius, -100);
    const r = checkConsistency({ source, synthetic: ct });
    const fat = r.findings.filter((f) => f.type === 'removed' && f.className === 'fat');
    expect(fat).toHaveLength(1);
    expect(Math.hypot(fat[0].centroidWorld[0] - centre[0], fat[0].centroidWorld[1] - centre[1], fat[0].centroidWorld[2] - centre[2])).toBeLessThan(1);
    expect(Math.abs(fat[0].volumeMm3 - sphereMm3) / sphereMm3).toBeLessThan(0.2);
    expect(r.findings.some((f) => f.type === 'hallucinated' && f.className === 'soft')).toBe(true);
    expect(r.verdict).toBe('fail');
  });

  it('tolerates borders drawn up to toleranceVoxels elsewhere, however large the area', () => {
    // the fat layer 1.5 mm (about a voxel) thicker all round: cm³ of "new fat", all of it along the old border
    const thicker = deriveVolume<Float32Array>(ct, { data: trunk(1, 6.5).data });
    const r = checkConsistency({ source: ct, synthetic: thicker });
    expect(r.verdict).toBe('pass');
    const fat = r.source.classes.find((c) => c.name === 'fat');
    expect(fat?.volumeChangePercent).toBeGreaterThan(15);
    const strict = checkConsistency({ source: ct, synthetic: thicker, thresholds: { toleranceVoxels: 0, openingVoxels: 0 } });
    const big = strict.findings.find((f) => f.type === 'hallucinated' && f.className === 'fat');
    expect(big?.volumeMm3).toBeGreaterThan(5000);
  });

  it('ignores findings below minVolumeMm3 but counts them, and applies class-level limits', () => {
    const small = withSphere(ct, centre, 3, 1500); // 113 mm³
    const r = checkConsistency({ source: ct, synthetic: small });
    expect(r.findings).toEqual([]);
    expect(r.verdict).toBe('pass');
    expect(r.source.dropped.count).toBeGreaterThan(0);
    const strict = checkConsistency({ source: ct, synthetic: small, thresholds: { minVolumeMm3: 20 } });
    expect(strict.findings.some((f) => f.className === 'bone')).toBe(true);
    // bone goes from nothing to a blob: Dice 0 for the bone class once the class-level limits apply to it
    const limits = checkConsistency({ source: ct, synthetic: small, thresholds: { minDice: 0.9, minClassVolumeMm3: 0 } });
    expect(limits.verdict).toBe('fail');
    expect(limits.reasons.some((x) => /^bone: Dice 0\.000 against the source is below 0\.9$/.test(x))).toBe(true);
  });

  it('compares the synthetic image with the reference as well', () => {
    const reference = withSphere(ct, centre, radius, 1500);
    const r = checkConsistency({ source: ct, synthetic: ct, reference });
    expect(r.source.findings).toEqual([]);
    expect(r.reference?.against).toBe('reference');
    const removed = r.reference?.findings.find((f) => f.type === 'removed' && f.className === 'bone');
    expect(removed?.against).toBe('reference');
    expect(r.findings).toEqual([...r.source.findings, ...(r.reference?.findings ?? [])]);
    expect(r.verdict).toBe('fail');
    expect(r.reasons.some((x) => x.includes('the synthetic image shows soft there'))).toBe(true);
  });

  it('rejects volumes on different grids, unknown modalities and bad thresholds', () => {
    const other = createVolume({ ...ct, data: ct.data, spacing: [1, 1, 1] });
    const expectCode = (fn: () => unknown, code: 'GEOMETRY_MISMATCH' | 'INVALID_ARGUMENT', pattern: RegExp): void => {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, code)).toBe(true);
        expect((e as Error).message).toMatch(pattern);
      }
    };
    expectCode(() => checkConsistency({ source: ct, synthetic: other }), 'GEOMETRY_MISMATCH', /synthetic .* is not on the grid of source/);
    const unknown = createVolume({ ...ct, data: ct.data, modality: 'OT', meta: {} });
    expectCode(() => checkConsistency({ source: ct, synthetic: unknown }), 'INVALID_ARGUMENT', /pass a segmenter/);
    expectCode(() => checkConsistency({ source: ct, synthetic: ct, thresholds: { minVolumeMm3: -1 } }), 'INVALID_ARGUMENT', /minVolumeMm3/);
    expectCode(() => checkConsistency({ source: ct, synthetic: ct, thresholds: { connectivity: 4 as 6 } }), 'INVALID_ARGUMENT', /connectivity/);
    const seg = ctSegmenter().segment(ct);
    const bad = deriveVolume<Uint8Array>(seg, { data: Uint8Array.from(seg.data, (v) => (v === 3 ? 4 : v)) });
    expectCode(() => checkConsistency({ source: ct, synthetic: ct, segmentations: { source: bad } }), 'INVALID_ARGUMENT', /label 4/);
  });
});
