/**
 * Exact typed-array comparison in one loop. vitest's toEqual walks typed arrays key by key and takes
 * seconds on a million voxels; this reports the first differing index instead.
 */
import { expect } from 'vitest';

type NumericArray = ArrayLike<number> & { constructor: { name: string } };

export function expectSameArray(actual: NumericArray, expected: NumericArray, { sameType = true } = {}): void {
  if (sameType) expect(actual.constructor.name).toBe(expected.constructor.name);
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) {
      expect.fail(`arrays differ at index ${i} of ${actual.length}: ${a} vs ${b}`);
    }
  }
}
