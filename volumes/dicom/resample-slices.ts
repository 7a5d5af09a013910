/**
 * Linear resampling along the slice axis: from slices at `from` offsets (mm, increasing) to slices at
 * `to` offsets, for every channel. Used to put unevenly spaced DICOM slices on an even grid.
 */
export function resampleSlices(src: Float32Array, plane: number, channels: number, from: readonly number[], to: readonly number[]): Float32Array {
  const nIn = from.length;
  const nOut = to.length;
  const out = new Float32Array(plane * nOut * channels);
  let j = 0;
  for (let t = 0; t < nOut; t++) {
    const z = to[t];
    while (j < nIn - 2 && from[j + 1] < z) j++;
    const span = from[j + 1] - from[j];
    // clamp so that rounding at the ends never extrapolates
    const w = Math.min(1, Math.max(0, span > 0 ? (z - from[j]) / span : 0));
    for (let c = 0; c < channels; c++) {
      const a = (c * nIn + j) * plane;
      const b = a + plane;
      const o = (c * nOut + t) * plane;
      if (w === 0) out.set(src.subarray(a, a + plane), o);
      else if (w === 1) out.set(src.subarray(b, b + plane), o);
      else for (let i = 0; i < plane; i++) out[o + i] = src[a + i] * (1 - w) + src[b + i] * w;
    }
  }
  return out;
}
