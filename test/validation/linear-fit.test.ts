/** The linear MR → HU baseline: exact recovery on exact data, masks, and the errors for unfit inputs. */
import { describe, expect, it } from 'vitest';
import { applyLinearMapping, fitLinearMapping } from '../../validation/linear-fit.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { createVolume, type Volume } from '../../volumes/volume.ts';

const SHAPE = [6, 5, 4] as const;
const N = SHAPE[0] * SHAPE[1] * SHAPE[2];
const GEOMETRY = { spacing: [0.9, 1.2, 3], origin: [-20, 10, 5], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] };

function vol(values: (p: number) => number, extra: { modality?: 'MR' | 'CT' } = {}): Volume<Float32Array> {
  return createVolume({ data: Float32Array.from({ length: N }, (_, p) => values(p)), shape: SHAPE, ...GEOMETRY, modality: extra.modality ?? 'MR' });
}

function thrown(fn: () => unknown): VoxshiftError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VoxshiftError) return e;
    throw e;
  }
  throw new Error('expected a VoxshiftError');
}

// Integer-valued source and target: every value and sum is exact, so the fit must be too.
const mrValue = (p: number): number => 100 + ((p * 37) % 61) * 5;

describe('fitLinearMapping', () => {
  it('recovers a known slope and intercept exactly, over several pairs', () => {
    const s1 = vol(mrValue);
    const s2 = vol((p) => 40 + ((p * 13) % 29) * 3);
    const t1 = vol((p) => 3 * mrValue(p) - 1000, { modality: 'CT' });
    const t2 = vol((p) => 3 * (40 + ((p * 13) % 29) * 3) - 1000, { modality: 'CT' });
    const fit = fitLinearMapping([
      { source: s1, target: t1 },
      { source: s2, target: t2 },
    ]);
    expect(fit.slope).toBe(3);
    expect(fit.intercept).toBe(-1000);
    expect(fit.samples).toBe(2 * N);
  });

  it('is the least-squares line on noisy data (matches the closed form)', () => {
    const x = Array.from({ length: N }, (_, p) => mrValue(p));
    const y = x.map((v, p) => Math.fround(0.5 * v + 7 + ((p % 3) - 1) * 4));
    const fit = fitLinearMapping([{ source: vol((p) => x[p]), target: vol((p) => y[p]) }]);
    const mx = x.reduce((a, b) => a + b, 0) / N;
    const my = y.reduce((a, b) => a + b, 0) / N;
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < N; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) ** 2;
    }
    expect(fit.slope).toBeCloseTo(sxy / sxx, 12);
    expect(fit.intercept).toBeCloseTo(my - (sxy / sxx) * mx, 9);
  });

  it('stays exact when the source mean is large against its spread', () => {
    const src = vol((p) => 30000 + (p % 7) * 0.0625);
    const fit = fitLinearMapping([{ source: src, target: vol((p) => 2 * (30000 + (p % 7) * 0.0625) - 5) }]);
    expect(fit.slope).toBeCloseTo(2, 9);
    expect(fit.intercept).toBeCloseTo(-5, 4);
  });

  it('uses only the voxels inside the mask', () => {
    const inside = (p: number): boolean => p % 3 !== 0;
    const src = vol(mrValue);
    // Outside the mask the target follows another line (and even holds NaN): both are ignored.
    const tgt = vol((p) => (inside(p) ? -2 * mrValue(p) + 50 : p === 0 ? Number.NaN : 9999));
    const mask = createVolume({ data: Uint8Array.from({ length: N }, (_, p) => (inside(p) ? 1 : 0)), shape: SHAPE, ...GEOMETRY, kind: 'label' });
    const fit = fitLinearMapping([{ source: src, target: tgt, mask }]);
    expect(fit.slope).toBe(-2);
    expect(fit.intercept).toBe(50);
    expect(fit.samples).toBe(Array.from({ length: N }, (_, p) => p).filter(inside).length);
  });

  it('a target or mask on another grid is GEOMETRY_MISMATCH naming the input', () => {
    const src = vol(mrValue);
    const shifted = createVolume({ data: new Float32Array(N), shape: SHAPE, ...GEOMETRY, origin: [-20, 10, 6] });
    const e = thrown(() => fitLinearMapping([{ source: src, target: shifted }]));
    expect(e.code).toBe('VOXSHIFT_E_GEOMETRY_MISMATCH');
    expect(e.param).toBe('pairs[0].target');
    const mask = createVolume({ data: new Uint8Array(N).fill(1), shape: [6, 4, 5], ...GEOMETRY, kind: 'label' });
    const e2 = thrown(() => fitLinearMapping([{ source: src, target: vol(mrValue), mask }]));
    expect(e2.code).toBe('VOXSHIFT_E_GEOMETRY_MISMATCH');
    expect(e2.param).toBe('pairs[0].mask');
  });

  it('a constant source cannot be fitted, whatever its value and voxel count', () => {
    for (const c of [0.1, 0.3, 7.7, 1234.567]) {
      for (const n of [10, 999, 4096]) {
        const src = createVolume({ data: new Float32Array(n).fill(c), shape: [n, 1, 1] });
        const tgt = createVolume({ data: Float32Array.from({ length: n }, (_, i) => i), shape: [n, 1, 1] });
        const e = thrown(() => fitLinearMapping([{ source: src, target: tgt }]));
        expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
        expect(e.message).toMatch(/constant source/);
      }
    }
  });

  it('no pairs, an empty mask, and non-finite voxels inside the mask are errors', () => {
    expect(thrown(() => fitLinearMapping([])).param).toBe('pairs');
    const empty = createVolume({ data: new Uint8Array(N), shape: SHAPE, ...GEOMETRY, kind: 'label' });
    const e = thrown(() => fitLinearMapping([{ source: vol(mrValue), target: vol(mrValue), mask: empty }]));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.message).toMatch(/0 voxels/);
    const nan = thrown(() => fitLinearMapping([{ source: vol(mrValue), target: vol((p) => (p === 7 ? Number.POSITIVE_INFINITY : p)) }]));
    expect(nan.code).toBe('VOXSHIFT_E_NON_FINITE_VALUES');
    expect(nan.message).toContain('index 7');
  });
});

describe('applyLinearMapping', () => {
  it('maps every voxel on the source grid and labels the result with the target modality and units', () => {
    const src = vol(mrValue);
    const out = applyLinearMapping(src, { slope: 3, intercept: -1000, samples: N }, { modality: 'CT', units: 'HU' });
    expect(out.shape).toEqual(src.shape);
    expect(out.spacing).toEqual(src.spacing);
    expect(out.origin).toEqual(src.origin);
    expect(out.direction).toEqual(src.direction);
    expect(out.modality).toBe('CT');
    expect(out.meta.units).toBe('HU');
    expect(out.data[0]).toBe(3 * mrValue(0) - 1000);
    expect(out.data[N - 1]).toBe(3 * mrValue(N - 1) - 1000);
    expect(out.history.at(-1)).toEqual({ op: 'linearMapping', params: { slope: 3, intercept: -1000 } });
  });
});
