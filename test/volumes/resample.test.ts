import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { voxelToWorld, worldToVoxel } from '../../volumes/affine.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { createRng } from '../../volumes/random.ts';
import { reorient } from '../../volumes/reorient.ts';
import { resample, resampledShape, resampleToGrid } from '../../volumes/resample.ts';
import type { GridGeometry, Interpolation } from '../../volumes/resample.ts';
import { createVolume, dtypeOf, voxelIndex } from '../../volumes/volume.ts';
import type { Mat3, Volume } from '../../volumes/volume.ts';
import { pythonWith, rotation, synthetic, TILTED } from './synthetic-volume.ts';

const PY_SCIPY = pythonWith('scipy');

/** A linear function of world position: trilinear interpolation must reproduce it exactly. */
const ramp = (w: readonly number[]): number => 0.3 * w[0] - 0.2 * w[1] + 0.5 * w[2] + 7;

function rampVolume(shape: [number, number, number], spacing: [number, number, number], direction: Mat3 = TILTED): Volume {
  const vol = synthetic({ shape, spacing, direction, origin: [3, -4, 5], value: () => 0 });
  for (let k = 0; k < shape[2]; k++)
    for (let j = 0; j < shape[1]; j++) for (let i = 0; i < shape[0]; i++) vol.data[voxelIndex(vol.shape, i, j, k)] = ramp(voxelToWorld(vol, [i, j, k]));
  return vol;
}

function setOf(v: Volume): Set<number> {
  return new Set(Array.from(v.data as ArrayLike<number>));
}

/** Checks out ≈ f(world) at every output voxel whose source index lies inside [0, n − 1]. */
function expectRampInterior(out: Volume, src: Volume, tol: number): number {
  let checked = 0;
  for (let k = 0; k < out.shape[2]; k++)
    for (let j = 0; j < out.shape[1]; j++)
      for (let i = 0; i < out.shape[0]; i++) {
        const w = voxelToWorld(out, [i, j, k]);
        const x = worldToVoxel(src, w);
        if (!x.every((v, a) => v >= 0 && v <= src.shape[a] - 1)) continue;
        checked++;
        const got = out.data[voxelIndex(out.shape, i, j, k)];
        if (Math.abs(got - ramp(w)) > tol) expect.fail(`voxel ${i},${j},${k}: ${got} vs ${ramp(w)}`);
      }
  return checked;
}

describe('resample (new spacing)', () => {
  it('computes shape and a centred origin, keeps direction, records history', () => {
    const vol = synthetic({ shape: [10, 7, 5], spacing: [0.7, 1.3, 2.5] });
    const out = resample(vol, [1, 1, 1]);
    expect(out.shape).toEqual([7, 9, 13]);
    expect(resampledShape([10, 7, 5], [0.7, 1.3, 2.5], [1, 1, 1])).toEqual([7, 9, 13]);
    expect(out.spacing).toEqual([1, 1, 1]);
    expect(out.direction).toEqual(vol.direction);
    const cIn = voxelToWorld(vol, [4.5, 3, 2]);
    const cOut = voxelToWorld(out, [3, 4, 6]);
    cOut.forEach((x, a) => expect(x).toBeCloseTo(cIn[a], 9));
    expect(dtypeOf(out.data)).toBe('float32');
    expect(out.history.at(-1)?.op).toBe('resample');
    expect(out.history.at(-1)?.params).toMatchObject({ interpolation: 'linear', path: 'axis-aligned', spacing: [1, 1, 1] });
    expect(resample(vol, 2).spacing).toEqual([2, 2, 2]);
    // whole-number ratios: same grid as TorchIO's Resample (first voxel at input index (s'/s − 1)/2)
    const exact = resample(vol, [1.4, 0.65, 1.25]);
    expect(exact.shape).toEqual([5, 14, 10]);
    const torchio = voxelToWorld(vol, [0.5 * (1.4 / 0.7 - 1), 0.5 * (0.65 / 1.3 - 1), 0.5 * (1.25 / 2.5 - 1)]);
    exact.origin.forEach((x, a) => expect(x).toBeCloseTo(torchio[a], 9));
    expect(resample(synthetic({ shape: [1, 7, 5] }), [3, 1, 1]).shape[0]).toBe(1);
  });

  it('reproduces a linear ramp exactly in the interior (up/down sampling, tilted direction)', () => {
    const vol = rampVolume([12, 9, 7], [0.7, 1.3, 2.5]);
    for (const sp of [[0.5, 0.9, 1.7], [1.9, 2.2, 0.8], [0.7, 1.3, 2.5]] as const) {
      const out = resample(vol, sp);
      expect(expectRampInterior(out, vol, 2e-5 * 20)).toBeGreaterThan(20);
    }
  });

  it('is the identity at the same spacing (float32 linear, int16 nearest, uint8 label)', () => {
    const f = synthetic({ shape: [6, 5, 4], value: (i, j, k) => Math.sin(i * 1.7 + j * 0.3 - k) * 100 });
    const same = resample(f, f.spacing);
    expect(Array.from(same.data)).toEqual(Array.from(f.data));
    same.origin.forEach((x, a) => expect(x).toBeCloseTo(f.origin[a], 9));
    for (const interpolation of ['nearest', 'label'] as Interpolation[]) {
      const l = synthetic({ shape: [6, 5, 4], kind: 'label', dtype: 'uint8', value: (i, j, k) => (i * 7 + j * 3 + k) % 5 });
      const out = resample(l, l.spacing, { interpolation });
      expect(dtypeOf(out.data)).toBe('uint8');
      expect(Array.from(out.data)).toEqual(Array.from(l.data));
      const ct = synthetic({ shape: [6, 5, 4], dtype: 'int16', value: (i, j) => i * 100 - j * 7 - 1024 });
      expect(Array.from(resampleToGrid(ct, ct, { interpolation }).data)).toEqual(Array.from(ct.data));
    }
    expect(Array.from(resampleToGrid(f, f).data)).toEqual(Array.from(f.data));
  });

  it('resamples each channel independently', () => {
    const two = synthetic({ shape: [6, 5, 4], channels: 2, value: (i, j, k, ch) => (ch ? -1 : 1) * (i * i + j - k) });
    const one = createVolume({ data: two.data.slice(120), shape: two.shape, spacing: two.spacing, origin: two.origin, direction: two.direction });
    const a = resample(two, [0.5, 0.8, 1.1]);
    const b = resample(one, [0.5, 0.8, 1.1]);
    const n = b.data.length;
    expect(a.channels).toBe(2);
    expect(Array.from(a.data.subarray(n))).toEqual(Array.from(b.data));
  });
});

describe('resampleToGrid (arbitrary affine)', () => {
  it('reproduces the ramp on a rotated grid (general path) and fills outside the field of view', () => {
    const vol = rampVolume([14, 12, 9], [0.9, 1.1, 1.6]);
    const ref: GridGeometry = { shape: [16, 15, 12], spacing: [0.8, 0.9, 1.2], origin: [4, -3, 6], direction: rotation(0.5, 0.3, -0.7) };
    const out = resampleToGrid(vol, ref);
    expect(out.history.at(-1)?.params).toMatchObject({ path: 'general' });
    expect(out.shape).toEqual([16, 15, 12]);
    expect(out.direction).toEqual(ref.direction);
    expect(expectRampInterior(out, vol, 4e-4)).toBeGreaterThan(100);
    // outside: the image minimum by default, or the given fill
    let min = Infinity;
    for (const v of vol.data) min = Math.min(min, v);
    const filled = resampleToGrid(vol, ref, { fill: -1024 });
    let outside = 0;
    for (let p = 0; p < out.data.length; p++) {
      const idx = [p % 16, Math.floor(p / 16) % 15, Math.floor(p / 240)];
      const x = worldToVoxel(vol, voxelToWorld(out, idx));
      if (x.every((v, a) => v >= -0.5 && v <= vol.shape[a] - 0.5)) continue;
      outside++;
      expect(out.data[p]).toBeCloseTo(min, 4);
      expect(filled.data[p]).toBe(-1024);
    }
    expect(outside).toBeGreaterThan(100);
  });

  it('matches reorient exactly when the grids differ by an axis permutation (general path)', () => {
    const vol = synthetic({ shape: [5, 4, 3], channels: 2, dtype: 'int16', value: (i, j, k, ch) => i * 11 - j * 5 + k * 101 + ch * 7 });
    for (const code of ['SAR', 'IRP', 'PLI']) {
      const target = reorient(vol, code);
      for (const interpolation of ['nearest', 'label'] as Interpolation[]) {
        const out = resampleToGrid(vol, target, { interpolation });
        expect(Array.from(out.data)).toEqual(Array.from(target.data));
      }
      const lin = resampleToGrid(vol, target);
      lin.data.forEach((v, p) => expect(v).toBeCloseTo(target.data[p], 4));
    }
  });

  it('handles flipped axes on the axis-aligned path (grids related by a flip)', () => {
    const vol = synthetic({ shape: [5, 4, 3], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], dtype: 'int16', value: (i, j, k) => i * 11 - j * 5 + k * 101 });
    for (const code of ['RAS', 'LPI', 'RPI']) {
      const target = reorient(vol, code);
      const near = resampleToGrid(vol, target, { interpolation: 'nearest' });
      expect(near.history.at(-1)?.params).toMatchObject({ path: 'axis-aligned' });
      expect(Array.from(near.data)).toEqual(Array.from(target.data));
      expect(Array.from(resampleToGrid(vol, target).data)).toEqual(Array.from(target.data));
    }
  });

  it('approximates the original after a round trip through a rotated grid', () => {
    const blob = (w: readonly number[]): number => 100 * Math.exp(-((w[0] - 5) ** 2 + (w[1] - 4) ** 2 + (w[2] - 6) ** 2) / 60);
    const vol = synthetic({ shape: [20, 18, 16], spacing: [0.8, 0.9, 1], origin: [-3, -4, -2], direction: TILTED, value: () => 0 });
    for (let k = 0; k < 16; k++) for (let j = 0; j < 18; j++) for (let i = 0; i < 20; i++) vol.data[voxelIndex(vol.shape, i, j, k)] = blob(voxelToWorld(vol, [i, j, k]));
    // a finer rotated grid centred on the volume and large enough to hold it
    const dir = rotation(0.4, -0.5, 0.9);
    const centre = voxelToWorld(vol, [9.5, 8.5, 7.5]);
    const half = 0.6 * (40 - 1) / 2;
    const origin = [0, 1, 2].map((r) => centre[r] - half * (dir[r * 3] + dir[r * 3 + 1] + dir[r * 3 + 2]));
    const rotated: GridGeometry = { shape: [40, 40, 40], spacing: [0.6, 0.6, 0.6], origin: origin as never, direction: dir };
    const back = resampleToGrid(resampleToGrid(vol, rotated), vol);
    let maxErr = 0;
    for (let k = 4; k < 12; k++)
      for (let j = 4; j < 14; j++) for (let i = 4; i < 16; i++) {
        const p = voxelIndex(vol.shape, i, j, k);
        maxErr = Math.max(maxErr, Math.abs(back.data[p] - vol.data[p]));
      }
    expect(maxErr).toBeLessThan(2.5);
    expect(maxErr).toBeGreaterThan(0);
  });

  it.skipIf(PY_SCIPY === null)('agrees with scipy.ndimage.map_coordinates (order 1) on interior points', () => {
    const rng = createRng(17);
    const vol = synthetic({ shape: [9, 8, 7], spacing: [1, 1.2, 0.8], value: () => rng() * 100 });
    const ref: GridGeometry = { shape: [10, 9, 8], spacing: [0.7, 0.8, 0.9], origin: [14, -28, 9], direction: rotation(0.3, 0.2, 0.6) };
    const out = resampleToGrid(vol, ref);
    const pts: number[][] = [];
    const ours: number[] = [];
    for (let p = 0; p < out.data.length; p++) {
      const idx = [p % 10, Math.floor(p / 10) % 9, Math.floor(p / 90)];
      const x = worldToVoxel(vol, voxelToWorld(out, idx));
      if (!x.every((v, a) => v >= 0 && v <= vol.shape[a] - 1)) continue;
      pts.push([...x]);
      ours.push(out.data[p]);
    }
    expect(pts.length).toBeGreaterThan(50);
    const script = `import json,sys,numpy as np
from scipy.ndimage import map_coordinates
d=json.load(sys.stdin)
a=np.array(d['v'],dtype=np.float64).reshape(7,8,9).transpose(2,1,0)
print(json.dumps(map_coordinates(a,np.array(d['p']).T,order=1,mode='nearest').tolist()))`;
    const refVals = JSON.parse(execFileSync(PY_SCIPY as string, ['-c', script], { input: JSON.stringify({ v: Array.from(vol.data), p: pts }) }).toString()) as number[];
    ours.forEach((v, i) => expect(v).toBeCloseTo(refVals[i], 3));
  });
});

describe('label resampling', () => {
  it('never invents label values (property test over random volumes, spacings and rotations)', () => {
    const rng = createRng(1234);
    for (let t = 0; t < 40; t++) {
      const labelSet = [0, 3, 7, 200, 255].filter(() => rng() < 0.6);
      if (labelSet.length === 0) labelSet.push(9);
      const shape: [number, number, number] = [3 + Math.floor(rng() * 8), 3 + Math.floor(rng() * 8), 2 + Math.floor(rng() * 6)];
      const vol = synthetic({ shape, kind: 'label', dtype: t % 2 ? 'uint8' : 'int16', value: () => labelSet[Math.floor(rng() * labelSet.length)] });
      const allowed = new Set([...labelSet, 0]);
      const interpolation: Interpolation = rng() < 0.5 ? 'nearest' : 'label';
      const out =
        t % 3 === 0
          ? resampleToGrid(vol, { shape: [7, 6, 5], spacing: [1, 1.1, 1.3], origin: vol.origin, direction: rotation(rng() * 3, rng() * 3, rng() * 3) }, { interpolation })
          : resample(vol, [0.3 + rng() * 2, 0.3 + rng() * 2, 0.5 + rng() * 3], { interpolation });
      expect(dtypeOf(out.data)).toBe(dtypeOf(vol.data));
      expect(out.kind).toBe('label');
      for (const v of setOf(out)) expect(allowed.has(v), `label ${v} (${interpolation})`).toBe(true);
    }
  });

  it("'label' is the argmax of linearly interpolated one-hot indicators", () => {
    const rng = createRng(99);
    const labels = [1, 4, 6];
    const vol = synthetic({ shape: [9, 8, 6], spacing: [1, 1, 1], kind: 'label', dtype: 'uint8', value: (i, j, k) => labels[(Math.floor(i / 3) + Math.floor(j / 2) + (k > 2 ? 1 : 0) + (rng() < 0.1 ? 1 : 0)) % 3] });
    const targets = [
      (v: Volume, o: { interpolation: Interpolation }) => resample(v, [0.45, 0.77, 1.9], o as never),
      (v: Volume, o: { interpolation: Interpolation }) =>
        resampleToGrid(v, { shape: [10, 10, 8], spacing: [0.6, 1, 1.5], origin: v.origin, direction: rotation(0.2, 0.1, 0.4) }, o as never),
    ];
    for (const run of targets) {
      const out = run(vol, { interpolation: 'label' });
      const probs = labels.map((l) => {
        const ind = createVolume({ data: Float32Array.from(vol.data, (v) => (v === l ? 1 : 0)), shape: vol.shape, spacing: vol.spacing, origin: vol.origin, direction: vol.direction });
        return run(ind, { interpolation: 'linear' }).data;
      });
      let compared = 0;
      for (let p = 0; p < out.data.length; p++) {
        const ps = probs.map((d) => d[p]);
        if (ps.every((x) => x === 0)) continue; // outside: fill
        const sorted = [...ps].sort((a, b) => b - a);
        if (sorted[0] - sorted[1] < 1e-5) continue; // a tie: either answer is right
        compared++;
        expect(out.data[p]).toBe(labels[ps.indexOf(sorted[0])]);
      }
      expect(compared).toBeGreaterThan(200);
    }
  });

  it('fills outside with 0 by default for labels, and refuses linear interpolation of labels', () => {
    const vol = synthetic({ shape: [4, 4, 4], kind: 'label', dtype: 'uint8', value: () => 5 });
    const shifted = { ...vol, origin: voxelToWorld(vol, [2, 0, 0]) } as GridGeometry;
    const out = resampleToGrid(vol, shifted);
    expect(out.data[voxelIndex(out.shape, 1, 0, 0)]).toBe(5);
    expect(out.data[voxelIndex(out.shape, 2, 0, 0)]).toBe(0);
    expect(resampleToGrid(vol, shifted, { fill: 9 }).data[voxelIndex(out.shape, 3, 1, 1)]).toBe(9);
    const bad: [() => unknown, string][] = [
      [() => resample(vol, [1, 1, 1], { interpolation: 'linear' }), 'interpolation'],
      [() => resample(vol, [1, 0, 1]), 'spacing'],
      [() => resample(vol, [1, 1, 1], { fill: Number.NaN }), 'fill'],
      [() => resample(vol, [1, 1, 1], { interpolation: 'cubic' as Interpolation }), 'interpolation'],
      [() => resampleToGrid(vol, { ...shifted, shape: [0, 1, 1] }), 'reference'],
    ];
    for (const [f, param] of bad) {
      try {
        f();
        expect.unreachable(param);
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as { param?: string }).param).toBe(param);
      }
    }
    try {
      resample(vol, [1e-4, 1e-4, 1e-4]);
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'SIZE_LIMIT')).toBe(true);
    }
  });
});

describe('resample speed (logged, not asserted)', () => {
  function timed<T>(f: () => T): { out: T; wall: number; cpu: number } {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = f();
    const c = process.cpuUsage(c0);
    return { out, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
  }
  const rate = (n: number, s: number): string => `${(n / s / 1e6).toFixed(1)} M voxels/s`;

  it('reports voxels per second for the axis-aligned trilinear, label and general paths', () => {
    const n = 128;
    const vol = synthetic({ shape: [n, n, n], spacing: [1, 1, 1], direction: TILTED, value: (i, j, k) => i + j - k });
    const label = synthetic({ shape: [n, n, n], spacing: [1, 1, 1], kind: 'label', dtype: 'uint8', value: (i, j, k) => ((i >> 4) + (j >> 4) + (k >> 4)) % 4 });
    resample(vol, [2, 2, 2]); // warm-up
    const lin = timed(() => resample(vol, [0.8, 0.8, 0.8]));
    const lab = timed(() => resample(label, [0.8, 0.8, 0.8], { interpolation: 'label' }));
    const rot = timed(() => resampleToGrid(vol, { shape: [n, n, n], spacing: [1, 1, 1], origin: vol.origin, direction: rotation(0.3, 0.2, 0.1) }));
    const m = 160 ** 3;
    // Wall time depends on how busy the machine is; CPU time is this process's own work.
    console.log(`resample axis-aligned trilinear ${n}³→160³: wall ${rate(m, lin.wall)}, cpu ${rate(m, lin.cpu)}`);
    console.log(`resample axis-aligned label (one-hot argmax): wall ${rate(m, lab.wall)}, cpu ${rate(m, lab.cpu)}`);
    console.log(`resampleToGrid general trilinear: wall ${rate(n ** 3, rot.wall)}, cpu ${rate(n ** 3, rot.cpu)}`);
    expect(lin.out.shape).toEqual([160, 160, 160]);
    expect(lab.out.shape).toEqual([160, 160, 160]);
    expect(rot.out.history.at(-1)?.params).toMatchObject({ path: 'general' });
  });
});
