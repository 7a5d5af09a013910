/**
 * The baseline every synthesis model must beat: one global linear map from source intensities to
 * target units (e.g. MR → HU), fitted by least squares over the voxels inside the masks of registered
 * training pairs. A learned model that does not beat it has learned nothing beyond a contrast change.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import { deriveVolume, type IntensityUnits, type Modality, type Volume } from '../volumes/volume.ts';
import { checkSameGrid } from './metrics/check-inputs.ts';

export interface LinearFit {
  slope: number;
  intercept: number;
  /** Voxels the fit used. */
  samples: number;
}

export interface FitPair {
  source: Volume;
  target: Volume;
  /** Voxels to fit on (non-zero); default all. */
  mask?: Volume;
}

/** Least-squares `target ≈ slope · source + intercept` over all pairs' masked voxels. */
export function fitLinearMapping(pairs: readonly FitPair[]): LinearFit {
  if (pairs.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'fitLinearMapping needs at least one source/target pair', { param: 'pairs' });
  const each = (visit: (x: number, y: number) => void): void => {
    for (const p of pairs) {
      const x = p.source.data;
      const y = p.target.data;
      const m = p.mask?.data;
      for (let v = 0; v < x.length; v++) if (!m || m[v] !== 0) visit(x[v], y[v]);
    }
  };
  pairs.forEach((p, i) => {
    checkSameGrid({ vol: p.source, name: `pairs[${i}].source` }, { vol: p.target, name: `pairs[${i}].target` }, ...(p.mask ? [{ vol: p.mask, name: `pairs[${i}].mask` }] : []));
    const x = p.source.data;
    const y = p.target.data;
    const m = p.mask?.data;
    for (let v = 0; v < x.length; v++) {
      if ((!m || m[v] !== 0) && (!Number.isFinite(x[v]) || !Number.isFinite(y[v]))) {
        throw new VoxshiftError('NON_FINITE_VALUES', `pairs[${i}] has a non-finite voxel at index ${v}`, { param: `pairs[${i}]` });
      }
    }
  });
  // Two passes (means, then centred sums): one-pass sums lose the variance to cancellation when the
  // mean is large against the spread, and a constant source must be caught exactly (min = max), not
  // by a rounded variance that may come out positive.
  let n = 0;
  let sx = 0;
  let sy = 0;
  let min = Infinity;
  let max = -Infinity;
  each((x, y) => {
    n++;
    sx += x;
    sy += y;
    if (x < min) min = x;
    if (x > max) max = x;
  });
  if (n < 2 || !(max > min)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `cannot fit a linear map: ${n} voxels with ${n < 2 ? 'too few samples' : 'constant source intensity'}`, { param: 'pairs' });
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  each((x, y) => {
    const dx = x - mx;
    sxx += dx * dx;
    sxy += dx * (y - my);
  });
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, samples: n };
}

/** `slope · source + intercept` on the source grid, labelled with the target's modality and units. */
export function applyLinearMapping(vol: Volume, fit: LinearFit, target: { modality: Modality; units: IntensityUnits }): Volume<Float32Array> {
  const out = new Float32Array(vol.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fit.slope * vol.data[i] + fit.intercept;
  return deriveVolume(vol, { data: out, modality: target.modality, meta: { units: target.units } }, { op: 'linearMapping', params: { slope: fit.slope, intercept: fit.intercept } });
}
