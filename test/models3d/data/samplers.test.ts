/** Batch layout, padding, foreground weighting, pairing and determinism of the training samplers. */
import { describe, expect, it } from 'vitest';
import { prepareDomainVolume, defaultNormalizationSpec } from '../../../models3d/data/domain-volume.ts';
import type { DomainVolume } from '../../../models3d/data/domain-volume.ts';
import { createPairedSampler, createUnpairedSampler } from '../../../models3d/data/samplers.ts';
import type { Batch, SamplerConfig } from '../../../models3d/data/samplers.ts';
import { generatePhantom } from '../../../volumes/phantom/index.ts';
import { createRng } from '../../../volumes/random.ts';
import { sliceAt } from '../../../volumes/slices.ts';
import type { Axis } from '../../../volumes/slices.ts';
import { coded, thrown } from './fixtures.ts';

const SHAPE: [number, number, number] = [7, 6, 5];

/** Voxel [i, j, k] of a coded volume's value (its linear index). */
function voxelOf(value: number, shape: readonly number[]): [number, number, number] {
  return [value % shape[0], Math.floor(value / shape[0]) % shape[1], Math.floor(value / (shape[0] * shape[1]))];
}

/** In-plane axes of a slice across `axis`: [columns (W), rows (H)], as volumes/slices documents. */
const PLANE: Record<Axis, [number, number]> = { 0: [1, 2], 1: [0, 2], 2: [0, 1] };

describe('batch layout', () => {
  for (const axis of [0, 1, 2] as Axis[]) {
    it(`2D axis ${axis}: [batch, H, W, 1] with W along the slice's faster axis`, () => {
      const vol = coded('v', SHAPE);
      const [u, v] = PLANE[axis];
      const H = SHAPE[v] - 2;
      const W = SHAPE[u] - 1;
      const sampler = createUnpairedSampler([vol], [vol], { spatialDims: 2, axis, patchSize: [H, W], batchSize: 3, foregroundProb: 0 });
      const batch = sampler.sample(createRng(axis + 11));
      expect(batch.shape).toEqual([3, H, W, 1]);
      expect(batch.a.length).toBe(3 * H * W);
      for (let n = 0; n < 3; n++) {
        const s = batch.picks.a[n].start;
        expect(batch.picks.a[n]).toMatchObject({ volume: 'v', volumeIndex: 0, flip: false });
        // a known voxel: row 1, column 2 of item n
        const ijk = [...s];
        ijk[v] += 1;
        ijk[u] += 2;
        expect(batch.a[n * H * W + 1 * W + 2]).toBe(ijk[0] + SHAPE[0] * (ijk[1] + SHAPE[1] * ijk[2]));
        // every element
        for (let r = 0; r < H; r++)
          for (let c = 0; c < W; c++) {
            const got = voxelOf(batch.a[n * H * W + r * W + c], SHAPE);
            expect(got[axis]).toBe(s[axis]);
            expect(got[v]).toBe(s[v] + r);
            expect(got[u]).toBe(s[u] + c);
          }
      }
    });

    it(`2D axis ${axis}: a whole-slice patch equals sliceAt`, () => {
      const vol = coded('v', SHAPE);
      const [u, v] = PLANE[axis];
      const sampler = createUnpairedSampler([vol], [vol], { spatialDims: 2, axis, patchSize: [SHAPE[v], SHAPE[u]], batchSize: 2 });
      const batch = sampler.sample(createRng(5));
      for (let n = 0; n < 2; n++) {
        const s = batch.picks.b[n].start;
        const slice = sliceAt(vol.source, axis, s[axis]);
        expect([slice.height, slice.width]).toEqual(batch.shape.slice(1, 3));
        expect(Array.from(batch.b.subarray(n * slice.data.length, (n + 1) * slice.data.length))).toEqual(Array.from(slice.data));
      }
    });
  }

  it('3D: [batch, D, H, W, 1] with D = z, H = y, W = x', () => {
    const vol = coded('v', SHAPE);
    const [D, H, W] = [3, 4, 5];
    const sampler = createUnpairedSampler([vol], [vol], { spatialDims: 3, patchSize: [D, H, W], batchSize: 2, foregroundProb: 0 });
    const batch = sampler.sample(createRng(3));
    expect(batch.shape).toEqual([2, D, H, W, 1]);
    const item = D * H * W;
    for (let n = 0; n < 2; n++) {
      const [si, sj, sk] = batch.picks.a[n].start;
      // voxel (si + 4, sj + 1, sk + 2) is element [n, 2, 1, 4, 0]
      expect(batch.a[n * item + (2 * H + 1) * W + 4]).toBe(si + 4 + SHAPE[0] * (sj + 1 + SHAPE[1] * (sk + 2)));
      for (let z = 0; z < D; z++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) expect(voxelOf(batch.a[n * item + (z * H + y) * W + x], SHAPE)).toEqual([si + x, sj + y, sk + z]);
    }
  });

  it('flip mirrors along x only, and is recorded', () => {
    const vol = coded('v', SHAPE);
    const sampler = createUnpairedSampler([vol], [vol], { spatialDims: 3, patchSize: [2, 3, 4], batchSize: 16, flip: true });
    const batch = sampler.sample(createRng(9));
    const flips = batch.picks.a.map((p) => p.flip);
    expect(flips).toContain(true);
    expect(flips).toContain(false);
    batch.picks.a.forEach((p, n) => {
      const [si, sj, sk] = p.start;
      for (let z = 0; z < 2; z++)
        for (let y = 0; y < 3; y++)
          for (let x = 0; x < 4; x++) {
            const i = p.flip ? si + 3 - x : si + x;
            expect(voxelOf(batch.a[n * 24 + (z * 3 + y) * 4 + x], SHAPE)).toEqual([i, sj + y, sk + z]);
          }
    });
  });

  it('flip is off by default and never drawn for sagittal slices (extent 1 along x)', () => {
    const vol = coded('v', SHAPE);
    const off = createUnpairedSampler([vol], [vol], { spatialDims: 3, patchSize: [2, 2, 2], batchSize: 32 }).sample(createRng(1));
    expect(off.picks.a.every((p) => !p.flip)).toBe(true);
    const sag = createUnpairedSampler([vol], [vol], { spatialDims: 2, axis: 0, patchSize: [3, 3], batchSize: 32, flip: true }).sample(createRng(1));
    expect(sag.picks.a.every((p) => !p.flip)).toBe(true);
  });
});

describe('padding', () => {
  it('3D: a volume smaller than the patch is covered whole, the rest is padValue', () => {
    const small: [number, number, number] = [3, 4, 5];
    const vol = coded('small', small, { value: (_i, _j, _k, p) => p + 1 });
    // [d, h, w] = [8, 6, 4] against z = 5, y = 4, x = 3: every axis padded
    const sampler = createUnpairedSampler([vol], [vol], { spatialDims: 3, patchSize: [8, 6, 4], batchSize: 20, padValue: -7 });
    const batch = sampler.sample(createRng(2));
    const item = 8 * 6 * 4;
    const starts = new Set<string>();
    for (let n = 0; n < 20; n++) {
      const s = batch.picks.a[n].start;
      starts.add(s.join(','));
      expect(s[0]).toBeGreaterThanOrEqual(3 - 4);
      expect(s[1]).toBeGreaterThanOrEqual(4 - 6);
      expect(s[2]).toBeGreaterThanOrEqual(5 - 8);
      expect(s.every((x) => x <= 0)).toBe(true);
      const values = Array.from(batch.a.subarray(n * item, (n + 1) * item));
      const inside = values.filter((x) => x !== -7).sort((x, y) => x - y);
      expect(inside).toEqual(Array.from({ length: 60 }, (_, q) => q + 1));
      // voxel (0, 0, 0) sits at element (-s_k, -s_j, -s_i)
      expect(batch.a[n * item + ((-s[2] * 6) + -s[1]) * 4 + -s[0]]).toBe(1);
    }
    expect(starts.size).toBeGreaterThan(1);
  });

  it('2D: pads only the axes that are too small', () => {
    const vol = coded('v', [10, 3, 4], { value: (_i, _j, _k, p) => p + 1 });
    // axis 2: W along x (10 ≥ 5, cropped), H along y (3 < 6, padded)
    const sampler = createUnpairedSampler([vol], [vol], { spatialDims: 2, patchSize: [6, 5], batchSize: 8 });
    const batch = sampler.sample(createRng(4));
    for (let n = 0; n < 8; n++) {
      const s = batch.picks.a[n].start;
      expect(s[0]).toBeGreaterThanOrEqual(0);
      expect(s[0]).toBeLessThanOrEqual(5);
      expect(s[1]).toBeGreaterThanOrEqual(-3);
      expect(s[1]).toBeLessThanOrEqual(0);
      for (let r = 0; r < 6; r++) {
        const row = Array.from(batch.a.subarray(n * 30 + r * 5, n * 30 + r * 5 + 5));
        const j = s[1] + r;
        if (j < 0 || j >= 3) expect(row).toEqual([-1, -1, -1, -1, -1]);
        else expect(row).toEqual([0, 1, 2, 3, 4].map((c) => s[0] + c + 10 * (j + 3 * s[2]) + 1));
      }
    }
  });
});

describe('foreground weighting', () => {
  const corner = (): DomainVolume =>
    coded('corner', [16, 16, 12], {
      foreground: (i, j, k) => i < 3 && j < 3 && k < 2,
      value: (i, j, k) => (i < 3 && j < 3 && k < 2 ? 1 : -1),
    });
  const hits = (batch: Batch, size: number): boolean[] =>
    Array.from({ length: batch.shape[0] }, (_, n) => batch.a.subarray(n * size, (n + 1) * size).includes(1));

  it('foregroundProb 1: every patch contains foreground (2D and 3D)', () => {
    const vol = corner();
    const s3 = createUnpairedSampler([vol], [vol], { spatialDims: 3, patchSize: [4, 4, 4], batchSize: 50, foregroundProb: 1 });
    expect(hits(s3.sample(createRng(1)), 64).every(Boolean)).toBe(true);
    const s2 = createUnpairedSampler([vol], [vol], { spatialDims: 2, patchSize: [5, 5], batchSize: 50, foregroundProb: 1 });
    expect(hits(s2.sample(createRng(1)), 25).every(Boolean)).toBe(true);
  });

  it('foregroundProb 0: patches are uniform and mostly miss a small foreground', () => {
    const vol = corner();
    const s3 = createUnpairedSampler([vol], [vol], { spatialDims: 3, patchSize: [4, 4, 4], batchSize: 50, foregroundProb: 0 });
    expect(hits(s3.sample(createRng(1)), 64).filter(Boolean).length).toBeLessThan(25);
  });

  it('phantom: MR→CT pairs with foregroundProb 1 always sample the body', () => {
    const ph = generatePhantom({ region: 'head', shape: [48, 48, 32], seed: 3 });
    const mr = prepareDomainVolume(ph.t1, defaultNormalizationSpec('MR'), 'head-3/t1');
    const ct = prepareDomainVolume(ph.ct, defaultNormalizationSpec('CT'), 'head-3/ct');
    const sampler = createPairedSampler([{ a: mr, b: ct }], { spatialDims: 3, patchSize: [8, 8, 8], batchSize: 24, foregroundProb: 1 });
    const batch = sampler.sample(createRng(8));
    expect(batch.shape).toEqual([24, 8, 8, 8, 1]);
    for (let n = 0; n < 24; n++) {
      const [si, sj, sk] = batch.picks.a[n].start;
      let body = 0;
      for (let k = sk; k < sk + 8; k++)
        for (let j = sj; j < sj + 8; j++) for (let i = si; i < si + 8; i++) body += mr.foreground[i + 48 * (j + 48 * k)] | ct.foreground[i + 48 * (j + 48 * k)];
      expect(body).toBeGreaterThan(0);
    }
    // CT values above the air level exist in the patches (soft tissue / bone after the HU window)
    expect(Math.max(...batch.b)).toBeGreaterThan(-0.4);
    expect(batch.a.every((x) => x >= -1 && x <= 1)).toBe(true);
  });
});

describe('paired sampler', () => {
  it('uses the same crop and flip for both volumes: b = f(a) element-wise', () => {
    const a = coded('mr', SHAPE);
    const f = (x: number): number => Math.fround(0.5 * x - 3.25);
    const b = coded('ct', SHAPE, { value: (_i, _j, _k, p) => f(p) });
    for (const config of [
      { spatialDims: 3, patchSize: [3, 4, 5], batchSize: 12, flip: true },
      { spatialDims: 2, axis: 1, patchSize: [4, 6], batchSize: 12, flip: true },
    ] as SamplerConfig[]) {
      const batch = createPairedSampler([{ a, b }], config).sample(createRng(21));
      expect(batch.b.length).toBe(batch.a.length);
      for (let q = 0; q < batch.a.length; q++) expect(batch.b[q]).toBe(f(batch.a[q]));
      expect(batch.picks.b.map((p) => [p.volume, p.start, p.flip])).toEqual(batch.picks.a.map((p) => ['ct', p.start, p.flip]));
      expect(batch.picks.a.some((p) => p.flip)).toBe(true);
      expect(new Set(batch.picks.a.map((p) => p.start.join(','))).size).toBeGreaterThan(1);
    }
  });

  it('draws pairs, not volumes across pairs', () => {
    const pairs = [0, 1, 2].map((t) => ({
      a: coded(`a${t}`, [6, 6, 6], { value: () => t }),
      b: coded(`b${t}`, [6, 6, 6], { value: () => 10 + t }),
    }));
    const batch = createPairedSampler(pairs, { spatialDims: 2, patchSize: [4, 4], batchSize: 30 }).sample(createRng(6));
    expect(new Set(batch.picks.a.map((p) => p.volumeIndex)).size).toBe(3);
    for (let q = 0; q < batch.a.length; q++) expect(batch.b[q]).toBe(batch.a[q] + 10);
    batch.picks.a.forEach((p, n) => expect(batch.picks.b[n].volume).toBe(`b${p.volumeIndex}`));
  });

  it('refuses pairs on different grids with GEOMETRY_MISMATCH naming both volumes and the field', () => {
    const config: SamplerConfig = { spatialDims: 3, patchSize: [2, 2, 2], batchSize: 1 };
    const a = coded('subj1/t1', SHAPE);
    const cases: [DomainVolume, string][] = [
      [coded('subj1/ct', [7, 6, 4]), 'shape'],
      [coded('subj1/ct', SHAPE, { spacing: [0.8, 1.1, 2.52] }), 'spacing'],
      [coded('subj1/ct', SHAPE, { origin: [-10, 20.5, 3.01] }), 'origin'],
      [coded('subj1/ct', SHAPE, { direction: [0, 1, 0, 1, 0, 0, 0, 0, 1] }), 'direction'],
    ];
    for (const [b, field] of cases) {
      const e = thrown(() => createPairedSampler([{ a, b: coded('ok', SHAPE) }, { a, b }], config));
      expect(e.shortCode).toBe('GEOMETRY_MISMATCH');
      expect(e.message).toContain('pairs[1]');
      expect(e.message).toContain('"subj1/t1"');
      expect(e.message).toContain('"subj1/ct"');
      expect(e.message).toContain(`differ in ${field}`);
      expect(e.details).toMatchObject({ a: 'subj1/t1', b: 'subj1/ct', field });
    }
    // within 1e-3 mm is the same grid
    expect(() => createPairedSampler([{ a, b: coded('ct', SHAPE, { origin: [-10, 20.5, 3.0005] }) }], config)).not.toThrow();
  });
});

describe('determinism', () => {
  const a = [coded('a0', SHAPE), coded('a1', [9, 8, 7])];
  const b = [coded('b0', [8, 8, 8], { foreground: (i) => i > 5 })];
  it('same seed, same batch; another seed, another batch', () => {
    for (const config of [
      { spatialDims: 2, patchSize: [4, 5], batchSize: 6, flip: true },
      { spatialDims: 3, patchSize: [3, 4, 5], batchSize: 4, flip: true },
    ] as SamplerConfig[]) {
      const s1 = createUnpairedSampler(a, b, config);
      const s2 = createUnpairedSampler(a, b, config);
      const r1 = createRng(77);
      const r2 = createRng(77);
      for (let t = 0; t < 3; t++) expect(s2.sample(r2)).toEqual(s1.sample(r1));
      expect(s1.sample(createRng(78))).not.toEqual(s1.sample(createRng(77)));
      const p1 = createPairedSampler([{ a: a[0], b: coded('b', SHAPE) }], config);
      expect(p1.sample(createRng(5))).toEqual(p1.sample(createRng(5)));
    }
  });

  it('A and B of an unpaired batch are drawn independently', () => {
    const v = coded('v', [12, 12, 12]);
    const batch = createUnpairedSampler([v], [v], { spatialDims: 3, patchSize: [4, 4, 4], batchSize: 8 }).sample(createRng(1));
    expect(batch.picks.a.map((p) => p.start)).not.toEqual(batch.picks.b.map((p) => p.start));
  });
});

describe('config validation', () => {
  const v = coded('v', SHAPE);
  const bad: [unknown, string][] = [
    [{ spatialDims: 4, patchSize: [2, 2], batchSize: 1 }, 'config.spatialDims'],
    [{ spatialDims: 2, patchSize: [2, 2, 2], batchSize: 1 }, 'config.patchSize'],
    [{ spatialDims: 3, patchSize: [2, 0, 2], batchSize: 1 }, 'config.patchSize'],
    [{ spatialDims: 2, patchSize: [2.5, 2], batchSize: 1 }, 'config.patchSize'],
    [{ spatialDims: 2, patchSize: [2, 2], batchSize: 0 }, 'config.batchSize'],
    [{ spatialDims: 2, patchSize: [2, 2], batchSize: 1, axis: 3 }, 'config.axis'],
    [{ spatialDims: 2, patchSize: [2, 2], batchSize: 1, foregroundProb: 1.5 }, 'config.foregroundProb'],
    [{ spatialDims: 2, patchSize: [2, 2], batchSize: 1, padValue: Number.NaN }, 'config.padValue'],
  ];
  it('names the bad field and the value received', () => {
    for (const [config, param] of bad) {
      for (const make of [() => createUnpairedSampler([v], [v], config as SamplerConfig), () => createPairedSampler([{ a: v, b: v }], config as SamplerConfig)]) {
        const e = thrown(make);
        expect(e.shortCode).toBe('INVALID_ARGUMENT');
        expect(e.param).toBe(param);
        expect(e.message).toContain('got');
      }
    }
  });

  it('refuses empty volume lists and a missing rng', () => {
    const config: SamplerConfig = { spatialDims: 2, patchSize: [2, 2], batchSize: 1 };
    expect(thrown(() => createUnpairedSampler([], [v], config)).param).toBe('a');
    expect(thrown(() => createUnpairedSampler([v], [], config)).param).toBe('b');
    expect(thrown(() => createPairedSampler([], config)).param).toBe('pairs');
    const s = createUnpairedSampler([v], [v], config);
    expect(thrown(() => s.sample(undefined as unknown as () => number)).param).toBe('rng');
  });

  it('refuses a DomainVolume whose arrays do not match its shape', () => {
    const broken = { ...v, data: new Float32Array(5) };
    expect(thrown(() => createUnpairedSampler([v, broken], [v], { spatialDims: 2, patchSize: [2, 2], batchSize: 1 })).message).toContain('a[1]');
  });
});
