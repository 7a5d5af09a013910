/**
 * renderOverlay: radiological display whatever the grid's axis order (a grid stored R→L, A→P
 * flipped, with 3 mm slices), square pixels, tint and outline at the region and pixelOf agreeing
 * with what is drawn.
 */
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../../volumes/png.ts';
import { createVolume } from '../../../volumes/volume.ts';
import type { Mat3, Shape3 } from '../../../volumes/volume.ts';
import { greyPanel, renderOverlay, TINT_ALPHA } from '../../../validation/report/overlay.ts';

const shape: Shape3 = [30, 20, 10];
// i runs towards the patient's right (−x in LPS), j anterior (−y), k superior: an "RAS" grid
const direction: Mat3 = [-1, 0, 0, 0, -1, 0, 0, 0, 1];
const spacing = [1, 1, 3] as const;

function pixel(png: ReturnType<typeof decodePng>, x: number, y: number): number[] {
  const o = (y * png.width + x) * 4;
  return [png.rgba[o], png.rgba[o + 1], png.rgba[o + 2]];
}

describe('renderOverlay', () => {
  const n = shape[0] * shape[1] * shape[2];
  const data = new Float32Array(n);
  // value = i (a ramp along the stored axis) so orientation is visible
  for (let p = 0; p < n; p++) data[p] = p % shape[0];
  const vol = createVolume({ data, shape, spacing, direction });
  // the region: a 3×3×1 block at stored i = 2..4 (patient's left side of this grid), j = 8..10, k = 5
  const inRegion = (p: number): boolean => {
    const i = p % shape[0];
    const j = Math.floor(p / shape[0]) % shape[1];
    const k = Math.floor(p / (shape[0] * shape[1]));
    return i >= 2 && i <= 4 && j >= 8 && j <= 10 && k === 5;
  };
  const o = renderOverlay(vol, [greyPanel('ramp', vol, { lower: 0, upper: 29 })], {
    centerVoxel: [3, 9, 5],
    regions: [{ has: inRegion, tint: [255, 0, 0] }],
    maxTilePixels: 120,
  });
  const png = decodePng(o.png);

  it('lays out three views on square pixels of the same size', () => {
    expect(png.width).toBe(o.width);
    expect(png.height).toBe(o.height);
    // longest extent 30 mm over 120 px: 0.25 mm pixels (4× magnification of 1 mm voxels)
    expect(o.pixelMm).toBeCloseTo(0.25, 12);
    const axial = o.tiles.find((t) => t.view === 'axial');
    const coronal = o.tiles.find((t) => t.view === 'coronal');
    const sagittal = o.tiles.find((t) => t.view === 'sagittal');
    expect([axial?.width, axial?.height]).toEqual([120, 80]);
    expect([coronal?.width, coronal?.height]).toEqual([120, 120]); // 10 slices × 3 mm
    expect([sagittal?.width, sagittal?.height]).toEqual([80, 120]);
  });

  it('shows the patient right on the image left (radiological), whatever the stored order', () => {
    const axial = o.tiles.find((t) => t.view === 'axial');
    if (!axial) throw new Error('no axial tile');
    const row = axial.y + 2;
    // stored i grows towards the patient's right, which is the image's left: the ramp falls left→right
    const left = pixel(png, axial.x + 1, row)[0];
    const right = pixel(png, axial.x + axial.width - 2, row)[0];
    expect(left).toBe(255);
    expect(right).toBe(0);
  });

  it('tints the region inside and outlines its border, at the pixels pixelOf gives', () => {
    for (const view of ['axial', 'coronal', 'sagittal'] as const) {
      const [x, y] = o.pixelOf(view, 0, [3, 9, 5]);
      const [r, g, b] = pixel(png, x, y);
      const grey = Math.round((3 * 255) / 29);
      expect(g, view).toBe(Math.round((1 - TINT_ALPHA) * grey));
      expect(b).toBe(g);
      expect(r).toBe(Math.round((1 - TINT_ALPHA) * grey + TINT_ALPHA * 255));
    }
    // the outline: the first pixel of the block along a row is pure tint
    const [x0, y0] = o.pixelOf('axial', 0, [4, 9, 5]);
    let x = x0;
    while (pixel(png, x - 1, y0)[1] !== pixel(png, x - 1, y0)[0]) x--;
    expect(pixel(png, x, y0)).toEqual([255, 0, 0]);
    // outside the region, grey
    const [fx, fy] = o.pixelOf('axial', 0, [20, 2, 5]);
    const [r, g, b] = pixel(png, fx, fy);
    expect(r).toBe(g);
    expect(g).toBe(b);
  });

  it('refuses no panels and bad tile sizes', () => {
    expect(() => renderOverlay(vol, [], { centerVoxel: [0, 0, 0] })).toThrow(/at least one panel/);
    expect(() => renderOverlay(vol, [greyPanel('x', vol, { lower: 0, upper: 1 })], { centerVoxel: [0, 0, 0], maxTilePixels: 3 })).toThrow(/maxTilePixels/);
    expect(() => greyPanel('x', vol, { lower: 1, upper: 1 })).toThrow(/lower < upper/);
  });
});
