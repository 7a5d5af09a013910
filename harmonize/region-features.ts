/**
 * Region features for ComBat: for each region of a label map (phantom tissues, atlas regions), the
 * mean image intensity inside it and its volume in millilitres.
 */
import { VoxshiftError } from '../volumes/errors.ts';
import type { Volume } from '../volumes/volume.ts';
import { voxelCount } from '../volumes/volume.ts';

export interface RegionFeatures {
  /** Feature name → value: `<region>_mean` (intensity units) and `<region>_ml`. */
  values: Record<string, number>;
}

/**
 * Mean intensity and volume of each region `regions` names (label id → name). A region with no
 * voxel is an error (its mean is undefined), naming the region and the subject.
 */
export function regionFeatures(image: Volume, labels: Volume, regions: Readonly<Record<number, string>>, name = 'subject'): Record<string, number> {
  const n = voxelCount(image.shape);
  if (voxelCount(labels.shape) !== n || labels.shape.some((s, i) => s !== image.shape[i])) {
    throw new VoxshiftError('GEOMETRY_MISMATCH', `${name}: the label map is ${labels.shape.join('×')} but the image is ${image.shape.join('×')}`, { param: 'labels' });
  }
  const ids = Object.keys(regions).map(Number);
  const sum = new Map<number, number>(ids.map((id) => [id, 0]));
  const count = new Map<number, number>(ids.map((id) => [id, 0]));
  const img = image.data;
  const lab = labels.data;
  for (let p = 0; p < n; p++) {
    const l = lab[p];
    const s = sum.get(l);
    if (s === undefined) continue;
    sum.set(l, s + img[p]);
    count.set(l, (count.get(l) as number) + 1);
  }
  const voxelMl = (image.spacing[0] * image.spacing[1] * image.spacing[2]) / 1000;
  const out: Record<string, number> = {};
  for (const id of ids) {
    const c = count.get(id) as number;
    if (c === 0) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${name}: region ${regions[id]} (label ${id}) has no voxels; its mean intensity is undefined`, {
        param: 'labels',
        details: { region: regions[id], label: id },
      });
    }
    out[`${regions[id]}_mean`] = (sum.get(id) as number) / c;
  }
  for (const id of ids) out[`${regions[id]}_ml`] = (count.get(id) as number) * voxelMl;
  return out;
}
