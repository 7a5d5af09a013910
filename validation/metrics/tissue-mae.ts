/**
 * MAE and mean error per tissue class of a label map (same grid as the images), e.g. air, fat,
 * soft tissue and bone of the reference CT. Every label value present (0 included unless
 * `ignore` lists it) gets a row, in ascending label order; `mask` further restricts the voxels.
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import type { Volume } from '../../volumes/volume.ts';
import { checkFinite, checkPair, checkSameGrid } from './check-inputs.ts';

export interface TissueError {
  label: number;
  name?: string;
  count: number;
  mae: number;
  meanError: number;
}

export interface TissueMaeOptions {
  mask?: Volume;
  names?: Readonly<Record<number, string>>;
  ignore?: readonly number[];
}

export function tissueMae(pred: Volume, ref: Volume, labels: Volume, options: TissueMaeOptions = {}): TissueError[] {
  checkPair(pred, ref, options.mask);
  checkSameGrid({ vol: ref, name: 'ref' }, { vol: labels, name: 'labels' });
  checkFinite({ vol: labels, name: 'labels' });
  const l = labels.data;
  for (let p = 0; p < l.length; p++) {
    if (!Number.isInteger(l[p])) {
      throw new VoxshiftError('INVALID_ARGUMENT', `labels must hold integers, found ${l[p]} at index ${p}`, { param: 'labels' });
    }
  }
  const ignore = new Set(options.ignore ?? []);
  const m = options.mask?.data;
  const acc = new Map<number, { n: number; abs: number; sum: number }>();
  const pd = pred.data;
  const rd = ref.data;
  for (let p = 0; p < l.length; p++) {
    if (m && m[p] === 0) continue;
    const label = l[p];
    if (ignore.has(label)) continue;
    let a = acc.get(label);
    if (!a) {
      a = { n: 0, abs: 0, sum: 0 };
      acc.set(label, a);
    }
    const d = pd[p] - rd[p];
    a.n++;
    a.abs += Math.abs(d);
    a.sum += d;
  }
  return [...acc.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([label, a]) => ({
      label,
      ...(options.names?.[label] !== undefined ? { name: options.names[label] } : {}),
      count: a.n,
      mae: a.abs / a.n,
      meanError: a.sum / a.n,
    }));
}
