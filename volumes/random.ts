/**
 * A tiny seeded random number generator (mulberry32) for everything random in voxshift:
 * augmentation, patch sampling, tests. Never use Math.random — every random draw must be
 * reproducible from a recorded seed.
 */
import { VoxshiftError } from './errors.ts';

/** Uniform draws in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: 32-bit state, period 2^32, passes the usual small-crush style checks and is fast.
 * The seed is reduced to a uint32 (non-integers are truncated), so seeds 1 and 2^32 + 1 coincide.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `seed must be a finite number, got ${seed}`, { param: 'seed' });
  }
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller; two uniforms per call, the spare is not cached so calls stay independent of history). */
export function normal(rng: Rng, mean = 0, std = 1): number {
  // 1 - u is in (0, 1], so the logarithm is finite.
  const u = 1 - rng();
  const v = rng();
  return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A uniform draw in [low, high). */
export function uniform(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng();
}

/** A uniform integer in [low, high] (both inclusive). */
export function randomInt(rng: Rng, low: number, high: number): number {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high < low) {
    throw new VoxshiftError('INVALID_ARGUMENT', `randomInt needs integers low <= high, got ${low}, ${high}`, { param: 'range' });
  }
  return low + Math.min(high - low, Math.floor(rng() * (high - low + 1)));
}

/** Derives an independent child seed (for handing a seed to a sub-task) from a generator. */
export function nextSeed(rng: Rng): number {
  return Math.floor(rng() * 4294967296) >>> 0;
}
