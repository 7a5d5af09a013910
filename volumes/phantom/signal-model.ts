/**
 * Spin-echo signal model: S = PD · (1 − e^(−TR/T1)) · e^(−TE/T2) (magnitude, no flip-angle or
 * stimulated-echo terms). Signals are scaled by SIGNAL_SCALE into arbitrary MR units.
 */
import type { FieldStrength, Relaxation } from './tissues.ts';

export interface SpinEchoSequence {
  /** Repetition time, ms. */
  trMs: number;
  /** Echo time, ms. */
  teMs: number;
}

export type Weighting = 't1' | 't2';

/** Typical clinical spin-echo timings per weighting and field strength. */
export const DEFAULT_SEQUENCES: Record<FieldStrength, Record<Weighting, SpinEchoSequence>> = {
  '1.5T': { t1: { trMs: 500, teMs: 12 }, t2: { trMs: 4000, teMs: 100 } },
  '3T': { t1: { trMs: 600, teMs: 10 }, t2: { trMs: 5000, teMs: 100 } },
};

export const SIGNAL_SCALE = 1000;

export function spinEchoSignal(r: Relaxation, seq: SpinEchoSequence): number {
  if (r.pd <= 0) return 0;
  return SIGNAL_SCALE * r.pd * (1 - Math.exp(-seq.trMs / r.t1)) * Math.exp(-seq.teMs / r.t2);
}
