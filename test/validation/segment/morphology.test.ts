/** Morphology: EDT-based erosion/dilation against a brute-force ball, the cross shortcuts, label clean-up. */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../volumes/random.ts';
import type { Shape3, Vec3 } from '../../../volumes/volume.ts';
import { removeSmallPieces } from '../../../validation/segment/clean-labels.ts';
import { close, dilate, dilateCross, erode, erodeCross, open, openLabels } from '../../../validation/segment/morphology.ts';

const shape: Shape3 = [14, 11, 9];
const spacing: Vec3 = [0.7, 1.2, 2.0];
const grid = { shape, spacing };
const n = shape[0] * shape[1] * shape[2];

function randomBlobs(seed: number, fill = 0.35): Uint8Array {
  const rng = createRng(seed);
  const m = new Uint8Array(n);
  // a few random boxes so the mask has both solid parts and thin bits
  for (let b = 0; b < 6; b++) {
    const lo = [0, 1, 2].map((a) => Math.floor(rng() * shape[a]));
    const size = [0, 1, 2].map((a) => 1 + Math.floor(rng() * shape[a] * fill));
    for (let k = lo[2]; k < Math.min(shape[2], lo[2] + size[2]); k++) {
      for (let j = lo[1]; j < Math.min(shape[1], lo[1] + size[1]); j++) for (let i = lo[0]; i < Math.min(shape[0], lo[0] + size[0]); i++) m[i + shape[0] * (j + shape[1] * k)] = 1;
    }
  }
  return m;
}

/** Brute force: the ball holds offsets d with |spacing·d| ≤ r; outside the volume is neither. */
function bruteForce(mask: Uint8Array, r: number, op: 'erode' | 'dilate'): Uint8Array {
  const out = new Uint8Array(n);
  const reach = spacing.map((s) => Math.floor(r / s));
  for (let k = 0; k < shape[2]; k++) {
    for (let j = 0; j < shape[1]; j++) {
      for (let i = 0; i < shape[0]; i++) {
        let all = true;
        let any = false;
        for (let c = -reach[2]; c <= reach[2]; c++) {
          for (let b = -reach[1]; b <= reach[1]; b++) {
            for (let a = -reach[0]; a <= reach[0]; a++) {
              if (Math.hypot(a * spacing[0], b * spacing[1], c * spacing[2]) > r + 1e-9) continue;
              const x = i + a;
              const y = j + b;
              const z = k + c;
              if (x < 0 || y < 0 || z < 0 || x >= shape[0] || y >= shape[1] || z >= shape[2]) continue;
              const v = mask[x + shape[0] * (y + shape[1] * z)];
              if (v) any = true;
              else all = false;
            }
          }
        }
        const p = i + shape[0] * (j + shape[1] * k);
        out[p] = op === 'erode' ? (mask[p] && all ? 1 : 0) : any ? 1 : 0;
      }
    }
  }
  return out;
}

describe('erode / dilate with a spacing-aware ball', () => {
  it('match a brute-force ball for several radii', () => {
    for (const seed of [1, 2]) {
      const m = randomBlobs(seed);
      for (const r of [0.7, 1.3, 2.0, 2.6, 4.1]) {
        expect(erode(m, grid, r)).toEqual(bruteForce(m, r, 'erode'));
        expect(dilate(m, grid, r)).toEqual(bruteForce(m, r, 'dilate'));
      }
    }
  });

  it('radius 0 is the identity; opening is anti-extensive and closing extensive', () => {
    const m = randomBlobs(3);
    expect(erode(m, grid, 0)).toEqual(m);
    expect(dilate(m, grid, 0)).toEqual(m);
    const o = open(m, grid, 1.5);
    const c = close(m, grid, 1.5);
    for (let p = 0; p < n; p++) {
      expect(o[p] <= m[p]).toBe(true);
      expect(c[p] >= m[p]).toBe(true);
    }
    expect(erode(new Uint8Array(n), grid, 2).every((v) => v === 0)).toBe(true);
    expect(() => erode(m, grid, -1)).toThrow(/radiusMm/);
  });

  it('the cross versions equal the ball of radius one voxel', () => {
    const unit = { shape, spacing: [1, 1, 1] as Vec3 };
    for (const seed of [4, 5]) {
      const m = randomBlobs(seed);
      expect(erodeCross(m, shape)).toEqual(erode(m, unit, 1));
      expect(dilateCross(m, shape)).toEqual(dilate(m, unit, 1));
      const within = randomBlobs(seed + 10, 0.6);
      const geo = dilateCross(m, shape, within);
      const plain = dilate(m, unit, 1);
      for (let p = 0; p < n; p++) expect(geo[p]).toBe(plain[p] & within[p]);
    }
  });
});

describe('label clean-up', () => {
  function labelsOf(fill: (i: number, j: number, k: number) => number): Uint8Array {
    const out = new Uint8Array(n);
    for (let k = 0; k < shape[2]; k++) for (let j = 0; j < shape[1]; j++) for (let i = 0; i < shape[0]; i++) out[i + shape[0] * (j + shape[1] * k)] = fill(i, j, k);
    return out;
  }
  const at = (i: number, j: number, k: number): number => i + shape[0] * (j + shape[1] * k);

  it('removeSmallPieces relabels specks from their neighbours and keeps the rest', () => {
    // class 3 everywhere inside, a 2-voxel speck of 2 and a 1-voxel speck of 5, a big slab of 2, outside 0 at i = 0
    const labels = labelsOf((i) => (i === 0 ? 0 : i >= 10 ? 2 : 3));
    labels[at(4, 4, 4)] = 2;
    labels[at(5, 4, 4)] = 2;
    labels[at(7, 7, 2)] = 5;
    labels[at(1, 3, 3)] = 5; // touches the outside: refilled from 3, never from 0
    const before = Uint8Array.from(labels);
    const changed = removeSmallPieces(labels, shape, 3);
    expect(changed).toBe(4);
    expect(labels[at(4, 4, 4)]).toBe(3);
    expect(labels[at(5, 4, 4)]).toBe(3);
    expect(labels[at(7, 7, 2)]).toBe(3);
    expect(labels[at(1, 3, 3)]).toBe(3);
    for (let p = 0; p < n; p++) if (![at(4, 4, 4), at(5, 4, 4), at(7, 7, 2), at(1, 3, 3)].includes(p)) expect(labels[p]).toBe(before[p]);
    // pieces of exactly minVoxels stay
    const again = labelsOf(() => 3);
    again[at(4, 4, 4)] = 2;
    again[at(5, 4, 4)] = 2;
    again[at(6, 4, 4)] = 2;
    expect(removeSmallPieces(again, shape, 3)).toBe(0);
  });

  it('openLabels removes a one-voxel-thin sheet of one class and refills it', () => {
    const labels = labelsOf((i) => (i === 7 ? 5 : i < 7 ? 3 : 2));
    const changed = openLabels(labels, { shape, spacing: [1, 1, 1] }, 1);
    expect(changed).toBe(shape[1] * shape[2]);
    for (let k = 0; k < shape[2]; k++) for (let j = 0; j < shape[1]; j++) expect([2, 3]).toContain(labels[at(7, j, k)]);
    expect(labels[at(3, 5, 5)]).toBe(3);
    expect(labels[at(12, 5, 5)]).toBe(2);
  });
});
