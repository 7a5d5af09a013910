import { describe, expect, it } from 'vitest';
import { compose } from '../../augment/compose.ts';
import { oneOf } from '../../augment/one-of.ts';
import { CropOrPad } from '../../augment/spatial/crop-pad.ts';
import { parsePipeline } from '../../augment/pipeline.ts';
import { PRESETS, presetPipeline } from '../../augment/presets.ts';
import { RandomAffine } from '../../augment/spatial/affine.ts';
import { RandomBlur } from '../../augment/intensity/blur.ts';
import { RandomGamma } from '../../augment/intensity/gamma.ts';
import { createRng } from '../../volumes/random.ts';
import { createSubject } from '../../augment/subject.ts';
import { bytesOf, labelSet, phantom, phantomSubject } from './subjects.ts';

function messageOf(f: () => unknown): { message: string; param: string; code: string } {
  try {
    f();
  } catch (e) {
    return e as { message: string; param: string; code: string };
  }
  throw new Error('expected an error');
}

describe('JSON pipelines', () => {
  const subject = phantomSubject(5);

  it('build the same transforms as the constructors (identical bytes for the same seed)', () => {
    const json = JSON.stringify({
      name: 'mine',
      transforms: [
        { type: 'RandomAffine', rotationDeg: [-20, 20], p: 0.9 },
        { type: 'OneOf', transforms: [{ type: 'RandomBlur' }, { type: 'RandomGamma' }], weights: [1, 3] },
        { type: 'Compose', transforms: [{ type: 'CropOrPad', shape: [30, 30, 20] }] },
      ],
    });
    const fromJson = parsePipeline(json);
    const direct = parsePipeline([
      { type: 'RandomAffine', rotationDeg: [-20, 20], p: 0.9 },
      { type: 'OneOf', transforms: [{ type: 'RandomBlur' }, { type: 'RandomGamma' }], weights: [1, 3] },
      { type: 'CropOrPad', shape: [30, 30, 20] },
    ]);
    for (const seed of [1, 2, 3]) {
      const a = fromJson.apply(subject, createRng(seed));
      const b = direct.apply(subject, createRng(seed));
      expect(a.t1.shape).toEqual([30, 30, 20]);
      for (const key of Object.keys(subject)) expect(bytesOf(a[key]).equals(bytesOf(b[key]))).toBe(true);
    }
    // A hand-built composition of the same constructors draws the same.
    const byHand = compose([
      RandomAffine({ rotationDeg: [-20, 20], p: 0.9 }),
      oneOf([RandomBlur(), RandomGamma()], [1, 3]),
      CropOrPad({ shape: [30, 30, 20] }),
    ]);
    for (const seed of [4, 5]) {
      expect(bytesOf(byHand.apply(subject, createRng(seed)).t1).equals(bytesOf(fromJson.apply(subject, createRng(seed)).t1))).toBe(true);
    }
  });

  it('name the offending key of a bad pipeline', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [[{ type: 'RandomFlip' }, { type: 'RandomGamma' }, { type: 'RandomAffine', rotationDeg: 'x' }], 'pipeline[2].rotationDeg', /expected \[min, max\] numbers/],
      [[{ type: 'RandomAffine', rotationDeg: [10, -10] }], 'pipeline[0].rotationDeg', /min <= max/],
      [[{ type: 'RandomRotate' }], 'pipeline[0].type', /unknown transform "RandomRotate"/],
      [[{ rotationDeg: [1, 2] }], 'pipeline[0].type', /unknown transform/],
      [[{ type: 'RandomGamma', gamma: [1, 2] }], 'pipeline[0].gamma', /unknown option/],
      [[{ type: 'RandomGamma', p: 2 }], 'pipeline[0].p', /expected a number >= 0 <= 1/],
      [[{ type: 'RandomGamma' }, { type: 'OneOf', transforms: [{ type: 'RandomBlur', sigmaMm: [2] }] }], 'pipeline[1].transforms[0].sigmaMm', /\[min, max\]/],
      [[{ type: 'OneOf', transforms: [{ type: 'RandomBlur' }], weights: [1, 2] }], 'pipeline[0].weights', /expected 1 finite numbers/],
      [[{ type: 'OneOf', transforms: [] }], 'pipeline[0].transforms', /at least one/],
      [[{ type: 'Compose', transforms: 3 }], 'pipeline[0].transforms', /expected an array/],
      [[3], 'pipeline[0]', /expected an object/],
      [{ transforms: [], extra: 1 }, 'pipeline.extra', /unknown option/],
      [{ name: 'x' }, 'pipeline.transforms', /expected an array/],
      ['{ not json', 'pipeline', /not valid JSON/],
      [[{ type: 'RandomElastic', controlPoints: 2 }], 'pipeline[0].controlPoints', />= 4/],
      [[{ type: 'Affine', rotationDeg: [1, 2] }], 'pipeline[0].rotationDeg', /3 numbers/],
      [[{ type: 'RandomBiasField', include: 't1' }], 'pipeline[0].include', /array of distinct volume names/],
    ];
    for (const [json, param, message] of cases) {
      const e = messageOf(() => parsePipeline(json));
      expect(e.code, param).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
      expect(e.param).toBe(param);
      expect(e.message.startsWith(`${param}: `), e.message).toBe(true);
      expect(e.message).toMatch(message);
    }
  });
});

describe('presets', () => {
  it('are plain JSON, parse, and keep labels within the input label set', () => {
    for (const name of ['mr', 'ct'] as const) {
      const viaJson = parsePipeline(JSON.parse(JSON.stringify(PRESETS[name])));
      const direct = presetPipeline(name);
      const subject = phantomSubject(6);
      const allowed = labelSet(subject.labels);
      for (const seed of [1, 2, 3, 4]) {
        const a = direct.apply(subject, createRng(seed));
        const b = viaJson.apply(subject, createRng(seed));
        for (const key of Object.keys(subject)) expect(bytesOf(a[key]).equals(bytesOf(b[key]))).toBe(true);
        for (const v of labelSet(a.labels)) expect(allowed.has(v)).toBe(true);
        for (let i = 0; i < a.t1.data.length; i++) if (!Number.isFinite(a.t1.data[i])) throw new Error(`${name} seed ${seed}: non-finite voxel ${i}`);
      }
    }
    expect(messageOf(() => presetPipeline('pet' as never)).code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
  });

  it('speed log (not asserted): MR preset subjects per second at 64³ (image + label)', () => {
    const p = phantom(7, [64, 64, 64]);
    const subject = createSubject({ t1: p.t1, labels: p.labels });
    const mr = presetPipeline('mr');
    const rng = createRng(1);
    mr.apply(subject, rng);
    const n = 3;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) mr.apply(subject, rng);
    const perSecond = (n * 1000) / (performance.now() - t0);
    const cpu = process.cpuUsage(c0);
    const perCpuSecond = (n * 1e6) / (cpu.user + cpu.system);
    // CPU time is less disturbed than wall time when other processes share the cores.
    console.log(`augment: MR preset at 64³ (t1 + labels): ${perSecond.toFixed(2)} subjects/s wall, ${perCpuSecond.toFixed(2)} per CPU second (${n} subjects, one thread)`);
    expect(perSecond).toBeGreaterThan(0);
  });
});
