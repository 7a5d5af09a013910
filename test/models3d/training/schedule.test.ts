/** The linear learning-rate policy of the reference CycleGAN, in steps. */
import { describe, expect, it } from 'vitest';
import { learningRateAt } from '../../../models3d/training/schedule.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';

const S = { initial: 2e-4, constantSteps: 100, decaySteps: 100 };

describe('learningRateAt', () => {
  it('is constant, then falls linearly to 0 and stays there', () => {
    expect(learningRateAt(0, S)).toBe(2e-4);
    expect(learningRateAt(99, S)).toBe(2e-4);
    expect(learningRateAt(100, S)).toBe(2e-4);
    expect(learningRateAt(101, S)).toBeCloseTo(2e-4 * 0.99, 15);
    expect(learningRateAt(150, S)).toBeCloseTo(1e-4, 15);
    expect(learningRateAt(199, S)).toBeCloseTo(2e-6, 15);
    expect(learningRateAt(200, S)).toBe(0);
    expect(learningRateAt(10_000, S)).toBe(0);
    let prev = Infinity;
    for (let s = 0; s <= 210; s++) {
      const lr = learningRateAt(s, S);
      expect(lr).toBeLessThanOrEqual(prev);
      expect(lr).toBeGreaterThanOrEqual(0);
      prev = lr;
    }
  });

  it('handles no constant phase and no decay phase', () => {
    expect(learningRateAt(0, { initial: 1, constantSteps: 0, decaySteps: 4 })).toBe(1);
    expect(learningRateAt(3, { initial: 1, constantSteps: 0, decaySteps: 4 })).toBe(0.25);
    expect(learningRateAt(4, { initial: 1, constantSteps: 4, decaySteps: 0 })).toBe(0);
    expect(learningRateAt(3, { initial: 1, constantSteps: 4, decaySteps: 0 })).toBe(1);
  });

  it('refuses bad steps and schedules naming the parameter', () => {
    const cases: [number, typeof S, string][] = [
      [-1, S, 'step'],
      [1.5, S, 'step'],
      [Number.NaN, S, 'step'],
      [0, { ...S, initial: 0 }, 'schedule.initial'],
      [0, { ...S, initial: Infinity }, 'schedule.initial'],
      [0, { ...S, constantSteps: -3 }, 'schedule.constantSteps'],
      [0, { ...S, decaySteps: 2.5 }, 'schedule.decaySteps'],
    ];
    for (const [step, schedule, param] of cases) {
      try {
        learningRateAt(step, schedule);
        expect.unreachable(`step ${step} with ${JSON.stringify(schedule)} should throw`);
      } catch (e) {
        expect(e).toBeInstanceOf(VoxshiftError);
        expect((e as VoxshiftError).param).toBe(param);
      }
    }
  });
});
