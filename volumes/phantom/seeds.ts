/**
 * Seed plumbing for the phantom: every random part (anatomy, textures, CT noise, each scanner effect)
 * draws from its own stream, derived from the user's seed and a fixed key, so changing one option
 * (say the MR noise) never moves the anatomy.
 */
import { VoxshiftError } from '../errors.ts';
import { createRng, type Rng } from '../random.ts';

/** Checks a user seed: any safe integer (negative ones included). */
export function checkSeed(seed: unknown, param = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be a safe integer, got ${String(seed)}`, { param });
  }
  return seed;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uint32 seed for stream `keys` of `seed` (murmur3-style mixing of the seed's two 32-bit halves and the keys). */
export function deriveSeed(seed: number, ...keys: (string | number)[]): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = fmix32(lo ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(hi + 0x7f4a7c15, 0x27d4eb2f));
  for (const key of keys) {
    const s = String(key);
    for (let i = 0; i < s.length; i++) h = fmix32(h ^ Math.imul(s.charCodeAt(i) + 1, 0x01000193));
    h = fmix32(h ^ 0x5bd1e995);
  }
  return h;
}

/** A generator for stream `keys` of `seed`. */
export function streamRng(seed: number, ...keys: (string | number)[]): Rng {
  return createRng(deriveSeed(seed, ...keys));
}

/** Fills `out` with standard normal draws (Box–Muller, both outputs used). */
export function fillNormal(rng: Rng, out: Float32Array | Float64Array): void {
  const n = out.length;
  let i = 0;
  while (i < n) {
    const u = 1 - rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * v;
    out[i++] = r * Math.cos(a);
    if (i < n) out[i++] = r * Math.sin(a);
  }
}

/** A normal draw clipped to ±`clip` standard deviations (keeps sampled anatomy plausible). */
export function clippedNormal(rng: Rng, clip = 2.5): number {
  const u = 1 - rng();
  const v = rng();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(-clip, Math.min(clip, z));
}
