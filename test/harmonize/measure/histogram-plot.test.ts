import { describe, expect, it } from 'vitest';
import { histogramPlotPng, SITE_COLOURS, textMask } from '../../../harmonize/measure/histogram-plot.ts';
import { decodePng } from '../../../volumes/png.ts';

describe('histogram plot', () => {
  it('draws one panel per method with a coloured curve per site', () => {
    const a = Float64Array.from({ length: 1000 }, (_, i) => i / 10);
    const b = Float64Array.from({ length: 500 }, (_, i) => 20 + i / 20);
    const plot = histogramPlotPng([
      { title: 'original', series: [{ name: 'siteA', sorted: a }, { name: 'siteB', sorted: b }] },
      { title: 'nyul', series: [{ name: 'siteA', sorted: a }, { name: 'siteB', sorted: a }] },
    ], { panelWidth: 200, panelHeight: 100 });
    const png = decodePng(plot.png);
    expect([png.width, png.height]).toEqual([plot.width, plot.height]);
    expect(png.colorType).toBe(2);
    const count = (c: readonly number[]): number => {
      let n = 0;
      for (let p = 0; p < png.width * png.height; p++) if (png.rgba[4 * p] === c[0] && png.rgba[4 * p + 1] === c[1] && png.rgba[4 * p + 2] === c[2]) n++;
      return n;
    };
    // Both site colours are drawn (curves and legend), and there is black text.
    expect(count(SITE_COLOURS[0])).toBeGreaterThan(200);
    expect(count(SITE_COLOURS[1])).toBeGreaterThan(200);
    expect(count([0, 0, 0])).toBeGreaterThan(50);
  });

  it('renders text with the montage font and refuses empty series', () => {
    const t = textMask('AB');
    expect(t.width).toBe(12);
    expect(t.mask.reduce((s, v) => s + v, 0)).toBeGreaterThan(10);
    expect(() => histogramPlotPng([{ title: 'x', series: [] }])).toThrow(/non-empty series/);
  });
});
