/** connectedComponents: counts, volumes, world centroids, boxes and slices on blobs with anisotropic spacing and a tilted grid. */
import { describe, expect, it } from 'vitest';
import { voxelToWorld } from '../../../volumes/affine.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Mat3, Shape3 } from '../../../volumes/volume.ts';
import { axialAxis, connectedComponents } from '../../../validation/segment/components.ts';

// rotation of 20° about x then 10° about z: columns are the axis directions
function tilted(): Mat3 {
  const a = (20 * Math.PI) / 180;
  const b = (10 * Math.PI) / 180;
  const rx = [1, 0, 0, 0, Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a)];
  const rz = [Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b), 0, 0, 0, 1];
  const m = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) m[i * 3 + j] += rz[i * 3 + k] * rx[k * 3 + j];
  return m as unknown as Mat3;
}

const shape: Shape3 = [30, 24, 16];
const spacing = [0.8, 1.1, 2.5] as const;
const origin = [-12, 30, 5] as const;

function maskWith(boxes: { lo: number[]; hi: number[]; value?: number }[]) {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (const { lo, hi, value } of boxes) {
    for (let k = lo[2]; k <= hi[2]; k++) for (let j = lo[1]; j <= hi[1]; j++) for (let i = lo[0]; i <= hi[0]; i++) data[i + shape[0] * (j + shape[1] * k)] = value ?? 1;
  }
  return createVolume({ data, shape, spacing, origin, direction: tilted(), kind: 'label' });
}

describe('connectedComponents', () => {
  it('finds each blob with its voxel count, volume, world centroid, box and slice, largest first', () => {
    const vol = maskWith([
      { lo: [2, 3, 1], hi: [5, 6, 2] }, // 4×4×2 = 32 voxels
      { lo: [15, 10, 4], hi: [24, 19, 12] }, // 10×10×9 = 900 voxels
      { lo: [28, 22, 15], hi: [28, 22, 15] }, // a single voxel in the corner
    ]);
    const { labels, components } = connectedComponents(vol);
    expect(components.map((c) => c.voxels)).toEqual([900, 32, 1]);
    expect(components.map((c) => c.id)).toEqual([1, 2, 3]);
    const voxelMm3 = 0.8 * 1.1 * 2.5;
    expect(components[0].volumeMm3).toBeCloseTo(900 * voxelMm3, 9);
    expect(components[0].centroidVoxel).toEqual([19.5, 14.5, 8]);
    const w = voxelToWorld(vol, [19.5, 14.5, 8]);
    components[0].centroidWorld.forEach((v, a) => expect(v).toBeCloseTo(w[a], 9));
    expect(components[0].bbox).toEqual({ min: [15, 10, 4], max: [24, 19, 12] });
    expect(components[1].bbox).toEqual({ min: [2, 3, 1], max: [5, 6, 2] });
    // the k axis is the one nearest world S–I for this tilt; all slices of the box have equal area, the centroid's wins
    expect(components[0].slice).toEqual({ axis: 2, index: 8, areaVoxels: 100, centroidIndex: 8 });
    expect(labels.data[19 + shape[0] * (14 + shape[1] * 8)]).toBe(1);
    expect(labels.data[3 + shape[0] * (4 + shape[1] * 1)]).toBe(2);
    expect(labels.data[0]).toBe(0);
    expect(labels.data[28 + shape[0] * (22 + shape[1] * 15)]).toBe(3);
    expect(labels.data.at(-1)).toBe(0);
    expect(labels.kind).toBe('label');
    expect([...labels.spacing]).toEqual([...spacing]);
  });

  it('picks the slice of largest area along the axial axis', () => {
    // a cone-like stack: areas 1, 9, 25 along k
    const vol = maskWith([
      { lo: [10, 10, 3], hi: [10, 10, 3] },
      { lo: [9, 9, 4], hi: [11, 11, 4] },
      { lo: [8, 8, 5], hi: [12, 12, 5] },
    ]);
    const [c] = connectedComponents(vol).components;
    expect(c.voxels).toBe(35);
    expect(c.slice.index).toBe(5);
    expect(c.slice.areaVoxels).toBe(25);
    expect(c.slice.centroidIndex).toBe(Math.round((3 + 9 * 4 + 25 * 5) / 35));
  });

  it('honours 6-, 18- and 26-connectivity', () => {
    const vol = maskWith([
      { lo: [5, 5, 5], hi: [5, 5, 5] },
      { lo: [6, 6, 5], hi: [6, 6, 5] }, // edge neighbour of the first
      { lo: [7, 7, 6], hi: [7, 7, 6] }, // corner neighbour of the second
    ]);
    expect(connectedComponents(vol, { connectivity: 6 }).components).toHaveLength(3);
    expect(connectedComponents(vol, { connectivity: 18 }).components).toHaveLength(2);
    expect(connectedComponents(vol, { connectivity: 26 }).components).toHaveLength(1);
  });

  it('selects one label and drops components under the size limits', () => {
    const vol = maskWith([
      { lo: [1, 1, 1], hi: [3, 3, 3], value: 2 },
      { lo: [10, 10, 10], hi: [10, 11, 10], value: 2 },
      { lo: [20, 5, 5], hi: [25, 8, 8], value: 5 },
    ]);
    const two = connectedComponents(vol, { label: 2 });
    expect(two.components.map((c) => c.voxels)).toEqual([27, 2]);
    const big = connectedComponents(vol, { label: 2, minVoxels: 3 });
    expect(big.components.map((c) => c.voxels)).toEqual([27]);
    expect(big.labels.data[10 + shape[0] * (10 + shape[1] * 10)]).toBe(0);
    const voxelMm3 = 0.8 * 1.1 * 2.5;
    expect(connectedComponents(vol, { minVolumeMm3: 27 * voxelMm3 + 0.01 }).components.map((c) => c.voxels)).toEqual([96]);
  });

  it('finds the axial axis from the direction matrix', () => {
    expect(axialAxis([1, 0, 0, 0, 1, 0, 0, 0, 1])).toBe(2);
    // a sagittal acquisition: i → A/P... k → L/R, j → S/I
    expect(axialAxis([0, 0, 1, 1, 0, 0, 0, 1, 0])).toBe(1);
    expect(axialAxis([0, 0, -1, 0, 1, 0, 1, 0, 0])).toBe(0);
  });

  it('rejects a bad connectivity', () => {
    const vol = maskWith([]);
    expect(connectedComponents(vol).components).toEqual([]);
    try {
      connectedComponents(vol, { connectivity: 8 as 6 });
      expect.unreachable();
    } catch (e) {
      expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});
