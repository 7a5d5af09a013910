/**
 * Property tests of issue 7 over seeded random small subjects (head phantoms 32×32×24, some on a
 * tilted grid): spatial transforms never create label values and keep images aligned with labels;
 * same seed → identical bytes; inverse(apply(x)) ≈ x; intensity transforms leave labels bit-identical.
 */
import { describe, expect, it } from 'vitest';
import { compose } from '../../augment/compose.ts';
import { oneOf } from '../../augment/one-of.ts';
import { presetPipeline } from '../../augment/presets.ts';
import { RANDOM_TRANSFORMS } from '../../augment/registry.ts';
import { createSubject } from '../../augment/subject.ts';
import type { Subject } from '../../augment/subject.ts';
import type { Transform } from '../../augment/transform.ts';
import { Affine, RandomAffine } from '../../augment/spatial/affine.ts';
import { RandomAnisotropy } from '../../augment/spatial/anisotropy.ts';
import { Crop, Pad } from '../../augment/spatial/crop-pad.ts';
import { RandomElastic } from '../../augment/spatial/elastic.ts';
import { Flip, RandomFlip } from '../../augment/spatial/flip.ts';
import { RandomPatch } from '../../augment/spatial/random-patch.ts';
import type { LabelInterpolation } from '../../augment/spatial/warp.ts';
import { RandomBiasField } from '../../augment/intensity/bias-field.ts';
import { RandomBrightnessContrast } from '../../augment/intensity/brightness-contrast.ts';
import { RandomGamma } from '../../augment/intensity/gamma.ts';
import { RandomBlur } from '../../augment/intensity/blur.ts';
import { RandomGhosting } from '../../augment/intensity/ghosting.ts';
import { RandomMotion } from '../../augment/intensity/motion.ts';
import { RandomNoise } from '../../augment/intensity/noise.ts';
import { RandomRicianNoise } from '../../augment/intensity/rician-noise.ts';
import { RandomSpike } from '../../augment/intensity/spike.ts';
import { sameGeometry } from '../../volumes/affine.ts';
import { createRng } from '../../volumes/random.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import { blobVolume, bytesOf, label100Subject, labelSet, phantomSubject } from './subjects.ts';

const SEEDS = [1, 2, 3, 4];

type Interp = { image: 'linear' | 'nearest'; label: LabelInterpolation };

/** Spatial transforms with wide random ranges (the properties must hold for any parameters). */
function spatialCases(i: Interp): Array<[string, Transform]> {
  const interp = { imageInterpolation: i.image, labelInterpolation: i.label };
  const affine = RandomAffine({ rotationDeg: [-40, 40], scale: [0.7, 1.4], isotropic: false, shear: [-0.2, 0.2], translationMm: [-8, 8], ...interp });
  const elastic = RandomElastic({ controlPoints: [5, 6, 4], maxDisplacementMm: 8, ...interp });
  const flip = RandomFlip({ axes: [0, 1, 2] });
  return [
    ['RandomFlip', flip],
    ['RandomAffine', affine],
    ['RandomElastic', elastic],
    ['RandomPatch', RandomPatch({ patchSize: [16, 20, 12], labelKey: 'labels', foregroundProb: 0.7 })],
    ['Pad', Pad({ before: [2, 0, 3], after: [0, 4, 1] })],
    ['Crop', Crop({ before: [1, 5, 0], after: [3, 0, 2] })],
    ['compose(affine, elastic, flip)', compose([affine, elastic, flip])],
    ['oneOf(affine, elastic)', oneOf([affine, elastic], [1, 2], 0.9)],
  ];
}

const INTERPS: Interp[] = [
  { image: 'linear', label: 'label' },
  { image: 'nearest', label: 'nearest' },
];

function subjectsFor(seed: number): Subject {
  return phantomSubject(seed, undefined, seed % 2 === 0);
}

describe('spatial transforms never create label values', () => {
  for (const interp of INTERPS) {
    it(`labels ⊆ input labels ∪ {0} (images ${interp.image}, labels ${interp.label})`, () => {
      for (const seed of SEEDS) {
        const subject = subjectsFor(seed);
        const allowed = labelSet(subject.labels);
        allowed.add(0);
        const cases = [...spatialCases(interp), ['RandomAnisotropy', RandomAnisotropy({ factor: [2, 4] })] as [string, Transform]];
        cases.forEach(([name, t], c) => {
          const out = t.apply(subject, createRng(seed * 100 + c));
          for (const v of labelSet(out.labels)) expect(allowed.has(v), `${name} seed ${seed} created label ${v}`).toBe(true);
          expect(out.labels.data).toBeInstanceOf(Uint8Array);
          // Every volume still shares one grid.
          expect(() => createSubject({ ...out }), name).not.toThrow();
        });
      }
    });
  }
});

describe('alignment: image = label × 100 stays so after any spatial transform', () => {
  it('exactly, at every voxel, with nearest interpolation for both', () => {
    for (const seed of SEEDS) {
      const subject = label100Subject(seed, seed % 2 === 1);
      spatialCases({ image: 'nearest', label: 'nearest' }).forEach(([name, t], c) => {
        const out = t.apply(subject, createRng(seed * 31 + c));
        const img = out.image.data;
        const lab = out.labels.data;
        expect(img.length).toBe(lab.length);
        let bad = 0;
        for (let i = 0; i < lab.length; i++) if (img[i] !== lab[i] * 100) bad++;
        expect(bad, `${name} seed ${seed}`).toBe(0);
        expect(sameGeometry(out.image, out.labels)).toBe(true);
      });
    }
  });

  it('with linear images and one-hot labels: the label is the rounded image wherever the image is unambiguous', () => {
    for (const seed of SEEDS.slice(0, 2)) {
      const subject = label100Subject(seed);
      spatialCases({ image: 'linear', label: 'label' }).forEach(([name, t], c) => {
        const out = t.apply(subject, createRng(seed * 17 + c));
        const img = out.image.data;
        const lab = out.labels.data;
        let agree = 0;
        let plain = 0;
        for (let i = 0; i < lab.length; i++) {
          // An image value that is a whole multiple of 100 came from one label only (or a coincidence of weights).
          if (Math.abs(img[i] / 100 - Math.round(img[i] / 100)) < 1e-4) {
            plain++;
            if (Math.round(img[i] / 100) === lab[i]) agree++;
          }
        }
        expect(plain, name).toBeGreaterThan(lab.length * 0.3);
        expect(agree / plain, `${name} seed ${seed}`).toBeGreaterThan(0.995);
      });
    }
  });
});

function randomTransformsForDeterminism(): Array<[string, Transform]> {
  return Object.entries(RANDOM_TRANSFORMS).map(([name, f]) => {
    const options =
      name === 'RandomPatch'
        ? { patchSize: [16, 16, 16], labelKey: 'labels' }
        : name === 'RandomFlip'
          ? { axes: [0, 2] }
          : name === 'RandomRicianNoise'
            ? { include: ['t1'] }
            : {};
    return [name, (f as (o: unknown, w: string) => Transform)(options, name)];
  });
}

describe('same seed → identical bytes', () => {
  it('for every random transform and both presets (data and history)', () => {
    const subject = subjectsFor(1);
    const cases = [...randomTransformsForDeterminism(), ['preset mr', presetPipeline('mr')], ['preset ct', presetPipeline('ct')]] as Array<
      [string, Transform]
    >;
    for (const [name, t] of cases) {
      const a = t.apply(subject, createRng(42));
      const b = t.apply(subject, createRng(42));
      for (const key of Object.keys(subject)) {
        expect(bytesOf(a[key]).equals(bytesOf(b[key])), `${name} ${key}`).toBe(true);
        expect(JSON.stringify(a[key].history)).toBe(JSON.stringify(b[key].history));
      }
      // Other seeds draw other parameters (a flip of 2 axes has only 4 outcomes: try a few seeds).
      const history = (s: Subject): string => JSON.stringify(Object.values(s).map((v) => v.history));
      const differs = [43, 44, 45, 46].some((seed) => history(t.apply(subject, createRng(seed))) !== history(a));
      if (!name.startsWith('preset')) expect(differs, `${name}: another seed changes something`).toBe(true);
    }
  });
});

describe('sample then apply = apply', () => {
  it('the twin drawn by sample() reproduces apply() with the same seed, for both presets', () => {
    const subject = subjectsFor(3);
    for (const name of ['mr', 'ct'] as const) {
      const p = presetPipeline(name);
      for (const seed of [1, 2, 3]) {
        const twin = p.sample(subject, createRng(seed));
        const a = twin.apply(subject);
        const b = p.apply(subject, createRng(seed));
        for (const key of Object.keys(subject)) expect(bytesOf(a[key]).equals(bytesOf(b[key])), `${name} ${seed} ${key}`).toBe(true);
        expect(JSON.parse(JSON.stringify(twin.params))).toEqual(twin.params);
      }
    }
  });
});

describe('inverse(apply(x)) ≈ x', () => {
  it('Flip: exactly, for every axis combination', () => {
    const subject = subjectsFor(2);
    for (const axes of [[0], [1], [2], [0, 1], [0, 1, 2]]) {
      const f = Flip({ axes });
      const flipped = f.apply(subject);
      expect(bytesOf(flipped.labels).equals(bytesOf(subject.labels))).toBe(false);
      const back = f.inverse().apply(flipped);
      for (const key of Object.keys(subject)) expect(bytesOf(back[key]).equals(bytesOf(subject[key])), `${axes} ${key}`).toBe(true);
    }
  });

  it('Affine: within interpolation tolerance in the interior (smooth image, labels, random parameters)', () => {
    for (const seed of SEEDS) {
      const base = subjectsFor(seed);
      const subject = createSubject({ blob: blobVolume(base.labels), labels: base.labels });
      const twin = RandomAffine({ rotationDeg: [-12, 12], scale: [0.9, 1.1], isotropic: false, shear: [-0.05, 0.05], translationMm: [-3, 3] }).sample(
        subject,
        createRng(seed),
      );
      expect(twin.name).toBe('Affine');
      expect(twin.invertible).toBe(true);
      const back = twin.inverse().apply(twin.apply(subject));
      const [nx, ny, nz] = subject.labels.shape;
      let maxErr = 0;
      let agree = 0;
      let count = 0;
      for (let k = Math.floor(nz / 4); k < (3 * nz) / 4; k++) {
        for (let j = Math.floor(ny / 4); j < (3 * ny) / 4; j++) {
          for (let i = Math.floor(nx / 4); i < (3 * nx) / 4; i++) {
            const p = i + nx * (j + ny * k);
            maxErr = Math.max(maxErr, Math.abs(back.blob.data[p] - subject.blob.data[p]));
            if (back.labels.data[p] === subject.labels.data[p]) agree++;
            count++;
          }
        }
      }
      // Two trilinear resamplings of a blob peaking at 1000: small error in the interior.
      expect(maxErr, `seed ${seed}`).toBeLessThan(40);
      expect(agree / count, `seed ${seed}`).toBeGreaterThan(0.85);
    }
  });

  it('Affine: a whole-voxel translation and its inverse are exact away from the border', () => {
    const subject = subjectsFor(1);
    const sp = subject.labels.spacing;
    const t = Affine({ translationMm: [2 * sp[0], -sp[1], 0] });
    const moved = t.apply(subject);
    const [nx, ny] = subject.labels.shape;
    // Content moved by +2 voxels along i and −1 along j (identity direction).
    expect(moved.labels.data[10 + nx * (10 + ny * 12)]).toBe(subject.labels.data[8 + nx * (11 + ny * 12)]);
    expect(moved.t1.data[10 + nx * (10 + ny * 12)]).toBeCloseTo(subject.t1.data[8 + nx * (11 + ny * 12)], 3);
    const back = t.inverse().apply(moved);
    for (let k = 0; k < 24; k++) {
      for (let j = 2; j < ny - 2; j++) {
        for (let i = 3; i < nx - 3; i++) {
          const p = i + nx * (j + ny * k);
          expect(back.labels.data[p]).toBe(subject.labels.data[p]);
        }
      }
    }
  });

  it('Pad then its inverse (Crop) is exact; Crop then Pad restores the kept box', () => {
    const subject = subjectsFor(3);
    const pad = Pad({ before: [1, 2, 3], after: [3, 0, 1] });
    const padded = pad.apply(subject);
    expect(padded.t1.shape).toEqual([36, 34, 28]);
    const back = pad.inverse().apply(padded);
    for (const key of Object.keys(subject)) {
      expect(bytesOf(back[key]).equals(bytesOf(subject[key]))).toBe(true);
      expect(sameGeometry(back[key], subject[key], 1e-9)).toBe(true);
    }
    const crop = Crop({ before: [2, 1, 0], after: [0, 3, 4] });
    const restored = crop.inverse().apply(crop.apply(subject));
    expect(sameGeometry(restored.labels, subject.labels, 1e-9)).toBe(true);
    const [nx, ny, nz] = subject.labels.shape;
    for (let k = 0; k < nz - 4; k++) {
      for (let j = 1; j < ny - 3; j++) {
        for (let i = 2; i < nx; i++) {
          const p = i + nx * (j + ny * k);
          expect(restored.labels.data[p]).toBe(subject.labels.data[p]);
        }
      }
    }
    expect(restored.labels.data[0]).toBe(0);
  });

  it('Gamma, BiasField, BrightnessContrast and their compositions: within float32 rounding', () => {
    const subject = subjectsFor(4);
    const rng = createRng(9);
    const twins = [
      RandomGamma().sample(subject, rng),
      RandomBiasField().sample(subject, rng),
      RandomBrightnessContrast().sample(subject, rng),
    ];
    twins.push(compose(twins).sample(subject, rng));
    for (const t of twins) {
      expect(t.invertible, t.name).toBe(true);
      const back = t.inverse().apply(t.apply(subject));
      for (const key of ['t1', 'ct']) {
        const a = subject[key].data;
        const b = back[key].data;
        let range = 0;
        for (let i = 0; i < a.length; i++) range = Math.max(range, Math.abs(a[i]));
        for (let i = 0; i < a.length; i++) {
          if (Math.abs(a[i] - b[i]) > 1e-4 * range) throw new Error(`${t.name} ${key} voxel ${i}: ${a[i]} vs ${b[i]}`);
        }
      }
      expect(bytesOf(back.labels).equals(bytesOf(subject.labels))).toBe(true);
    }
    // Gamma(γ) ∘ Gamma(1/γ) is the identity family: the inverse is a Gamma.
    expect(twins[0].inverse().name).toBe('Gamma');
  });

  it('non-invertible twins say so', () => {
    const subject = subjectsFor(1);
    const twin = RandomElastic().sample(subject, createRng(1));
    expect(twin.invertible).toBe(false);
    expect(() => twin.inverse()).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT' }));
  });
});

describe('intensity transforms leave label maps bit-identical', () => {
  it('for every intensity transform, random parameters, several subjects', () => {
    const intensity: Array<[string, Transform]> = [
      ['RandomBiasField', RandomBiasField({ coefficients: 1 })],
      ['RandomGamma', RandomGamma({ logGamma: [-1, 1] })],
      ['RandomNoise', RandomNoise({ std: [0, 0.5], mean: [-0.1, 0.1] })],
      ['RandomRicianNoise', RandomRicianNoise({ std: [0, 0.5], include: ['t1'] })],
      ['RandomBlur', RandomBlur({ sigmaMm: [0, 4] })],
      ['RandomBrightnessContrast', RandomBrightnessContrast({ brightness: [0.5, 2], contrast: [0.5, 2] })],
      ['RandomMotion', RandomMotion()],
      ['RandomGhosting', RandomGhosting()],
      ['RandomSpike', RandomSpike({ numSpikes: [1, 3] })],
      ['RandomAnisotropy', RandomAnisotropy()],
    ];
    for (const seed of SEEDS.slice(0, 3)) {
      const subject = subjectsFor(seed);
      const labelBytes = Buffer.from(bytesOf(subject.labels));
      intensity.forEach(([name, t], c) => {
        const out = t.apply(subject, createRng(seed * 7 + c));
        expect(out.labels, name).toBe(subject.labels);
        expect(bytesOf(out.labels).equals(labelBytes), name).toBe(true);
        expect(bytesOf(out.t1).equals(bytesOf(subject.t1)), `${name} changed the image`).toBe(false);
        expect(sameGeometry(out.t1, subject.t1, 1e-9)).toBe(true);
        expect(out.t1.history.at(-1)?.op).toBe(name.replace(/^Random/, ''));
      });
    }
  });

  it('a label-only subject passes through untouched', () => {
    const labels = subjectsFor(1).labels;
    const subject = createSubject({ labels, second: deriveVolume(labels, { data: labels.data.slice() }) });
    const out = presetPipeline('mr').apply(subject, createRng(1));
    for (const key of Object.keys(out)) expect(out[key].history.every((h) => !['Gamma', 'Noise', 'BiasField'].includes(h.op))).toBe(true);
  });
});
