/**
 * MR spike / herringbone artefact (TorchIO's Spike): at each spike's k-space position (relative
 * frequencies in [−0.5, 0.5] per axis) `intensity` × the largest spectrum magnitude is added, which
 * overlays stripes on the image. Label maps are untouched. Not invertible.
 */
import { randomInt, uniform } from '../../volumes/random.ts';
import { OptionReader } from '../options.ts';
import type { Range } from '../options.ts';
import { defineRandom, defineTwin, includeParam, mapVolumes } from '../transform.ts';
import type { DeterministicTransform, Transform } from '../transform.ts';
import { freqIndex, spectrumOf } from './kspace.ts';
import { deriveVolume } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';

export interface SpikeParams {
  /** 3 relative frequencies per spike, each in [−0.5, 0.5]. */
  positions: number[];
  intensity: number;
  include?: string[];
}

export function Spike(params: SpikeParams, where = 'Spike'): DeterministicTransform {
  const r = new OptionReader(where, params, ['positions', 'intensity', 'include']);
  const inc = includeParam(r.include());
  const positions = r.numbers('positions', undefined);
  if (positions.length % 3 !== 0 || positions.some((x) => x < -0.5 || x > 0.5)) {
    r.fail('positions', 'expected 3 relative frequencies in [-0.5, 0.5] per spike', positions);
  }
  const intensity = r.number('intensity', undefined, -100, 100);
  return defineTwin('Spike', { positions, intensity, ...inc }, (subject) =>
    mapVolumes(subject, 'intensity', (v) => spikeVolume(v, positions, intensity), inc.include),
  );
}

/**
 * Adding a to the spectrum at frequency f is adding (a/N)·e^(2πi f·r) to the image (inverse DFT), so
 * no transform is needed; only the largest spectrum magnitude is. For a non-negative image it is the
 * DC term Σx (|Σ x·e^(…)| ≤ Σ|x|); a signed image needs its spectrum.
 */
function spikeVolume(v: Volume, positions: readonly number[], intensity: number): Volume {
  const [nx, ny, nz] = v.shape;
  const n = nx * ny * nz;
  const out = new Float32Array(n * v.channels);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let ch = 0; ch < v.channels; ch++) {
    const src = v.data.subarray(ch * n, (ch + 1) * n);
    let min = Infinity;
    let sum = 0;
    for (let p = 0; p < n; p++) {
      if (src[p] < min) min = src[p];
      sum += src[p];
    }
    let max = Math.abs(sum);
    if (min < 0) {
      const s = spectrumOf(src, v.shape);
      for (let p = 0; p < n; p++) max = Math.max(max, Math.hypot(s.re[p], s.im[p]));
    }
    const a = (intensity * max) / n;
    re.set(src);
    im.fill(0);
    for (let q = 0; q < positions.length; q += 3) {
      const tables = [nx, ny, nz].map((len, axis) => {
        const f = freqIndex(Math.round(positions[q + axis] * len), len);
        const c = new Float64Array(len);
        const sn = new Float64Array(len);
        for (let t = 0; t < len; t++) {
          const ang = (2 * Math.PI * ((f * t) % len)) / len;
          c[t] = Math.cos(ang);
          sn[t] = Math.sin(ang);
        }
        return [c, sn];
      });
      const [[cx, sx], [cy, sy], [cz, sz]] = tables;
      let p = 0;
      for (let k = 0; k < nz; k++) {
        for (let j = 0; j < ny; j++) {
          const cr = cy[j] * cz[k] - sy[j] * sz[k];
          const ci = cy[j] * sz[k] + sy[j] * cz[k];
          for (let i = 0; i < nx; i++, p++) {
            re[p] += a * (cx[i] * cr - sx[i] * ci);
            im[p] += a * (cx[i] * ci + sx[i] * cr);
          }
        }
      }
    }
    const dst = out.subarray(ch * n, (ch + 1) * n);
    for (let p = 0; p < n; p++) dst[p] = min >= 0 ? Math.hypot(re[p], im[p]) : re[p];
  }
  return deriveVolume(v, { data: out });
}

export interface RandomSpikeOptions {
  /** Default [1, 1]. */
  numSpikes?: Range;
  /** Default [1, 3] (TorchIO), sign drawn at random. */
  intensity?: Range;
  /** Only these images (default: every image of the subject). */
  include?: string[];
  p?: number;
}

export function RandomSpike(options: RandomSpikeOptions = {}, where = 'RandomSpike'): Transform {
  const r = new OptionReader(where, options, ['numSpikes', 'intensity', 'p', 'include']);
  const inc = includeParam(r.include());
  const ns = r.range('numSpikes', [1, 1], 1, 100);
  if (!Number.isInteger(ns[0]) || !Number.isInteger(ns[1])) r.fail('numSpikes', 'expected [min, max] integers', ns);
  const intensity = r.range('intensity', [1, 3], 0, 100);
  return defineRandom('RandomSpike', r.prob('p', 1), (_s, rng) => {
    const count = randomInt(rng, ns[0], ns[1]);
    const positions = Array.from({ length: 3 * count }, () => uniform(rng, -0.5, 0.5));
    const sign = rng() < 0.5 ? -1 : 1;
    return Spike({ positions, intensity: sign * uniform(rng, ...intensity), ...inc });
  });
}
