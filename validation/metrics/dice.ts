/**
 * Dice overlap 2|A∩B| / (|A| + |B|) of two masks or of one label in two label maps (same grid).
 * Convention: two empty masks agree perfectly, Dice = 1 (as MONAI's ignore_empty=False and
 * medpy would divide by zero); one empty and one not gives 0.
 */
import type { Volume } from '../../volumes/volume.ts';
import { checkFinite, checkSameGrid } from './check-inputs.ts';

export interface DiceOptions {
  /** Compare voxels equal to this label; default: every non-zero voxel is foreground. */
  label?: number;
}

function checkMasks(a: Volume, b: Volume): void {
  checkSameGrid({ vol: b, name: 'ref' }, { vol: a, name: 'pred' });
  checkFinite({ vol: a, name: 'pred' });
  checkFinite({ vol: b, name: 'ref' });
}

function diceOf(a: Volume, b: Volume, label: number | undefined): number {
  const x = a.data;
  const y = b.data;
  let na = 0;
  let nb = 0;
  let both = 0;
  for (let p = 0; p < x.length; p++) {
    const ia = label === undefined ? x[p] !== 0 : x[p] === label;
    const ib = label === undefined ? y[p] !== 0 : y[p] === label;
    if (ia) na++;
    if (ib) nb++;
    if (ia && ib) both++;
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb);
}

export function dice(pred: Volume, ref: Volume, options: DiceOptions = {}): number {
  checkMasks(pred, ref);
  return diceOf(pred, ref, options.label);
}

/** Dice for each label (default: every non-zero label present in either map), ascending; one pass. */
export function dicePerLabel(pred: Volume, ref: Volume, labels?: readonly number[]): Map<number, number> {
  checkMasks(pred, ref);
  const counts = new Map<number, [number, number, number]>();
  const get = (l: number): [number, number, number] => {
    let c = counts.get(l);
    if (!c) {
      c = [0, 0, 0];
      counts.set(l, c);
    }
    return c;
  };
  const x = pred.data;
  const y = ref.data;
  for (let p = 0; p < x.length; p++) {
    const a = x[p];
    const b = y[p];
    if (a !== 0) get(a)[0]++;
    if (b !== 0) get(b)[1]++;
    if (a === b && a !== 0) get(a)[2]++;
  }
  const list = labels ?? [...counts.keys()].sort((u, v) => u - v);
  return new Map(
    list.map((l) => {
      if (l === 0) return [l, diceOf(pred, ref, 0)];
      const [na, nb, both] = counts.get(l) ?? [0, 0, 0];
      return [l, na + nb === 0 ? 1 : (2 * both) / (na + nb)];
    }),
  );
}
