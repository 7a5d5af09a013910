import { describe, expect, it } from 'vitest';
import { fft, fft3d } from '../../augment/fft.ts';
import { createRng } from '../../volumes/random.ts';

function naiveDft(re: Float64Array, im: Float64Array, inverse = false): [Float64Array, Float64Array] {
  const n = re.length;
  const or = new Float64Array(n);
  const oi = new Float64Array(n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      or[k] += re[j] * Math.cos(a) - im[j] * Math.sin(a);
      oi[k] += re[j] * Math.sin(a) + im[j] * Math.cos(a);
    }
    if (inverse) {
      or[k] /= n;
      oi[k] /= n;
    }
  }
  return [or, oi];
}

function randomComplex(n: number, seed: number): [Float64Array, Float64Array] {
  const rng = createRng(seed);
  return [Float64Array.from({ length: n }, () => rng() - 0.5), Float64Array.from({ length: n }, () => rng() - 0.5)];
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('fft', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 17, 24, 31, 32, 60, 64, 100, 181]) {
    it(`matches a naive DFT for n = ${n} (forward and inverse)`, () => {
      const [re, im] = randomComplex(n, n);
      const [er, ei] = naiveDft(re, im);
      const r = re.slice();
      const i = im.slice();
      fft(r, i);
      expect(maxDiff(r, er)).toBeLessThan(1e-9 * n);
      expect(maxDiff(i, ei)).toBeLessThan(1e-9 * n);
      const [ir, ii] = naiveDft(re, im, true);
      const r2 = re.slice();
      const i2 = im.slice();
      fft(r2, i2, true);
      expect(maxDiff(r2, ir)).toBeLessThan(1e-10 * n);
      expect(maxDiff(i2, ii)).toBeLessThan(1e-10 * n);
      fft(r, i, true);
      expect(maxDiff(r, re)).toBeLessThan(1e-12 * n);
      expect(maxDiff(i, im)).toBeLessThan(1e-12 * n);
    });
  }

  it('a unit impulse at 1 gives the twiddles e^(−2πik/n)', () => {
    const re = new Float64Array(12);
    const im = new Float64Array(12);
    re[1] = 1;
    fft(re, im);
    for (let k = 0; k < 12; k++) {
      expect(re[k]).toBeCloseTo(Math.cos((2 * Math.PI * k) / 12), 12);
      expect(im[k]).toBeCloseTo(-Math.sin((2 * Math.PI * k) / 12), 12);
    }
  });

  it('refuses mismatched arrays', () => {
    expect(() => fft(new Float64Array(4), new Float64Array(3))).toThrow(expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT' }));
    expect(() => fft3d(new Float64Array(5), new Float64Array(5), [2, 2, 2])).toThrow(
      expect.objectContaining({ code: 'VOXSHIFT_E_INVALID_ARGUMENT' }),
    );
  });
});

describe('fft3d', () => {
  it('matches a naive 3-D DFT on a 4×3×5 volume, and inverts', () => {
    const shape = [4, 3, 5];
    const n = 60;
    const [re, im] = randomComplex(n, 7);
    const er = new Float64Array(n);
    const ei = new Float64Array(n);
    for (let w = 0; w < 5; w++) {
      for (let v = 0; v < 3; v++) {
        for (let u = 0; u < 4; u++) {
          let sr = 0;
          let si = 0;
          for (let k = 0; k < 5; k++) {
            for (let j = 0; j < 3; j++) {
              for (let i = 0; i < 4; i++) {
                const a = -2 * Math.PI * ((u * i) / 4 + (v * j) / 3 + (w * k) / 5);
                const p = i + 4 * (j + 3 * k);
                sr += re[p] * Math.cos(a) - im[p] * Math.sin(a);
                si += re[p] * Math.sin(a) + im[p] * Math.cos(a);
              }
            }
          }
          er[u + 4 * (v + 3 * w)] = sr;
          ei[u + 4 * (v + 3 * w)] = si;
        }
      }
    }
    const r = re.slice();
    const i = im.slice();
    fft3d(r, i, shape);
    expect(maxDiff(r, er)).toBeLessThan(1e-9);
    expect(maxDiff(i, ei)).toBeLessThan(1e-9);
    fft3d(r, i, shape, true);
    expect(maxDiff(r, re)).toBeLessThan(1e-12);
    expect(maxDiff(i, im)).toBeLessThan(1e-12);
  });
});
