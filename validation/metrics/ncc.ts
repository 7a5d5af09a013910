/**
 * Normalised cross-correlation (Pearson's r) of prediction and reference inside a mask:
 * Σ(p − p̄)(r − r̄) / √(Σ(p − p̄)² · Σ(r − r̄)²). NaN when either image is constant in the mask.
 */
import type { Volume } from '../../volumes/volume.ts';
import { resolveMask } from './resolve-mask.ts';
import type { MaskOption } from './resolve-mask.ts';

export function ncc(pred: Volume, ref: Volume, options: { mask?: MaskOption } = {}): number {
  const m = resolveMask(pred, ref, options.mask);
  const p = pred.data;
  const r = ref.data;
  let sp = 0;
  let sr = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    if (m !== null && m[i] === 0) continue;
    sp += p[i];
    sr += r[i];
    n++;
  }
  const mp = sp / n;
  const mr = sr / n;
  let cov = 0;
  let vp = 0;
  let vr = 0;
  for (let i = 0; i < p.length; i++) {
    if (m !== null && m[i] === 0) continue;
    const a = p[i] - mp;
    const b = r[i] - mr;
    cov += a * b;
    vp += a * a;
    vr += b * b;
  }
  return vp > 0 && vr > 0 ? cov / Math.sqrt(vp * vr) : NaN;
}
