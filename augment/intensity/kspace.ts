/**
 * k-space round trip for the MR artefacts: the 3-D spectrum of one channel and back. The result is
 * the magnitude (as a scanner's magnitude image, TorchIO's choice) when the image has no negative
 * values, and the real part otherwise (so a CT-like signed image keeps its sign).
 */
import { deriveVolume, voxelCount } from '../../volumes/volume.ts';
import type { Volume } from '../../volumes/volume.ts';
import { fft3d, fftAxis } from '../fft.ts';

export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
}

/**
 * The spectrum of a real channel: 3-D, or along one axis only (`axis`) — enough for edits that act
 * on whole k-space planes along that axis (ghosting, motion), since the transforms along the other
 * axes commute with such edits and cancel in the round trip.
 */
export function spectrumOf(data: ArrayLike<number>, shape: readonly number[], axis?: number): Spectrum {
  const re = Float64Array.from(data);
  const im = new Float64Array(re.length);
  if (axis === undefined) fft3d(re, im, shape);
  else fftAxis(re, im, shape, axis);
  return { re, im };
}

export function imageOf(s: Spectrum, shape: readonly number[], magnitude: boolean, out: Float32Array, axis?: number): void {
  if (axis === undefined) fft3d(s.re, s.im, shape, true);
  else fftAxis(s.re, s.im, shape, axis, true);
  for (let i = 0; i < out.length; i++) out[i] = magnitude ? Math.hypot(s.re[i], s.im[i]) : s.re[i];
}

/** Frequency index (0..n−1, FFT order) of signed frequency f. */
export function freqIndex(f: number, n: number): number {
  return ((f % n) + n) % n;
}

/** Applies `edit` to the spectrum (3-D, or along `axis` only) of every channel of an image. */
export function editSpectrum(vol: Volume, edit: (s: Spectrum) => void, axis?: number): Volume {
  const n = voxelCount(vol.shape);
  const out = new Float32Array(n * vol.channels);
  for (let ch = 0; ch < vol.channels; ch++) {
    const src = vol.data.subarray(ch * n, (ch + 1) * n);
    let min = Infinity;
    for (let i = 0; i < n; i++) if (src[i] < min) min = src[i];
    const s = spectrumOf(src, vol.shape, axis);
    edit(s);
    imageOf(s, vol.shape, min >= 0, out.subarray(ch * n, (ch + 1) * n), axis);
  }
  return deriveVolume(vol, { data: out });
}
