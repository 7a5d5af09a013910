import { describe, expect, it } from 'vitest';
import { LABEL_ADVANCE, LABEL_BAND, renderMontage, volumeMontage, windowFor, type Montage, type MontageTile } from '../../../models3d/report/montage.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { decodePng } from '../../../volumes/png.ts';
import { reorient } from '../../../volumes/reorient.ts';
import { intensityStats } from '../../../volumes/stats.ts';
import { createVolume, type Volume } from '../../../volumes/volume.ts';

/** The montage's grey pixels, read back from its PNG. */
function pixels(m: Montage): { at: (x: number, y: number) => number; width: number; height: number } {
  const d = decodePng(m.png);
  expect(d.colorType).toBe(0);
  expect([d.width, d.height]).toEqual([m.width, m.height]);
  return { width: d.width, height: d.height, at: (x, y) => d.rgba[4 * (y * d.width + x)] };
}

const ramp = (w: number, h: number, f: (x: number, y: number) => number): Float32Array => Float32Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w)));

function expectError(f: () => unknown, code: 'INVALID_ARGUMENT' | 'GEOMETRY_MISMATCH', param: string): void {
  try {
    f();
    expect.unreachable();
  } catch (e) {
    expect(isVoxshiftError(e, code)).toBe(true);
    expect((e as { param?: string }).param).toBe(param);
  }
}

describe('renderMontage', () => {
  // Values 0..255 through the window [0, 255] come out unchanged; −50 and 400 clamp.
  const window = { lower: 0, upper: 255 };
  const big: MontageTile = { data: ramp(12, 8, (x, y) => x * 20 + y), width: 12, height: 8, window, label: 'LI' };
  const small: MontageTile = { data: [-50, 400, Number.NaN, 128, 64, 32], width: 3, height: 2, window };
  const plain: MontageTile = { data: ramp(4, 4, () => 200), width: 4, height: 4, window: { lower: 100, upper: 300 } };

  it('lays tiles out in a grid of equal cells with a gap, windowing and clamping each tile', () => {
    const m = renderMontage([[big, small], [plain]], { gap: 3 });
    const px = pixels(m);
    // Cells are 12×8 (the largest tile); a label band above every row since one tile has a label.
    expect([m.width, m.height]).toEqual([3 + 2 * (12 + 3), 3 + 2 * (LABEL_BAND + 8 + 3)]);
    expect(m.tiles[0][0]).toEqual({ x: 3, y: 3 + LABEL_BAND, width: 12, height: 8 });
    // Smaller tiles sit at the top of their cell, centred across it.
    expect(m.tiles[0][1]).toEqual({ x: 3 + 15 + 4, y: 3 + LABEL_BAND, width: 3, height: 2 });
    expect(m.tiles[1][0]).toEqual({ x: 3 + 4, y: 3 + (LABEL_BAND + 8 + 3) + LABEL_BAND, width: 4, height: 4 });
    const t = m.tiles[0][0];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 12; x++) expect(px.at(t.x + x, t.y + y)).toBe(x * 20 + y);
    const s = m.tiles[0][1];
    expect([0, 1, 2].map((x) => px.at(s.x + x, s.y))).toEqual([0, 255, 0]); // clamped below, above; NaN → 0
    expect([0, 1, 2].map((x) => px.at(s.x + x, s.y + 1))).toEqual([128, 64, 32]);
    // 200 in [100, 300] is the middle: round(127.5) = 128.
    expect(px.at(m.tiles[1][0].x + 2, m.tiles[1][0].y + 3)).toBe(128);
    // Background around and between the tiles, and in the empty second cell of row 1.
    expect(px.at(0, 0)).toBe(0);
    expect(px.at(t.x + 12, t.y)).toBe(0);
    expect(px.at(s.x, s.y + 2)).toBe(0);
    expect(px.at(3 + 15 + 5, m.tiles[1][0].y + 2)).toBe(0);
  });

  it('draws the label in the 5×7 font in the band above its tile, and nothing above unlabelled tiles', () => {
    const m = renderMontage([[big, small], [plain]], { gap: 3, background: 10, labelGray: 250 });
    const px = pixels(m);
    const x0 = 3;
    const y0 = 3 + 1;
    // 'L': left column inked on all 7 rows, bottom row inked across, the rest of the glyph background.
    for (let r = 0; r < 7; r++) expect(px.at(x0, y0 + r)).toBe(250);
    for (let c = 0; c < 5; c++) expect(px.at(x0 + c, y0 + 6)).toBe(250);
    expect(px.at(x0 + 2, y0 + 3)).toBe(10);
    // 'I': top bar .###., then the centre column.
    const xi = x0 + LABEL_ADVANCE;
    expect([0, 1, 2, 3, 4].map((c) => px.at(xi + c, y0))).toEqual([10, 250, 250, 250, 10]);
    expect(px.at(xi + 2, y0 + 3)).toBe(250);
    expect(px.at(xi, y0 + 3)).toBe(10);
    // No ink in the bands above the unlabelled tiles, nor between the text and the tile.
    const band = (x: number, y: number, w: number): number[] => {
      const v: number[] = [];
      for (let r = 0; r < LABEL_BAND; r++) for (let c = 0; c < w; c++) v.push(px.at(x + c, y + r));
      return v;
    };
    expect(new Set(band(3 + 15, 3, 12))).toEqual(new Set([10]));
    expect(new Set(band(3, 3 + LABEL_BAND + 8 + 3, 12))).toEqual(new Set([10]));
    for (let c = 0; c < 12; c++) expect(px.at(x0 + c, y0 + 7)).toBe(10);
  });

  it('magnifies tiles by an integer scale (nearest neighbour) and leaves out the band when nothing is labelled', () => {
    const m = renderMontage([[{ data: [0, 255, 255, 0], width: 2, height: 2, window: { lower: 0, upper: 255 } }]], { gap: 1, scale: 3 });
    const px = pixels(m);
    expect([m.width, m.height]).toEqual([8, 8]);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) expect(px.at(1 + x, 1 + y)).toBe((x < 3) === (y < 3) ? 0 : 255);
  });

  it('shows unknown characters as ? and clips a label to its cell', () => {
    const m = renderMontage([[{ ...plain, label: '#ABCDEFG' }]], { gap: 0 });
    const px = pixels(m);
    expect(m.width).toBe(4);
    // Only the first glyph fits (4 columns < 5): nothing is drawn, rather than a cut glyph.
    for (let r = 0; r < LABEL_BAND; r++) for (let c = 0; c < 4; c++) expect(px.at(c, r)).toBe(0);
    const wide = renderMontage([[{ data: new Float32Array(12), width: 12, height: 1, window, label: '#' }]], { gap: 0 });
    const wpx = pixels(wide);
    // '?': top row .###.
    expect([0, 1, 2, 3, 4].map((c) => wpx.at(c, 1))).toEqual([0, 255, 255, 255, 0]);
  });

  it('rejects bad tiles, windows and options naming the parameter', () => {
    expectError(() => renderMontage([[{ ...plain, data: [1, 2, 3] }]]), 'INVALID_ARGUMENT', 'rows[0][0].data');
    expectError(() => renderMontage([[plain], [{ ...plain, window: { lower: 5, upper: 5 } }]]), 'INVALID_ARGUMENT', 'rows[1][0].window');
    expectError(() => renderMontage([[{ ...plain, width: 0 }]]), 'INVALID_ARGUMENT', 'rows[0][0].width');
    expectError(() => renderMontage([]), 'INVALID_ARGUMENT', 'rows');
    expectError(() => renderMontage([[plain]], { scale: 1.5 }), 'INVALID_ARGUMENT', 'scale');
    expectError(() => renderMontage([[plain]], { background: 256 }), 'INVALID_ARGUMENT', 'background');
  });
});

describe('volumeMontage', () => {
  const value = (i: number, j: number, k: number): number => i + 10 * j + 50 * k;
  const shape = [6, 5, 4] as const;
  const make = (f: (i: number, j: number, k: number) => number, init: Partial<Parameters<typeof createVolume>[0]> = {}): Volume => {
    const data = new Float32Array(shape[0] * shape[1] * shape[2]);
    for (let k = 0, p = 0; k < shape[2]; k++) for (let j = 0; j < shape[1]; j++) for (let i = 0; i < shape[0]; i++) data[p++] = f(i, j, k);
    return createVolume({ data, shape, spacing: [0.8, 1.1, 2.5], ...init });
  };
  const a = make(value);
  const b = make((i, j, k) => 255 - value(i, j, k));
  const window = { lower: 0, upper: 255 };

  it('axial: one row per slice (3 evenly spaced by default), one column per volume, row = j, column = i', () => {
    const m = volumeMontage([
      { volume: a, window, label: 'in' },
      { volume: b, window, label: 'out' },
    ]);
    const px = pixels(m);
    expect(m.tiles).toHaveLength(3);
    expect(m.tiles.every((r) => r.length === 2 && r.every((t) => t.width === 6 && t.height === 5))).toBe(true);
    [1, 2, 3].forEach((k, row) => {
      const [ta, tb] = m.tiles[row];
      for (let j = 0; j < 5; j++) {
        for (let i = 0; i < 6; i++) {
          expect(px.at(ta.x + i, ta.y + j)).toBe(value(i, j, k));
          expect(px.at(tb.x + i, tb.y + j)).toBe(255 - value(i, j, k));
        }
      }
      // Label ink above both tiles.
      for (const t of [ta, tb]) {
        let ink = 0;
        for (let y = t.y - LABEL_BAND; y < t.y; y++) for (let x = t.x; x < t.x + t.width; x++) ink += px.at(x, y) === 255 ? 1 : 0;
        expect(ink).toBeGreaterThan(5);
      }
    });
  });

  it('coronal and sagittal: superior up (rows are k, flipped); explicit slice indices', () => {
    const cor = volumeMontage([{ volume: a, window }], { axis: 1, slices: [4] });
    const cpx = pixels(cor);
    const ct = cor.tiles[0][0];
    expect([ct.width, ct.height]).toEqual([6, 4]);
    for (let r = 0; r < 4; r++) for (let i = 0; i < 6; i++) expect(cpx.at(ct.x + i, ct.y + r)).toBe(value(i, 4, 3 - r));
    const sag = volumeMontage([{ volume: a, window }], { axis: 0, slices: [0, 5] });
    const spx = pixels(sag);
    expect(sag.tiles).toHaveLength(2);
    const st = sag.tiles[1][0];
    expect([st.width, st.height]).toEqual([5, 4]);
    for (let r = 0; r < 4; r++) for (let j = 0; j < 5; j++) expect(spx.at(st.x + j, st.y + r)).toBe(value(5, j, 3 - r));
  });

  it('shows a non-LPS volume as its LPS equivalent (reoriented first)', () => {
    const ras = reorient(a, 'RAS');
    expect(ras.shape).toEqual(a.shape);
    const lpsPng = decodePng(volumeMontage([{ volume: a, window }]).png);
    const rasPng = decodePng(volumeMontage([{ volume: ras, window }]).png);
    expect(Buffer.from(rasPng.rgba).equals(Buffer.from(lpsPng.rgba))).toBe(true);
  });

  it('refuses volumes of different shapes, several channels, bad slices', () => {
    const other = createVolume({ data: new Float32Array(6 * 5 * 3), shape: [6, 5, 3] });
    expectError(() => volumeMontage([{ volume: a, window }, { volume: other, window }]), 'GEOMETRY_MISMATCH', 'volumes');
    const two = createVolume({ data: new Float32Array(2 * 6 * 5 * 4), shape, channels: 2 });
    expectError(() => volumeMontage([{ volume: two, window }]), 'INVALID_ARGUMENT', 'volumes[0]');
    expectError(() => volumeMontage([{ volume: a, window }], { slices: 5 }), 'INVALID_ARGUMENT', 'slices');
    expectError(() => volumeMontage([{ volume: a, window }], { slices: [4] }), 'INVALID_ARGUMENT', 'index');
    expectError(() => volumeMontage([{ volume: a, window }], { axis: 3 as 2 }), 'INVALID_ARGUMENT', 'axis');
    expectError(() => volumeMontage([]), 'INVALID_ARGUMENT', 'volumes');
  });
});

describe('windowFor', () => {
  it('CT by modality or HU units, model space, probabilities, labels, else robust percentiles', () => {
    const data = Float32Array.from({ length: 200 }, (_, i) => i * 3 - 17);
    const base = { data, shape: [10, 10, 2] as const };
    expect(windowFor(createVolume({ ...base, modality: 'CT' }))).toEqual({ lower: -1000, upper: 1500 });
    expect(windowFor(createVolume({ ...base, meta: { units: 'HU' } }))).toEqual({ lower: -1000, upper: 1500 });
    expect(windowFor(createVolume({ ...base, meta: { units: 'normalized' } }))).toEqual({ lower: -1, upper: 1 });
    expect(windowFor(createVolume({ ...base, meta: { units: 'probability' } }))).toEqual({ lower: 0, upper: 1 });
    const labels = createVolume({ data: Uint8Array.from({ length: 8 }, (_, i) => i % 4), shape: [2, 2, 2], kind: 'label', modality: 'CT' });
    expect(windowFor(labels)).toEqual({ lower: 0, upper: 3 });
    const mr = createVolume({ ...base, modality: 'MR' });
    const [lo, hi] = intensityStats(mr).percentiles([0.5, 99.5]);
    expect(windowFor(mr)).toEqual({ lower: lo, upper: hi });
    expect(lo).toBeCloseTo(-17 + 0.005 * 199 * 3, 6);
    expect(windowFor(createVolume({ data: new Float32Array(8).fill(7), shape: [2, 2, 2] }))).toEqual({ lower: 7, upper: 8 });
  });
});
