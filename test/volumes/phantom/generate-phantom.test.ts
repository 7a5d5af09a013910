import { describe, expect, it } from 'vitest';
import { affineOf, sameGeometry, voxelToWorld } from '../../../volumes/affine.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import {
  generatePhantom,
  NO_SCANNER_EFFECTS,
  regeneratePhantom,
  TISSUE,
  TISSUES,
  type Phantom,
  type PhantomOptions,
} from '../../../volumes/phantom/index.ts';
import { bytesEqual, interiorMean, labelCounts, meanWhere } from './phantom-helpers.ts';

const SMALL = [64, 64, 48] as const;

function expectError(fn: () => unknown, code: string, param?: string): void {
  try {
    fn();
  } catch (e) {
    expect(isVoxshiftError(e)).toBe(true);
    if (isVoxshiftError(e)) {
      expect(e.shortCode).toBe(code);
      if (param !== undefined) expect(e.param).toBe(param);
    }
    return;
  }
  throw new Error('expected a VoxshiftError');
}

function expectSameBytes(a: Phantom, b: Phantom): void {
  for (const k of ['labels', 'ct', 't1', 't2'] as const) expect(bytesEqual(a[k].data, b[k].data), k).toBe(true);
}

describe('generatePhantom (head)', () => {
  const a = generatePhantom({ region: 'head', seed: 11, shape: SMALL });

  it('is deterministic: same seed, same bytes for all four volumes; regenerates from history', () => {
    expectSameBytes(a, generatePhantom({ region: 'head', seed: 11, shape: SMALL }));
    for (const k of ['labels', 'ct', 't1', 't2'] as const) {
      expect(a[k].history).toHaveLength(1);
      expect(a[k].history[0].op).toBe('phantom');
      expect(a[k].history[0].params).toMatchObject({ region: 'head', seed: 11, shape: [...SMALL], output: k });
    }
    // The history is plain JSON and is enough to rebuild the subject.
    const entry = JSON.parse(JSON.stringify(a.t2.history[0]));
    expectSameBytes(a, regeneratePhantom(entry));
  });

  it('different seeds give different anatomy with the same label set', () => {
    const b = generatePhantom({ region: 'head', seed: 12, shape: SMALL });
    let diff = 0;
    for (let i = 0; i < a.labels.data.length; i++) if (a.labels.data[i] !== b.labels.data[i]) diff++;
    const frac = diff / a.labels.data.length;
    expect(frac).toBeGreaterThan(0.01);
    const all = TISSUES.map((t) => t.id);
    expect(a.params.labelsPresent).toEqual(all);
    expect(b.params.labelsPresent).toEqual(all);
    expect(a.params.anatomy).not.toEqual(b.params.anatomy);
  });

  it('puts all volumes on one grid, centred on the world origin', () => {
    const { labels, ct, t1, t2 } = a;
    for (const v of [ct, t1, t2]) {
      expect(v.shape).toEqual(labels.shape);
      expect(v.spacing).toEqual(labels.spacing);
      expect(v.origin).toEqual(labels.origin);
      expect(v.direction).toEqual(labels.direction);
      expect(sameGeometry(v, labels, 0)).toBe(true);
    }
    expect(labels.shape).toEqual([64, 64, 48]);
    // Default spacing = the head field of view (204.8 × 204.8 × 192 mm) over the shape.
    expect(labels.spacing).toEqual([3.2, 3.2, 4]);
    expect(labels.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    voxelToWorld(labels, [31.5, 31.5, 23.5]).forEach((c) => expect(c).toBeCloseTo(0, 9));
    expect(labels.origin).toEqual([-31.5 * 3.2, -31.5 * 3.2, -23.5 * 4]);
  });

  it('types, kinds, modalities and units are as documented', () => {
    expect(a.labels.data).toBeInstanceOf(Uint8Array);
    expect(a.labels.kind).toBe('label');
    expect(a.labels.meta.units).toBe('label');
    expect(a.ct.data).toBeInstanceOf(Float32Array);
    expect(a.ct.modality).toBe('CT');
    expect(a.ct.meta.units).toBe('HU');
    for (const mr of [a.t1, a.t2]) {
      expect(mr.modality).toBe('MR');
      expect(mr.kind).toBe('intensity');
      expect(mr.meta.units).toBe('arbitrary');
      expect(mr.meta.format).toBe('phantom');
      expect(mr.data.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(a.ct.data.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('contains only documented label ids, in plausible proportions', () => {
    const counts = labelCounts(a.labels);
    const ids = new Set(TISSUES.map((t) => t.id));
    counts.forEach((c, id) => {
      if (c > 0) expect(ids.has(id as never), `label ${id}`).toBe(true);
    });
    const body = a.labels.data.length - counts[TISSUE.AIR];
    const f = (...ids2: number[]): number => ids2.reduce((s, id) => s + counts[id], 0) / body;
    expect(f(TISSUE.GREY_MATTER, TISSUE.WHITE_MATTER)).toBeGreaterThan(0.1);
    expect(f(TISSUE.GREY_MATTER, TISSUE.WHITE_MATTER)).toBeLessThan(0.4);
    expect(f(TISSUE.GREY_MATTER)).toBeGreaterThan(0.02);
    expect(f(TISSUE.CSF)).toBeGreaterThan(0.02);
    expect(f(TISSUE.CSF)).toBeLessThan(0.15);
    expect(f(TISSUE.CORTICAL_BONE, TISSUE.TRABECULAR_BONE)).toBeGreaterThan(0.05);
    expect(f(TISSUE.CORTICAL_BONE, TISSUE.TRABECULAR_BONE)).toBeLessThan(0.3);
    expect(f(TISSUE.FAT)).toBeGreaterThan(0.03);
    expect(f(TISSUE.AIR_CAVITY)).toBeGreaterThan(0.001);
    expect(f(TISSUE.AIR_CAVITY)).toBeLessThan(0.05);
    // The head fills a good part of the field of view but does not spill out of it sideways.
    expect(body / a.labels.data.length).toBeGreaterThan(0.2);
    const [nx, ny] = a.labels.shape;
    const k = 30;
    for (let j = 0; j < ny; j++) {
      expect(a.labels.data[nx * (j + ny * k)]).toBe(TISSUE.AIR);
      expect(a.labels.data[nx - 1 + nx * (j + ny * k)]).toBe(TISSUE.AIR);
    }
  });

  it('renders the same anatomy whatever the field of view (anatomy lives in mm, not voxels)', () => {
    const big = generatePhantom({ region: 'head', seed: 11, shape: [80, 80, 60], spacing: [3.2, 3.2, 4] });
    const [nx, ny, nz] = SMALL;
    let same = 0;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          if (a.labels.data[i + nx * (j + ny * k)] === big.labels.data[i + 8 + 80 * (j + 8 + 80 * (k + 6))]) same++;
        }
      }
    }
    expect(same / a.labels.data.length).toBeGreaterThan(0.999);
  });
});

describe('generatePhantom intensities', () => {
  // A finer grid (2.1 mm) so that thin bone is not all partial volume.
  const p = generatePhantom({ region: 'head', seed: 3, shape: [96, 96, 72], variation: 1 });
  const { labels, ct, t1, t2 } = p;
  const m = (vol: typeof ct, id: number): number => meanWhere(vol, labels, id);

  it('CT means per tissue lie in the documented HU ranges', () => {
    const hu = Object.fromEntries(TISSUES.map((t) => [t.name, m(ct, t.id)]));
    console.log('head CT mean HU per label:', Object.entries(hu).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
    expect(m(ct, TISSUE.AIR)).toBeLessThan(-900);
    expect(m(ct, TISSUE.AIR_CAVITY)).toBeLessThan(-500);
    expect(m(ct, TISSUE.FAT)).toBeGreaterThan(-150);
    expect(m(ct, TISSUE.FAT)).toBeLessThan(-50);
    expect(m(ct, TISSUE.CORTICAL_BONE)).toBeGreaterThan(700);
    expect(m(ct, TISSUE.TRABECULAR_BONE)).toBeGreaterThan(150);
    expect(m(ct, TISSUE.TRABECULAR_BONE)).toBeLessThan(m(ct, TISSUE.CORTICAL_BONE));
    expect(m(ct, TISSUE.WHITE_MATTER)).toBeGreaterThan(15);
    expect(m(ct, TISSUE.WHITE_MATTER)).toBeLessThan(40);
    expect(m(ct, TISSUE.GREY_MATTER)).toBeGreaterThan(m(ct, TISSUE.WHITE_MATTER));
    expect(m(ct, TISSUE.SOFT_TISSUE)).toBeGreaterThan(20);
    expect(m(ct, TISSUE.SOFT_TISSUE)).toBeLessThan(80);
    // Pure (non-boundary) voxels sit at the sampled tissue values.
    for (const t of p.params.tissues) {
      const inner = interiorMean(ct, labels, t.id);
      if (inner.n > 50 && t.id !== TISSUE.CORTICAL_BONE && t.id !== TISSUE.TRABECULAR_BONE) {
        expect(Math.abs(inner.mean - t.hu), t.name).toBeLessThan(15);
      }
    }
  });

  it('CT has partial volume and noise: boundaries take intermediate values, flat regions have ~10-20 HU noise', () => {
    // Skin voxels next to air: many take HU between the two (no staircase).
    let between = 0;
    let edge = 0;
    for (let v = 1; v < labels.data.length - 1; v++) {
      if (labels.data[v] === TISSUE.SOFT_TISSUE && (labels.data[v - 1] === TISSUE.AIR || labels.data[v + 1] === TISSUE.AIR)) {
        edge++;
        if (ct.data[v] < -200) between++;
      }
    }
    expect(edge).toBeGreaterThan(100);
    expect(between / edge).toBeGreaterThan(0.1);
    // Noise: the std of air voxels far from the body (an 8×8 column in a corner) equals the CT noise.
    let s = 0;
    let ss = 0;
    let n = 0;
    for (let k = 0; k < 72; k++) {
      for (let j = 0; j < 8; j++) {
        for (let i = 0; i < 8; i++) {
          const v = i + 96 * (j + 96 * k);
          expect(labels.data[v]).toBe(TISSUE.AIR);
          s += ct.data[v];
          ss += ct.data[v] ** 2;
          n++;
        }
      }
    }
    const sd = Math.sqrt(ss / n - (s / n) ** 2);
    expect(p.params.ctNoiseHu).toBeGreaterThanOrEqual(10);
    expect(p.params.ctNoiseHu).toBeLessThanOrEqual(20);
    expect(sd).toBeGreaterThan(0.9 * p.params.ctNoiseHu);
    expect(sd).toBeLessThan(1.1 * p.params.ctNoiseHu);
  });

  it('T1w: WM > GM > CSF; T2w: CSF brightest; bone and air dark on both', () => {
    expect(m(t1, TISSUE.WHITE_MATTER)).toBeGreaterThan(1.08 * m(t1, TISSUE.GREY_MATTER));
    expect(m(t1, TISSUE.GREY_MATTER)).toBeGreaterThan(1.1 * m(t1, TISSUE.CSF));
    for (const id of [TISSUE.WHITE_MATTER, TISSUE.GREY_MATTER, TISSUE.FAT, TISSUE.SOFT_TISSUE, TISSUE.CORTICAL_BONE, TISSUE.TRABECULAR_BONE]) {
      expect(m(t2, TISSUE.CSF)).toBeGreaterThan(1.5 * m(t2, id));
    }
    expect(m(t2, TISSUE.GREY_MATTER)).toBeGreaterThan(m(t2, TISSUE.WHITE_MATTER));
    const wm1 = m(t1, TISSUE.WHITE_MATTER);
    const wm2 = m(t2, TISSUE.WHITE_MATTER);
    for (const id of [TISSUE.AIR, TISSUE.AIR_CAVITY]) {
      expect(m(t1, id)).toBeLessThan(0.2 * wm1);
      expect(m(t2, id)).toBeLessThan(0.2 * wm2);
    }
    // Cortical bone voxels are mostly thin tables mixed with neighbours, so test the pure ones
    // (label mean is ~0.2-0.4 of WM because of partial volume with fatty diploë and fat).
    const b1 = interiorMean(t1, labels, TISSUE.CORTICAL_BONE);
    const b2 = interiorMean(t2, labels, TISSUE.CORTICAL_BONE);
    expect(b1.n).toBeGreaterThan(20);
    expect(b1.mean).toBeLessThan(0.2 * wm1);
    expect(b2.mean).toBeLessThan(0.2 * wm2);
    expect(m(t1, TISSUE.CORTICAL_BONE)).toBeLessThan(0.5 * wm1);
    // Noise-free tissue signals: bone and air are (near) black while their HU differ by > 2000.
    const tissue = (id: number) => p.params.tissues[id];
    expect(tissue(TISSUE.CORTICAL_BONE).signalT1w).toBeLessThan(0.01 * tissue(TISSUE.WHITE_MATTER).signalT1w);
    expect(tissue(TISSUE.AIR_CAVITY).signalT1w).toBe(0);
    expect(tissue(TISSUE.CORTICAL_BONE).hu - tissue(TISSUE.AIR_CAVITY).hu).toBeGreaterThan(2000);
  });

  it('MR→CT is not trivial: a global linear fit from T1w to HU inside the body has a large MAE', () => {
    let n = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < labels.data.length; i++) {
      if (labels.data[i] === TISSUE.AIR) continue;
      const x = t1.data[i];
      const y = ct.data[i];
      n++;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const a0 = (sy - b * sx) / n;
    let mae = 0;
    let maeBone = 0;
    let nb = 0;
    for (let i = 0; i < labels.data.length; i++) {
      const l = labels.data[i];
      if (l === TISSUE.AIR) continue;
      const err = Math.abs(a0 + b * t1.data[i] - ct.data[i]);
      mae += err;
      if (l === TISSUE.CORTICAL_BONE) {
        maeBone += err;
        nb++;
      }
    }
    console.log(`linear T1w→HU fit inside the head: MAE ${(mae / n).toFixed(1)} HU (cortical bone ${(maeBone / nb).toFixed(0)} HU)`);
    expect(mae / n).toBeGreaterThan(100);
    expect(maeBone / nb).toBeGreaterThan(300);
  });
});

describe('generatePhantom (pelvis)', () => {
  const p = generatePhantom({ region: 'pelvis', seed: 5, shape: [80, 60, 32] });

  it('has bone, bladder, gas, fat and muscle, and no brain', () => {
    const c = labelCounts(p.labels);
    const body = p.labels.data.length - c[TISSUE.AIR];
    expect((c[TISSUE.CORTICAL_BONE] + c[TISSUE.TRABECULAR_BONE]) / body).toBeGreaterThan(0.03);
    expect(c[TISSUE.FLUID] / body).toBeGreaterThan(0.003);
    expect(c[TISSUE.AIR_CAVITY]).toBeGreaterThan(0);
    expect(c[TISSUE.FAT] / body).toBeGreaterThan(0.1);
    expect(c[TISSUE.SOFT_TISSUE] / body).toBeGreaterThan(0.2);
    expect(c[TISSUE.GREY_MATTER] + c[TISSUE.WHITE_MATTER] + c[TISSUE.CSF]).toBe(0);
    expect(p.params.labelsPresent).toEqual([0, 1, 2, 3, 7, 8, 9]);
    expect(meanWhere(p.ct, p.labels, TISSUE.FLUID)).toBeLessThan(40);
    expect(meanWhere(p.ct, p.labels, TISSUE.CORTICAL_BONE)).toBeGreaterThan(500);
    expect(meanWhere(p.t2, p.labels, TISSUE.FLUID)).toBeGreaterThan(2 * meanWhere(p.t2, p.labels, TISSUE.SOFT_TISSUE));
    // Default pelvis field of view is 352 × 264 × 160 mm.
    expect(p.labels.spacing).toEqual([4.4, 4.4, 5]);
  });

  it('regenerates from history', () => {
    expectSameBytes(p, regeneratePhantom(p.labels.history[0]));
  });
});

describe('generatePhantom options', () => {
  it('honours spacing-only, direction, pose, field strength, sequences and a clean scanner', () => {
    const c = Math.cos(0.4);
    const s = Math.sin(0.4);
    const direction = [c, -s, 0, s, c, 0, 0, 0, 1];
    const p = generatePhantom({
      region: 'head', seed: 2, spacing: [6.4, 6.4, 8], direction, pose: { maxRotationDeg: 0, maxTranslationMm: 0 },
      fieldStrength: '1.5T', sequences: { t1: { trMs: 450, teMs: 15 } }, scanner: NO_SCANNER_EFFECTS, ctNoiseHu: 0,
    });
    expect(p.labels.shape).toEqual([32, 32, 24]);
    expect(p.t1.direction).toEqual(direction);
    voxelToWorld(p.t1, [15.5, 15.5, 11.5]).forEach((v) => expect(v).toBeCloseTo(0, 9));
    expect(p.params.poseSampled).toEqual({ rotationDeg: [0, 0, 0], translationMm: [0, 0, 0] });
    expect(p.params.sequences.t1).toEqual({ trMs: 450, teMs: 15 });
    expect(p.params.fieldStrength).toBe('1.5T');
    // Clean MR: a pure WM voxel has exactly the WM signal (up to texture, ±5 %).
    const wm = interiorMean(p.t1, p.labels, TISSUE.WHITE_MATTER);
    expect(wm.n).toBeGreaterThan(10);
    expect(Math.abs(wm.mean / p.params.referenceIntensity.t1 - 1)).toBeLessThan(0.05);
    // No CT noise: pure fat voxels sit at the sampled fat HU ± texture.
    expect(Math.abs(interiorMean(p.ct, p.labels, TISSUE.FAT).mean - p.params.tissues[TISSUE.FAT].hu)).toBeLessThan(12);
    // The anatomy does not rotate with the grid direction: the world-space head is the same.
    const straight = generatePhantom({ region: 'head', seed: 2, spacing: [6.4, 6.4, 8], pose: { maxRotationDeg: 0, maxTranslationMm: 0 } });
    const aw = affineOf(p.labels);
    expect(aw[0]).toBeCloseTo(c * 6.4, 9);
    const count = (l: Uint8Array): number => l.reduce((acc, v) => acc + (v === TISSUE.WHITE_MATTER ? 1 : 0), 0);
    expect(Math.abs(count(p.labels.data) - count(straight.labels.data)) / count(straight.labels.data)).toBeLessThan(0.05);
  });

  it('rejects bad options with VoxshiftErrors naming the parameter', () => {
    const ok: PhantomOptions = { region: 'head', seed: 1, shape: [8, 8, 8] };
    expectError(() => generatePhantom({ ...ok, region: 'thorax' as never }), 'INVALID_ARGUMENT', 'region');
    expectError(() => generatePhantom({ ...ok, seed: 1.5 }), 'INVALID_ARGUMENT', 'seed');
    expectError(() => generatePhantom({ ...ok, seed: Number.NaN }), 'INVALID_ARGUMENT', 'seed');
    expectError(() => generatePhantom({ ...ok, variation: 2 }), 'INVALID_ARGUMENT', 'variation');
    expectError(() => generatePhantom({ ...ok, shape: [0, 8, 8] }), 'INVALID_ARGUMENT', 'shape');
    expectError(() => generatePhantom({ ...ok, shape: [8, 8] as never }), 'INVALID_ARGUMENT', 'shape');
    expectError(() => generatePhantom({ ...ok, spacing: [1, -1, 1] }), 'INVALID_ARGUMENT', 'spacing');
    expectError(() => generatePhantom({ ...ok, direction: [1, 0, 0, 0, 2, 0, 0, 0, 1] }), 'INVALID_ARGUMENT', 'direction');
    expectError(() => generatePhantom({ ...ok, shape: [1024, 1024, 1024] }), 'SIZE_LIMIT', 'shape');
    expectError(() => generatePhantom({ ...ok, fieldStrength: '7T' as never }), 'INVALID_ARGUMENT', 'fieldStrength');
    expectError(() => generatePhantom({ ...ok, sequences: { t2: { trMs: 50, teMs: 100 } } }), 'INVALID_ARGUMENT', 'sequences.t2');
    expectError(() => generatePhantom({ ...ok, ctNoiseHu: -1 }), 'INVALID_ARGUMENT', 'ctNoiseHu');
    expectError(() => generatePhantom({ ...ok, scanner: { noiseSigma: -0.1 } }), 'INVALID_ARGUMENT', 'scanner.noiseSigma');
    expectError(() => generatePhantom({ ...ok, scanner: { noise: 0.1 } as never }), 'INVALID_ARGUMENT', 'scanner.noise');
    expectError(() => generatePhantom({ ...ok, colour: 'red' } as never), 'INVALID_ARGUMENT', 'options.colour');
    expectError(() => regeneratePhantom({ op: 'resample', params: {} }), 'INVALID_ARGUMENT', 'entry');
    expectError(() => regeneratePhantom({ op: 'phantom', params: { version: 999 } }), 'INVALID_ARGUMENT', 'entry.params.version');
  });

  it('prints the time of a default 128×128×96 head (all four volumes)', () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const p = generatePhantom({ region: 'head', seed: 1 });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `phantom timing: head ${p.labels.shape.join('×')} wall ${ms.toFixed(0)} ms, cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (not asserted; depends on machine load)`,
    );
    expect(p.labels.shape).toEqual([128, 128, 96]);
  });
});
