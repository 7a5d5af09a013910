import { describe, expect, it } from 'vitest';
import { voxelToWorld } from '../../volumes/affine.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { extractPatch, foregroundIndex, gaussianWeights, insertPatch, patchGrid, randomPatchStart } from '../../volumes/patches.ts';
import { createRng } from '../../volumes/random.ts';
import { voxelIndex } from '../../volumes/volume.ts';
import { synthetic } from './synthetic-volume.ts';

describe('extractPatch / insertPatch', () => {
  it('copies a patch with its geometry and writes it back', () => {
    const vol = synthetic({ shape: [7, 6, 5], channels: 2, dtype: 'uint16' });
    const p = extractPatch(vol, [2, 1, 3], [4, 5, 2]);
    expect(p.shape).toEqual([4, 5, 2]);
    p.origin.forEach((x, a) => expect(x).toBeCloseTo(voxelToWorld(vol, [2, 1, 3])[a], 9));
    expect(p.data[0]).toBe(vol.data[voxelIndex(vol.shape, 2, 1, 3)]);
    expect(p.data[p.data.length - 1]).toBe(vol.data[7 * 6 * 5 + voxelIndex(vol.shape, 5, 5, 4)]);
    const target = synthetic({ shape: [7, 6, 5], channels: 2, dtype: 'uint16', value: () => 0 });
    insertPatch(target, p, [2, 1, 3]);
    const back = extractPatch(target, [2, 1, 3], [4, 5, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(p.data));
    expect(target.data[voxelIndex(vol.shape, 1, 1, 3)]).toBe(0);
  });

  it("accumulates weighted patches with mode 'add' (sliding-window blending)", () => {
    const acc = { data: new Float32Array(6 * 4 * 3), shape: [6, 4, 3] as const };
    const norm = { data: new Float32Array(6 * 4 * 3), shape: [6, 4, 3] as const };
    const size = [4, 4, 3];
    const w = gaussianWeights(size);
    const ones = { data: new Float32Array(48).fill(1), shape: size };
    const twos = { data: new Float32Array(48).fill(2), shape: size };
    for (const start of patchGrid([6, 4, 3], size, 0.5)) {
      insertPatch(acc, twos, start, { mode: 'add', weights: w });
      insertPatch(norm, ones, start, { mode: 'add', weights: w });
    }
    for (let p = 0; p < acc.data.length; p++) expect(acc.data[p] / norm.data[p]).toBeCloseTo(2, 5);
    try {
      insertPatch(acc, twos, [3, 0, 0]);
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('patchGrid', () => {
  it('steps by patch × (1 − overlap) and ends flush with the edge', () => {
    const g = patchGrid([10, 11, 4], [4, 4, 4], 0.5);
    const xs = [...new Set(g.map((s) => s[0]))];
    const ys = [...new Set(g.map((s) => s[1]))];
    expect(xs).toEqual([0, 2, 4, 6]);
    expect(ys).toEqual([0, 2, 4, 6, 7]);
    expect(new Set(g.map((s) => s[2]))).toEqual(new Set([0]));
    expect(g).toHaveLength(20);
    expect(g[1]).toEqual([2, 0, 0]);
    expect(patchGrid([8, 8, 8], [8, 8, 8])).toEqual([[0, 0, 0]]);
    expect(patchGrid([9, 5, 5], [4, 5, 5], 0).map((s) => s[0])).toEqual([0, 4, 5]);
  });

  it('covers every voxel for random shapes and overlaps', () => {
    const rng = createRng(5);
    for (let t = 0; t < 30; t++) {
      const shape = [1 + Math.floor(rng() * 20), 1 + Math.floor(rng() * 20), 1 + Math.floor(rng() * 20)];
      const patch = shape.map((n) => 1 + Math.floor(rng() * n));
      const cover = new Uint8Array(shape[0] * shape[1] * shape[2]);
      for (const s of patchGrid(shape, patch, rng() * 0.9)) {
        for (let a = 0; a < 3; a++) expect(s[a] + patch[a]).toBeLessThanOrEqual(shape[a]);
        for (let k = 0; k < patch[2]; k++)
          for (let j = 0; j < patch[1]; j++) for (let i = 0; i < patch[0]; i++) cover[voxelIndex(shape as never, s[0] + i, s[1] + j, s[2] + k)] = 1;
      }
      expect(cover.every((c) => c === 1)).toBe(true);
    }
  });

  it('rejects patches larger than the volume and bad overlaps', () => {
    for (const f of [() => patchGrid([4, 4, 4], [5, 4, 4]), () => patchGrid([4, 4, 4], [2, 2, 2], 1), () => patchGrid([4, 4, 4], [2, 2, 2], -0.1)]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });
});

describe('gaussianWeights', () => {
  it('is a symmetric gaussian with maximum 1 and no zero weights', () => {
    const size = [8, 5, 6];
    const w = gaussianWeights(size, 0.125);
    expect(w).toHaveLength(240);
    const at = (i: number, j: number, k: number): number => w[i + 8 * (j + 5 * k)];
    let max = 0;
    for (const v of w) max = Math.max(max, v);
    expect(max).toBeCloseTo(at(3, 2, 2), 7);
    expect(at(3, 2, 2)).toBeLessThanOrEqual(1);
    expect(gaussianWeights([5, 5, 5])[2 + 5 * (2 + 5 * 2)]).toBe(1);
    expect(at(0, 1, 2)).toBeCloseTo(at(7, 3, 3), 7);
    const g = (x: number, n: number): number => Math.exp(-((x - (n - 1) / 2) ** 2) / (2 * (0.125 * n) ** 2));
    const expected = (g(1, 8) / g(3, 8)) * (g(4, 5) / g(2, 5)) * (g(0, 6) / g(2, 6)) * at(3, 2, 2);
    expect(at(1, 4, 0)).toBeCloseTo(expected, 6);
    expect(w.every((v) => v > 0)).toBe(true);
  });
});

describe('randomPatchStart', () => {
  const shape = [20, 16, 12] as const;
  const size = [8, 6, 4];
  const mask = { data: new Uint8Array(20 * 16 * 12), shape };
  mask.data[voxelIndex(shape, 18, 2, 9)] = 1;
  mask.data[voxelIndex(shape, 3, 14, 1)] = 1;

  it('is reproducible from the seed and always inside the volume', () => {
    const a = createRng(9);
    const b = createRng(9);
    for (let t = 0; t < 200; t++) {
      const s = randomPatchStart(shape, size, a);
      expect(s).toEqual(randomPatchStart(shape, size, b));
      for (let ax = 0; ax < 3; ax++) expect(s[ax] >= 0 && s[ax] + size[ax] <= shape[ax]).toBe(true);
    }
  });

  it('centres on foreground voxels with probability foregroundProb and reaches all starts otherwise', () => {
    const rng = createRng(1);
    const fg = foregroundIndex(mask);
    expect(Array.from(fg.indices)).toEqual([voxelIndex(shape, 3, 14, 1), voxelIndex(shape, 18, 2, 9)].sort((x, y) => x - y));
    const contains = (s: readonly number[], v: readonly number[]): boolean => [0, 1, 2].every((a) => v[a] >= s[a] && v[a] < s[a] + size[a]);
    for (let t = 0; t < 100; t++) {
      const s = randomPatchStart(shape, size, rng, t % 2 ? fg : mask, 1);
      expect(contains(s, [18, 2, 9]) || contains(s, [3, 14, 1])).toBe(true);
    }
    let hits = 0;
    const seen = new Set<number>();
    for (let t = 0; t < 2000; t++) {
      const s = randomPatchStart(shape, size, rng, fg, 0.3);
      if (contains(s, [18, 2, 9]) || contains(s, [3, 14, 1])) hits++;
      seen.add(s[0]);
    }
    expect(hits / 2000).toBeGreaterThan(0.3);
    expect(hits / 2000).toBeLessThan(0.45);
    expect(seen.size).toBe(13);
    // an empty mask falls back to uniform starts
    const empty = { data: new Uint8Array(20 * 16 * 12), shape };
    expect(() => randomPatchStart(shape, size, rng, empty, 1)).not.toThrow();
  });

  it('rejects a patch larger than the volume and a bad probability', () => {
    for (const f of [() => randomPatchStart(shape, [21, 1, 1], createRng(1)), () => randomPatchStart(shape, size, createRng(1), mask, 2)]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });
});
