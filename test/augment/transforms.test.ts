/** Behaviour of the individual transforms, the transform contract and history replay. */
import { describe, expect, it } from 'vitest';
import { compose } from '../../augment/compose.ts';
import { oneOf } from '../../augment/one-of.ts';
import { presetPipeline } from '../../augment/presets.ts';
import { twinFromHistory } from '../../augment/registry.ts';
import { createSubject } from '../../augment/subject.ts';
import type { Subject } from '../../augment/subject.ts';
import { Identity } from '../../augment/transform.ts';
import { Affine, RandomAffine } from '../../augment/spatial/affine.ts';
import { Anisotropy } from '../../augment/spatial/anisotropy.ts';
import { CropOrPad } from '../../augment/spatial/crop-pad.ts';
import { Elastic, elasticField, RandomElastic } from '../../augment/spatial/elastic.ts';
import { Flip } from '../../augment/spatial/flip.ts';
import { RandomPatch } from '../../augment/spatial/random-patch.ts';
import { BiasField } from '../../augment/intensity/bias-field.ts';
import { Blur } from '../../augment/intensity/blur.ts';
import { BrightnessContrast } from '../../augment/intensity/brightness-contrast.ts';
import { Gamma, RandomGamma } from '../../augment/intensity/gamma.ts';
import { Ghosting } from '../../augment/intensity/ghosting.ts';
import { Motion } from '../../augment/intensity/motion.ts';
import { Noise } from '../../augment/intensity/noise.ts';
import { RicianNoise } from '../../augment/intensity/rician-noise.ts';
import { Spike } from '../../augment/intensity/spike.ts';
import { voxelToWorld } from '../../volumes/affine.ts';
import { createRng } from '../../volumes/random.ts';
import { fft3d } from '../../augment/fft.ts';
import { createVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { bytesOf, phantomSubject, TILTED } from './subjects.ts';

const code = (c: string) => expect.objectContaining({ code: `VOXSHIFT_E_${c}` });

function stats(d: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    s += d[i];
    min = Math.min(min, d[i]);
    max = Math.max(max, d[i]);
  }
  const mean = s / d.length;
  let q = 0;
  for (let i = 0; i < d.length; i++) q += (d[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / d.length), min, max };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('subjects', () => {
  it('accepts volumes on one grid and refuses another grid with GEOMETRY_MISMATCH naming the key', () => {
    const s = phantomSubject(1);
    expect(Object.keys(createSubject({ a: s.t1, b: s.labels }))).toEqual(['a', 'b']);
    const other = phantomSubject(1, [32, 32, 20]);
    expect(() => createSubject({ t1: s.t1, labels: other.labels })).toThrow(code('GEOMETRY_MISMATCH'));
    try {
      createSubject({ t1: s.t1, labels: other.labels });
    } catch (e) {
      expect((e as { param: string }).param).toBe('subject.labels');
    }
    const tilted = phantomSubject(1, undefined, true);
    expect(() => createSubject({ t1: s.t1, labels: tilted.labels })).toThrow(code('GEOMETRY_MISMATCH'));
    expect(() => createSubject({})).toThrow(code('INVALID_ARGUMENT'));
    expect(() => createSubject({ x: { data: [1] } as unknown as Volume })).toThrow(code('INVALID_ARGUMENT'));
  });
});

describe('the transform contract', () => {
  const subject = phantomSubject(1);

  it('random transforms need an rng; deterministic twins do not', () => {
    expect(() => RandomGamma().apply(subject)).toThrow(code('INVALID_ARGUMENT'));
    expect(() => compose([RandomGamma()]).apply(subject)).toThrow(code('INVALID_ARGUMENT'));
    expect(Gamma({ gamma: 2 }).apply(subject).t1.history.at(-1)).toEqual({ op: 'Gamma', params: { gamma: 2 } });
  });

  it('p = 0 gives Identity (same objects, no history); p draws follow the probability', () => {
    const t = RandomGamma({ p: 0 });
    expect(t.sample(subject, createRng(1))).toBe(Identity);
    const out = t.apply(subject, createRng(1));
    expect(out.t1).toBe(subject.t1);
    const rng = createRng(5);
    let applied = 0;
    const q = RandomGamma({ p: 0.3 });
    for (let i = 0; i < 2000; i++) if (q.sample(subject, rng) !== Identity) applied++;
    expect(applied / 2000).toBeGreaterThan(0.27);
    expect(applied / 2000).toBeLessThan(0.33);
  });

  it('a twin adds exactly one history entry to each volume it changes (helpers’ own entries dropped)', () => {
    const out = Affine({ rotationDeg: [0, 0, 5] }).apply(subject);
    for (const key of Object.keys(subject)) {
      expect(out[key].history.length).toBe(subject[key].history.length + 1);
      expect(out[key].history.slice(0, -1)).toEqual(subject[key].history);
      expect(out[key].history.at(-1)).toMatchObject({ op: 'Affine', params: { rotationDeg: [0, 0, 5], imageInterpolation: 'linear', labelInterpolation: 'label' } });
    }
    const g = Gamma({ gamma: 1.5 }).apply(subject);
    expect(g.labels.history).toBe(subject.labels.history);
    const cp = CropOrPad({ shape: [30, 34, 24] }).apply(subject);
    expect(cp.t1.history.at(-1)).toEqual({ op: 'CropOrPad', params: { shape: [30, 34, 24], mode: 'constant' } });
    expect(cp.t1.history.length).toBe(subject.t1.history.length + 1);
  });

  it('oneOf follows its weights; compose of twins inverts in reverse order', () => {
    const pick = oneOf([RandomGamma(), RandomElastic()], [0, 1]);
    for (let s = 0; s < 5; s++) expect(pick.sample(subject, createRng(s)).name).toBe('Elastic');
    expect(() => oneOf([RandomGamma()], [1, 2])).toThrow(code('INVALID_ARGUMENT'));
    expect(() => oneOf([])).toThrow(code('INVALID_ARGUMENT'));
    const twins = compose([Flip({ axes: [0] }), Gamma({ gamma: 2 })]);
    const inv = twins as unknown as { inverse(): { params: { transforms: Array<{ op: string; params: unknown }> } } };
    expect(inv.inverse().params.transforms).toEqual([
      { op: 'Gamma', params: { gamma: 0.5 } },
      { op: 'Flip', params: { axes: [0] } },
    ]);
  });

  it('history replays: the twins recorded in a volume’s history rebuild the augmented subject bit for bit (through JSON)', () => {
    for (const seed of [3, 11, 12]) {
      const out = presetPipeline('mr').apply(subject, createRng(seed));
      const steps = JSON.parse(JSON.stringify(out.t1.history.slice(subject.t1.history.length)));
      expect(steps.length).toBeGreaterThan(0);
      let replay: Subject = subject;
      for (const step of steps) replay = twinFromHistory(step).apply(replay);
      for (const key of Object.keys(subject)) expect(bytesOf(replay[key]).equals(bytesOf(out[key])), `seed ${seed} ${key}`).toBe(true);
    }
    expect(() => twinFromHistory({ op: 'resample', params: {} })).toThrow(code('INVALID_ARGUMENT'));
  });

  it('options are validated with the key named', () => {
    const param = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT' });
        return (e as { param: string }).param;
      }
      throw new Error('no error');
    };
    expect(param(() => RandomAffine({ rotationDeg: 'x' as never }))).toBe('RandomAffine.rotationDeg');
    expect(param(() => RandomAffine({ scale: [1.2, 0.8] }))).toBe('RandomAffine.scale');
    expect(param(() => RandomAffine({ scale: [[0.9, 1], [1, 1], [1, 1.1]] }))).toBe('RandomAffine.scale');
    expect(param(() => RandomAffine({ rotationDeg: [[0, 1], [0, 1]] as never }))).toBe('RandomAffine.rotationDeg');
    expect(param(() => RandomAffine({ rotation: [1, 2] } as never))).toBe('RandomAffine.rotation');
    expect(param(() => Gamma({ gamma: -1 }))).toBe('Gamma.gamma');
    expect(param(() => Flip({ axes: [0, 0] }))).toBe('Flip.axes');
    expect(param(() => Affine({ matrix: [1, 2, 3] }))).toBe('Affine.matrix');
    expect(param(() => Affine({ scale: [0, 1, 1] }))).toBe('Affine.scale');
    expect(param(() => BiasField({ order: 2, coefficients: [1, 2] }))).toBe('BiasField.coefficients');
    expect(param(() => Motion({ times: [0.7, 0.2], rotationDeg: [], translationMm: [] }))).toBe('Motion.times');
    expect(param(() => RandomAffine({ imageInterpolation: 'cubic' as never }))).toBe('RandomAffine.imageInterpolation');
    expect(() => Affine({ matrix: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] })).toThrow(code('INVALID_ARGUMENT'));
    expect(param(() => RandomPatch({ patchSize: [64, 8, 8] }).apply(subject, createRng(1)))).toBe('patchSize');
    expect(param(() => RandomPatch({ patchSize: [8, 8, 8], labelKey: 't1' }).apply(subject, createRng(1)))).toBe('RandomPatch.labelKey');
  });
});

/** A 5×5×1 grid with a distinct value per voxel. */
function ramp(direction?: number[]): Subject {
  const data = Float32Array.from({ length: 25 }, (_, i) => i);
  const labels = Uint8Array.from({ length: 25 }, (_, i) => i);
  const g = { shape: [5, 5, 1], spacing: [2, 2, 3], origin: [10, -4, 7], ...(direction ? { direction } : {}) };
  return createSubject({
    image: createVolume({ data, ...g, kind: 'intensity' }),
    labels: createVolume({ data: labels, ...g, kind: 'label' }),
  });
}

describe('spatial transforms', () => {
  it('Flip reverses voxel order and keeps the grid', () => {
    const s = ramp();
    const out = Flip({ axes: [0] }).apply(s);
    expect(Array.from(out.labels.data.subarray(0, 5))).toEqual([4, 3, 2, 1, 0]);
    expect(out.image.data).toBeInstanceOf(Float32Array);
    expect(out.labels.origin).toEqual(s.labels.origin);
    expect(Array.from(Flip({ axes: [1] }).apply(s).labels.data.subarray(0, 5))).toEqual([20, 21, 22, 23, 24]);
  });

  it('Affine rotates about the grid centre in world space (90° about z), on an identity and on a tilted grid', () => {
    for (const direction of [undefined, TILTED]) {
      const s = ramp(direction);
      const out = Affine({ rotationDeg: [0, 0, 90], labelInterpolation: 'nearest' }).apply(s);
      // Content moves by w → Rz(90°)·w about the centre: voxel (i, j) shows input voxel (j, 4 − i) in world
      // terms; a rotation about world z of a grid tilted about z is the same voxel map.
      for (let j = 0; j < 5; j++) {
        for (let i = 0; i < 5; i++) {
          expect(out.labels.data[i + 5 * j]).toBe(j + 5 * (4 - i));
          expect(out.image.data[i + 5 * j]).toBeCloseTo(j + 5 * (4 - i), 4);
        }
      }
    }
  });

  it('RandomAffine takes one range per axis (e.g. in-plane rotation only)', () => {
    const s = phantomSubject(1);
    for (let seed = 0; seed < 5; seed++) {
      const twin = RandomAffine({ rotationDeg: [[0, 0], [0, 0], [-20, 20]], scale: [[1, 1], [0.8, 0.9], [1, 1]], isotropic: false, translationMm: [[0, 0], [-2, -1], [0, 0]] }).sample(
        s,
        createRng(seed),
      );
      const p = twin.params as { rotationDeg: number[]; scale: number[]; translationMm: number[] };
      expect(p.rotationDeg.slice(0, 2)).toEqual([0, 0]);
      expect(Math.abs(p.rotationDeg[2])).toBeLessThanOrEqual(20);
      expect(p.scale[0]).toBe(1);
      expect(p.scale[1]).toBeGreaterThanOrEqual(0.8);
      expect(p.scale[1]).toBeLessThan(0.9);
      expect(p.translationMm[1]).toBeLessThan(-1 + 1e-12);
    }
  });

  it('Affine scale > 1 enlarges the content about the centre', () => {
    const s = ramp();
    const out = Affine({ scale: [2, 2, 1], labelInterpolation: 'nearest', imageInterpolation: 'nearest' }).apply(s);
    // The centre voxel stays; voxel (4, 2) samples input index 2 + (4 − 2)/2 = 3.
    expect(out.labels.data[2 + 5 * 2]).toBe(12);
    expect(out.labels.data[4 + 5 * 2]).toBe(13);
  });

  it('Elastic with zero displacement is the identity; the dense field is bounded by the control displacements', () => {
    const s = phantomSubject(2);
    const zero = Elastic({ controlPoints: [4, 4, 4], displacementMm: new Array(4 * 4 * 4 * 3).fill(0) }).apply(s);
    expect(bytesOf(zero.labels).equals(bytesOf(s.labels))).toBe(true);
    expect(maxAbsDiff(zero.t1.data, s.t1.data)).toBeLessThan(1e-3);
    const twin = RandomElastic({ controlPoints: 6, maxDisplacementMm: 5 }).sample(s, createRng(4));
    const p = twin.params as { controlPoints: [number, number, number]; displacementMm: number[] };
    const field = elasticField(s.t1, p.controlPoints, p.displacementMm);
    const sp = s.t1.spacing;
    let maxMm = 0;
    for (let i = 0; i < field.dx.length; i++) {
      maxMm = Math.max(maxMm, Math.hypot(field.dx[i] * sp[0], field.dy[i] * sp[1], field.dz[i] * sp[2]));
    }
    expect(maxMm).toBeGreaterThan(0.5);
    expect(maxMm).toBeLessThanOrEqual(5 * Math.sqrt(3) + 1e-6);
    // Outer control layer is held at zero.
    expect(p.displacementMm[0]).toBe(0);
  });

  it('Anisotropy degrades images only and keeps the grid', () => {
    const s = phantomSubject(1);
    const out = Anisotropy({ axis: 2, factor: 3 }).apply(s);
    expect(out.labels).toBe(s.labels);
    expect(out.t1.shape).toEqual(s.t1.shape);
    expect(out.t1.origin).toEqual(s.t1.origin);
    expect(maxAbsDiff(out.t1.data, s.t1.data)).toBeGreaterThan(1);
  });

  it('RandomPatch with foregroundProb 1 crops around foreground, keeping world positions', () => {
    const s = phantomSubject(3);
    const out = RandomPatch({ patchSize: [8, 8, 8], labelKey: 'labels', foregroundProb: 1 }).apply(s, createRng(2));
    expect(out.labels.shape).toEqual([8, 8, 8]);
    expect(out.labels.data[4 + 8 * (4 + 8 * 4)]).toBeGreaterThan(0);
    const crop = out.labels.history.at(-1)?.params as { before: number[] };
    const [nx, ny] = s.labels.shape;
    const [a, b, c] = crop.before;
    expect(out.t1.data[0]).toBe(s.t1.data[a + nx * (b + ny * c)]);
    const w = voxelToWorld(s.labels, [a, b, c]);
    for (let ax = 0; ax < 3; ax++) expect(out.labels.origin[ax]).toBeCloseTo(w[ax], 9);
    expect(out.labels.direction).toEqual(s.labels.direction);
  });
});

describe('intensity transforms', () => {
  const s = phantomSubject(4);

  it('Gamma keeps the range', () => {
    const out = Gamma({ gamma: 2 }).apply(s);
    const a = stats(s.ct.data);
    const b = stats(out.ct.data);
    expect(b.min).toBeCloseTo(a.min, 2);
    expect(b.max).toBeCloseTo(a.max, 2);
    expect(b.mean).toBeLessThan(a.mean);
  });

  it('BiasField of order 0 multiplies by exp(c); higher orders vary smoothly', () => {
    const out = BiasField({ order: 0, coefficients: [0.2] }).apply(s);
    for (let i = 0; i < 1000; i += 37) expect(out.t1.data[i]).toBeCloseTo(s.t1.data[i] * Math.exp(0.2), 2);
  });

  it('Noise adds noise with std relative to the image std, reproducibly from its seed', () => {
    const out = Noise({ std: 0.1, seed: 7 }).apply(s);
    const diff = Float32Array.from(out.t1.data, (v, i) => v - s.t1.data[i]);
    const d = stats(diff);
    expect(d.std / (0.1 * stats(s.t1.data).std)).toBeGreaterThan(0.97);
    expect(d.std / (0.1 * stats(s.t1.data).std)).toBeLessThan(1.03);
    expect(Math.abs(d.mean)).toBeLessThan(0.01 * d.std * 10);
    expect(bytesOf(Noise({ std: 0.1, seed: 7 }).apply(s).t1).equals(bytesOf(out.t1))).toBe(true);
    // Each volume gets its own stream.
    const ctStd = stats(s.ct.data).std;
    const t1Std = stats(s.t1.data).std;
    expect(Math.abs((out.ct.data[100] - s.ct.data[100]) / ctStd - diff[100] / t1Std)).toBeGreaterThan(1e-6);
  });

  it('RicianNoise gives non-negative magnitudes and refuses signed images (CT)', () => {
    const out = RicianNoise({ std: 0.3, seed: 1, include: ['t1'] }).apply(s);
    expect(stats(out.t1.data).min).toBeGreaterThanOrEqual(0);
    expect(out.ct).toBe(s.ct);
    expect(() => RicianNoise({ std: 0.3, seed: 1 }).apply(s)).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'RicianNoise.include' }));
  });

  it('Blur keeps a constant image constant and lowers a peak; σ = 0 changes nothing', () => {
    const c = createVolume({ data: new Float32Array(6 * 5 * 4).fill(3), shape: [6, 5, 4], spacing: [1, 2, 3] });
    const out = Blur({ sigmaMm: [2, 2, 2] }).apply(createSubject({ c }));
    expect(maxAbsDiff(out.c.data, c.data)).toBeLessThan(1e-5);
    const blurred = Blur({ sigmaMm: [2, 2, 2] }).apply(s);
    expect(stats(blurred.ct.data).max).toBeLessThan(stats(s.ct.data).max);
    expect(maxAbsDiff(Blur({ sigmaMm: [0, 0, 0] }).apply(s).t1.data, s.t1.data)).toBe(0);
  });

  it('BrightnessContrast scales the mean by brightness', () => {
    const out = BrightnessContrast({ brightness: 1.2, contrast: 0.8 }).apply(s);
    expect(stats(out.t1.data).mean / stats(s.t1.data).mean).toBeCloseTo(1.2, 4);
    expect(stats(out.t1.data).std / stats(s.t1.data).std).toBeCloseTo(0.96, 3);
  });

  it('k-space artefacts with no strength give back the image (magnitude for MR, real part for CT)', () => {
    const still = [
      Ghosting({ numGhosts: 4, axis: 1, intensity: 0 }),
      Spike({ positions: [0.2, -0.1, 0.3], intensity: 0 }),
      Motion({ rotationDeg: [0, 0, 0, 0, 0, 0], translationMm: [0, 0, 0, 0, 0, 0], times: [0.3, 0.8] }),
    ];
    for (const t of still) {
      const out = t.apply(s);
      expect(maxAbsDiff(out.t1.data, s.t1.data), t.name).toBeLessThan(1e-2);
      expect(maxAbsDiff(out.ct.data, s.ct.data), t.name).toBeLessThan(1e-2);
    }
  });

  it('Ghosting and Spike equal a direct 3-D k-space reference (edit the full spectrum, transform back)', () => {
    const small = phantomSubject(3, [20, 18, 12]);
    const shape = small.t1.shape;
    const reference = (img: Volume, edit: (re: Float64Array, im: Float64Array) => void): Float32Array => {
      const re = Float64Array.from(img.data);
      const im = new Float64Array(re.length);
      let min = Infinity;
      for (const v of img.data) min = Math.min(min, v);
      fft3d(re, im, shape);
      edit(re, im);
      fft3d(re, im, shape, true);
      return Float32Array.from(re, (r, i) => (min >= 0 ? Math.hypot(r, im[i]) : r));
    };
    const ghostRef = (img: Volume): Float32Array =>
      reference(img, (re, im) => {
        // numGhosts 3 along j (n = 18): centred positions 0, 3, ..., 15 → frequencies −9, −6, ..., 6; |f| <= 0.18 kept.
        for (let k = 0; k < shape[2]; k++) {
          for (let j = 0; j < shape[1]; j++) {
            const f = j < 9 ? j : j - 18;
            if (f % 3 !== 0 || f === 0) continue;
            for (let i = 0; i < shape[0]; i++) {
              const p = i + shape[0] * (j + shape[1] * k);
              re[p] *= 0.4;
              im[p] *= 0.4;
            }
          }
        }
      });
    const ghost = Ghosting({ numGhosts: 3, axis: 1, intensity: 0.6, restore: 0.02 }).apply(small);
    const spikeRef = (img: Volume): Float32Array =>
      reference(img, (re, im) => {
        let max = 0;
        for (let p = 0; p < re.length; p++) max = Math.max(max, Math.hypot(re[p], im[p]));
        // positions [0.25, -0.3, 0.1] → frequencies round(5), round(−5.4) = −5 → 13, round(1.2) = 1.
        re[5 + 20 * (13 + 18 * 1)] += 0.7 * max;
      });
    const spike = Spike({ positions: [0.25, -0.3, 0.1], intensity: 0.7 }).apply(small);
    for (const key of ['t1', 'ct']) {
      const scale = stats(small[key].data).max - stats(small[key].data).min;
      expect(maxAbsDiff(ghost[key].data, ghostRef(small[key])), `ghosting ${key}`).toBeLessThan(1e-4 * scale);
      expect(maxAbsDiff(spike[key].data, spikeRef(small[key])), `spike ${key}`).toBeLessThan(1e-4 * scale);
    }
  });

  it('Motion equals a direct 3-D k-space reference built from Affine-moved images', () => {
    const small = phantomSubject(3, [20, 18, 12]);
    const shape = small.t1.shape;
    const n = 20 * 18 * 12;
    const rot = [4, -3, 6, -5, 2, 3];
    const tr = [1.5, -2, 0.5, 2, 1, -1];
    const times = [0.2, 0.75];
    const out = Motion({ rotationDeg: rot, translationMm: tr, times }).apply(small);
    const poses = [0, 1].map((t) =>
      Affine({ rotationDeg: rot.slice(3 * t, 3 * t + 3) as [number, number, number], translationMm: tr.slice(3 * t, 3 * t + 3) as [number, number, number] }).apply(small),
    );
    // Centred k positions along z split at floor(0.2·12) = 2 and floor(0.75·12) = 9: [0, 2) pose 0,
    // [2, 9) the still image (it holds the centre, 6), [9, 12) pose 1.
    const segmentPose = (c: number): number => (c < 2 ? 0 : c < 9 ? -1 : 1);
    for (const key of ['t1', 'ct']) {
      const spec = (d: ArrayLike<number>): [Float64Array, Float64Array] => {
        const re = Float64Array.from(d);
        const im = new Float64Array(n);
        fft3d(re, im, shape);
        return [re, im];
      };
      const [re, im] = spec(small[key].data);
      const moved = poses.map((p) => spec(p[key].data));
      const plane = 20 * 18;
      for (let c = 0; c < 12; c++) {
        const pose = segmentPose(c);
        if (pose < 0) continue;
        const k = (((c - 6) % 12) + 12) % 12;
        re.set(moved[pose][0].subarray(k * plane, (k + 1) * plane), k * plane);
        im.set(moved[pose][1].subarray(k * plane, (k + 1) * plane), k * plane);
      }
      fft3d(re, im, shape, true);
      const magnitude = stats(small[key].data).min >= 0;
      const ref = Float32Array.from(re, (r, i) => (magnitude ? Math.hypot(r, im[i]) : r));
      const scale = stats(small[key].data).max - stats(small[key].data).min;
      expect(maxAbsDiff(out[key].data, ref), key).toBeLessThan(1e-4 * scale);
      expect(maxAbsDiff(out[key].data, small[key].data), key).toBeGreaterThan(1e-3 * scale);
    }
  });

  it('k-space artefacts change the image when strong', () => {
    const strong = [
      Ghosting({ numGhosts: 4, axis: 1, intensity: 1 }),
      Spike({ positions: [0.2, -0.1, 0.3], intensity: 1 }),
      Motion({ rotationDeg: [5, 0, 0, 0, 0, 8], translationMm: [3, 0, 0, 0, 4, 0], times: [0.3, 0.8] }),
    ];
    for (const t of strong) {
      const out = t.apply(s);
      expect(maxAbsDiff(out.t1.data, s.t1.data), t.name).toBeGreaterThan(0.05 * stats(s.t1.data).max);
      expect(stats(out.t1.data).min, t.name).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('odd subjects', () => {
  it('a single-slice subject (16×16×1) and a 2-channel image go through both presets', () => {
    const shape = [16, 16, 1];
    const labels = createVolume({ data: Uint8Array.from({ length: 256 }, (_, i) => ((i % 16) > 5 && (i >> 4) > 4 ? 2 : 0)), shape, spacing: [1, 1, 5], kind: 'label' });
    const img = createVolume({ data: Float32Array.from(labels.data, (v, i) => v * 100 + (i % 7)), shape, spacing: [1, 1, 5] });
    const two = createVolume({ data: Float32Array.from({ length: 512 }, (_, i) => (i < 256 ? i : 1000 - i)), shape, channels: 2, spacing: [1, 1, 5] });
    const subject = createSubject({ img, two, labels });
    for (const name of ['mr', 'ct'] as const) {
      for (let seed = 0; seed < 6; seed++) {
        const out = presetPipeline(name).apply(subject, createRng(seed));
        expect(out.two.channels).toBe(2);
        expect(out.two.data.length).toBe(512);
        for (const v of new Set(out.labels.data)) expect([0, 2]).toContain(v);
        for (const key of ['img', 'two']) for (const v of out[key].data) if (!Number.isFinite(v)) throw new Error(`${name} ${seed} ${key}: ${v}`);
      }
    }
    // Channels are processed independently: flipping a 2-channel image flips each channel.
    const flipped = Flip({ axes: [0] }).apply(subject);
    expect(flipped.two.data[0]).toBe(15);
    expect(flipped.two.data[256]).toBe(1000 - 256 - 15);
  });
});

describe('include (TorchIO’s include): intensity transforms on chosen images only', () => {
  it('touches only the named images, records include, and refuses unknown names or label maps', () => {
    const s = phantomSubject(2);
    for (const t of [Gamma({ gamma: 2, include: ['t1'] }), Ghosting({ numGhosts: 4, axis: 0, intensity: 0.8, include: ['t1'] })]) {
      const out = t.apply(s);
      expect(out.ct).toBe(s.ct);
      expect(out.labels).toBe(s.labels);
      expect(out.t1).not.toBe(s.t1);
      expect(out.t1.history.at(-1)?.params).toMatchObject({ include: ['t1'] });
      expect(bytesOf(twinFromHistory(out.t1.history.at(-1)!).apply(s).t1).equals(bytesOf(out.t1))).toBe(true);
    }
    const random = RandomGamma({ include: ['ct'] }).apply(s, createRng(1));
    expect(random.t1).toBe(s.t1);
    expect(random.ct).not.toBe(s.ct);
    expect(Gamma({ gamma: 2, include: ['t1'] }).inverse().params).toEqual({ gamma: 0.5, include: ['t1'] });
    expect(() => Gamma({ gamma: 2, include: ['t2'] }).apply(s)).toThrow(code('INVALID_ARGUMENT'));
    expect(() => Gamma({ gamma: 2, include: ['labels'] }).apply(s)).toThrow(code('INVALID_ARGUMENT'));
    expect(() => Gamma({ gamma: 2, include: [] })).toThrow(code('INVALID_ARGUMENT'));
  });

  it('refuses images with NaN or Inf (NON_FINITE_VALUES naming the volume)', () => {
    const s = phantomSubject(2);
    const bad = Float32Array.from(s.t1.data);
    bad[77] = Number.NaN;
    const withNaN = createSubject({ ...s, t1: createVolume({ ...s.t1, data: bad }) });
    expect(() => BrightnessContrast({ brightness: 2 }).apply(withNaN)).toThrow(
      expect.objectContaining({ code: 'VOXSHIFT_E_NON_FINITE_VALUES', param: 'subject.t1' }),
    );
    expect(BrightnessContrast({ brightness: 2, include: ['ct'] }).apply(withNaN).t1).toBe(withNaN.t1);
  });
});

describe('Affine matches an independent world-space computation', () => {
  it('on a tilted, anisotropic grid: output voxel o shows the input at A⁻¹·T⁻¹·A·o', async () => {
    const { voxelToWorld, worldToVoxel } = await import('../../volumes/affine.ts');
    const shape = [9, 8, 7];
    const n = 9 * 8 * 7;
    const g = { shape, spacing: [1.2, 0.8, 2.5], origin: [5, -3, 11], direction: TILTED };
    const labels = createVolume({ data: Uint16Array.from({ length: n }, (_, i) => i), ...g, kind: 'label' });
    const subject = createSubject({ labels });
    const rotationDeg: [number, number, number] = [12, -7, 25];
    const scale: [number, number, number] = [1.1, 0.9, 1.05];
    const t: [number, number, number] = [1.5, -2, 0.5];
    const out = Affine({ rotationDeg, scale, translationMm: t, labelInterpolation: 'nearest' }).apply(subject);
    const rad = Math.PI / 180;
    const [ax, ay, az] = rotationDeg.map((d) => d * rad);
    const rot = (p: number[]): number[] => {
      // R = Rz·Ry·Rx applied to p.
      let [x, y, z] = p;
      [y, z] = [Math.cos(ax) * y - Math.sin(ax) * z, Math.sin(ax) * y + Math.cos(ax) * z];
      [x, z] = [Math.cos(ay) * x + Math.sin(ay) * z, -Math.sin(ay) * x + Math.cos(ay) * z];
      [x, y] = [Math.cos(az) * x - Math.sin(az) * y, Math.sin(az) * x + Math.cos(az) * y];
      return [x, y, z];
    };
    const c = voxelToWorld(labels, [4, 3.5, 3]);
    let checked = 0;
    for (let k = 0; k < 7; k++) {
      for (let j = 0; j < 8; j++) {
        for (let i = 0; i < 9; i++) {
          // Solve T(s) = w for the source s by fixed-point iteration on the forward map (independent of the inverse code).
          const w = voxelToWorld(labels, [i, j, k]);
          let s = [...w];
          for (let it = 0; it < 200; it++) {
            const f = rot([0, 1, 2].map((a) => scale[a] * (s[a] - c[a])));
            const tw = [0, 1, 2].map((a) => f[a] + c[a] + t[a]);
            s = s.map((v, a) => v + 0.5 * (w[a] - tw[a]));
          }
          const idx = worldToVoxel(labels, s);
          const r = idx.map((v) => Math.floor(v + 0.5));
          const inside = idx.every((v, a) => v >= -0.5 && v <= shape[a] - 0.5);
          // Skip voxels whose source lies on a rounding boundary.
          if (idx.some((v) => Math.abs(v - Math.round(v)) > 0.49)) continue;
          const clamp = r.map((v, a) => Math.min(shape[a] - 1, Math.max(0, v)));
          const expected = inside ? clamp[0] + 9 * (clamp[1] + 8 * clamp[2]) : 0;
          expect(out.labels.data[i + 9 * (j + 8 * k)], `voxel ${i},${j},${k}`).toBe(expected);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(n * 0.9);
  });
});
