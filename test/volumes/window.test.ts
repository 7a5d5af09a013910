import { describe, expect, it } from 'vitest';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { sliceAt } from '../../volumes/slices.ts';
import { CT_WINDOWS, windowLevel } from '../../volumes/window.ts';
import { synthetic } from './synthetic-volume.ts';

describe('windowLevel', () => {
  it('follows the DICOM linear VOI LUT formula', () => {
    const { center, width } = CT_WINDOWS.softTissue; // 40 / 400
    const data = Float32Array.from([-1000, -160.5, -160, 39.5, 40, 239, 239.5, 240, 3000, Number.NaN]);
    const out = windowLevel({ data }, center, width);
    const ref = (x: number): number => {
      if (!(x > center - 0.5 - (width - 1) / 2)) return 0;
      if (x > center - 0.5 + (width - 1) / 2) return 255;
      return Math.round(((x - (center - 0.5)) / (width - 1) + 0.5) * 255);
    };
    expect(Array.from(out)).toEqual(Array.from(data, ref));
    expect(out[0]).toBe(0);
    expect(out[3]).toBe(128);
    expect(out[8]).toBe(255);
    expect(out[9]).toBe(0);
  });

  it('windows a slice and rejects bad windows', () => {
    const vol = synthetic({ shape: [4, 3, 2], dtype: 'int16', value: (i, j) => i * 100 + j });
    const img = windowLevel(sliceAt(vol, 2, 0), 150, 301);
    expect(img).toHaveLength(12);
    expect(img[0]).toBe(0);
    expect(img[3]).toBe(255);
    for (const [c, w] of [[0, 0], [Number.NaN, 10], [0, Infinity]]) {
      try {
        windowLevel(vol, c, w);
        expect.unreachable();
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
    }
  });
});
