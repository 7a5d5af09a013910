/**
 * The Wasserstein-1 (earth mover's) distance between two empirical distributions,
 * W1 = ∫₀¹ |F⁻¹(q) − G⁻¹(q)| dq, computed exactly from the sorted samples by merging their quantile
 * steps (each value of a sample of size n carries mass 1/n) — scipy.stats.wasserstein_distance.
 */
import { VoxshiftError } from '../../volumes/errors.ts';

/** W1 of two ascending samples. */
export function wasserstein1(a: Float64Array | Float32Array, b: Float64Array | Float32Array): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) throw new VoxshiftError('INVALID_ARGUMENT', `wasserstein1 needs two non-empty samples, got sizes ${na} and ${nb}`, { param: 'samples' });
  let i = 0;
  let j = 0;
  let q = 0;
  let sum = 0;
  while (i < na && j < nb) {
    const qa = (i + 1) / na;
    const qb = (j + 1) / nb;
    const next = Math.min(qa, qb);
    sum += (next - q) * Math.abs(a[i] - b[j]);
    q = next;
    if (qa <= next) i++;
    if (qb <= next) j++;
  }
  return sum;
}

/** Pairwise W1 between named ascending samples, keyed "a|b" for a before b in `names` order. */
export function pairwiseWasserstein(samples: ReadonlyMap<string, Float64Array>): Record<string, number> {
  const names = [...samples.keys()];
  const out: Record<string, number> = {};
  for (let x = 0; x < names.length; x++) {
    for (let y = x + 1; y < names.length; y++) {
      out[`${names[x]}|${names[y]}`] = wasserstein1(samples.get(names[x]) as Float64Array, samples.get(names[y]) as Float64Array);
    }
  }
  return out;
}
