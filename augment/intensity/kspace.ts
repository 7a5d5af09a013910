/**
 * k-space round trip for the MR artefacts: the 3-D spectrum of one channel and back. The result is
 * the magnitude (as a scanner's magnitude image, TorchIO's choice) when the image has no negative
 * values, and the real part otherwise (so a CT-like signed image keeps its sign).
 */
import { deriveVolume, voxelCount } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { fft3d } from '../fft.ts';

export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
}

export function spectrumOf(data: ArrayLike<number>, shape: readonly number[]): Spectrum {
  const re = Float64Array.from(data);
  const im = new Float64Array(re.length);
  fft3d(re, im, shape);
  return { re, im };
}

export function imageOf(s: Spectrum, shape: readonly number[], magnitude: boolean, out: Float32Array): void {
  fft3d(s.re, s.im, shape, true);
  for (let i = 0; i < out.length; i++) out[i] = magnitude ? Math.hypot(s.re[i], s.im[i]) : s.re[i];
}

/** Frequency index (0..n−1, FFT order) of signed frequency f. */
export function freqIndex(f: number, n: number): number {
  return ((f % n) + n) % n;
}

/** Applies `edit` to the spectrum of every channel of an image. */
export function editSpectrum(vol: Volume, edit: (s: Spectrum, channelData: Float32Array) => void): Volume {
  const n = voxelCount(vol.shape);
  const out = new Float32Array(n * vol.channels);
  for (let ch = 0; ch < vol.channels; ch++) {
    const src = vol.data.subarray(ch * n, (ch + 1) * n);
    let min = Infinity;
    for (let i = 0; i < n; i++) if (src[i] < min) min = src[i];
    const s = spectrumOf(src, vol.shape);
    const dst = out.subarray(ch * n, (ch + 1) * n);
    edit(s, Float32Array.from(src));
    imageOf(s, vol.shape, min >= 0, dst);
  }
  return deriveVolume(vol, { data: out });
}
