/**
 * Learning-rate schedule of the reference CycleGAN/pix2pix ('linear' policy), counted in steps
 * instead of epochs: the initial rate for `constantSteps`, then a straight line down to 0 over
 * `decaySteps`.
 */
import { VoxshiftError } from '../../volumes/errors.ts';

export interface LinearDecaySchedule {
  initial: number;
  constantSteps: number;
  decaySteps: number;
}

function bad(param: string, message: string, received: unknown): VoxshiftError {
  return new VoxshiftError('INVALID_ARGUMENT', `${param} ${message}, got ${JSON.stringify(received)}`, { param, details: { received } });
}

/**
 * The rate at 0-based `step`: `initial` for step < C (C = constantSteps), then
 * initial · (1 − (step − C)/D) (D = decaySteps), reaching 0 at step C + D and staying 0 after.
 * So the last step of a C + D step run trains at initial/D, as the reference's last epoch trains
 * at a small positive rate.
 */
export function learningRateAt(step: number, schedule: LinearDecaySchedule): number {
  if (schedule === null || typeof schedule !== 'object') throw bad('schedule', 'must be { initial, constantSteps, decaySteps }', schedule);
  const { initial, constantSteps, decaySteps } = schedule;
  if (typeof initial !== 'number' || !Number.isFinite(initial) || !(initial > 0)) throw bad('schedule.initial', 'must be a finite number > 0', initial);
  if (!Number.isInteger(constantSteps) || constantSteps < 0) throw bad('schedule.constantSteps', 'must be an integer >= 0', constantSteps);
  if (!Number.isInteger(decaySteps) || decaySteps < 0) throw bad('schedule.decaySteps', 'must be an integer >= 0', decaySteps);
  if (!Number.isInteger(step) || step < 0) throw bad('step', 'must be an integer >= 0', step);
  if (step < constantSteps) return initial;
  const done = step - constantSteps;
  if (done >= decaySteps) return 0;
  return initial * (1 - done / decaySteps);
}
