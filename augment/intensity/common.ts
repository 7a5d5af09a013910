/** Small helpers shared by the intensity transforms. */
import { createRng } from '../../volumes/random.ts';
import type { Rng } from '../../volumes/random.ts';
import type { Volume } from '../../volumes/volume.ts';

/** A float32 copy of all channels. */
export function floatCopy(vol: Volume): Float32Array {
  return new Float32Array(vol.data);
}

export function meanStd(d: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    s += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = s / d.length;
  let q = 0;
  for (let i = 0; i < d.length; i++) q += (d[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / d.length), min, max };
}

/** A generator for one volume of a subject: independent per key, reproducible from the twin's seed. */
export function volumeRng(seed: number, key: string): Rng {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return createRng((seed ^ h) >>> 0);
}

/** Fills `out` with N(0, 1) draws (Box–Muller, both values of each pair used). */
export function gaussianFill(rng: Rng, out: Float32Array): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
}
