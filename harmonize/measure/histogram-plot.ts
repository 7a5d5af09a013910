/**
 * A PNG plot of intensity histograms: one panel per method (original, each harmonizer), one
 * coloured curve per site (density, each site's curve integrates to 1 over the panel's range), a
 * legend of site colours at the top and the panel's title and intensity range in the 5×7 font of
 * models3d/report/montage.ts (rendered there and copied in as a mask).
 */
import { decodePng, encodeRgbPng } from '../../volumes/png.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { LABEL_ADVANCE, LABEL_BAND, renderMontage } from '../../models3d/report/montage.ts';

export interface HistogramSeries {
  name: string;
  /** Ascending sample (e.g. a site's pooled foreground intensities). */
  sorted: Float64Array;
}

export interface HistogramPanel {
  title: string;
  series: HistogramSeries[];
}

export interface HistogramPlotOptions {
  columns?: number;
  /** Plot area of a panel, pixels. */
  panelWidth?: number;
  panelHeight?: number;
  bins?: number;
}

export const SITE_COLOURS: readonly (readonly [number, number, number])[] = [
  [228, 26, 28],
  [55, 126, 184],
  [77, 175, 74],
  [152, 78, 163],
  [255, 127, 0],
  [166, 86, 40],
  [247, 129, 191],
  [153, 153, 153],
];

/** Text as a mask (1 = ink), width × height, using the montage font. */
export function textMask(text: string): { mask: Uint8Array; width: number; height: number } {
  const width = Math.max(1, text.length * LABEL_ADVANCE);
  const m = renderMontage([[{ data: new Uint8Array(width), width, height: 1, window: { lower: 0, upper: 1 }, label: text }]], { gap: 0, background: 0, labelGray: 255 });
  const png = decodePng(m.png);
  const height = LABEL_BAND;
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = png.rgba[(y * png.width + x) * 4] > 127 ? 1 : 0;
  return { mask, width, height };
}

class Canvas {
  readonly rgb: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Uint8Array(width * height * 3).fill(255);
  }
  set(x: number, y: number, c: readonly number[]): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (Math.round(y) * this.width + Math.round(x)) * 3;
    this.rgb[o] = c[0];
    this.rgb[o + 1] = c[1];
    this.rgb[o + 2] = c[2];
  }
  line(x0: number, y0: number, x1: number, y1: number, c: readonly number[]): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let s = 0; s <= steps; s++) this.set(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps, c);
  }
  rect(x: number, y: number, w: number, h: number, c: readonly number[], fill = false): void {
    if (fill) {
      for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) this.set(xx, yy, c);
      return;
    }
    this.line(x, y, x + w - 1, y, c);
    this.line(x, y + h - 1, x + w - 1, y + h - 1, c);
    this.line(x, y, x, y + h - 1, c);
    this.line(x + w - 1, y, x + w - 1, y + h - 1, c);
  }
  text(s: string, x: number, y: number, c: readonly number[] = [0, 0, 0]): number {
    const t = textMask(s);
    for (let yy = 0; yy < t.height; yy++) for (let xx = 0; xx < t.width; xx++) if (t.mask[yy * t.width + xx]) this.set(x + xx, y + yy, c);
    return t.width;
  }
}

function quantile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * (sorted[Math.min(sorted.length - 1, lo + 1)] - sorted[lo]);
}

function formatNumber(v: number): string {
  const a = Math.abs(v);
  return a >= 1000 || (a > 0 && a < 0.01) ? v.toExponential(1).toUpperCase() : a >= 10 ? v.toFixed(0) : v.toFixed(2);
}

/** Renders the panels (range per panel: the 0.5th..99.5th percentile of all its series). */
export function histogramPlotPng(panels: readonly HistogramPanel[], options: HistogramPlotOptions = {}): { png: Buffer; width: number; height: number } {
  if (panels.length === 0 || panels.some((p) => p.series.length === 0 || p.series.some((s) => s.sorted.length === 0))) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'a histogram plot needs panels with non-empty series', { param: 'panels' });
  }
  const cols = options.columns ?? Math.min(3, panels.length);
  const pw = options.panelWidth ?? 300;
  const ph = options.panelHeight ?? 160;
  const bins = options.bins ?? 120;
  const margin = 10;
  const titleH = LABEL_BAND + 2;
  const axisH = LABEL_BAND + 2;
  const legendH = LABEL_BAND + 8;
  const rows = Math.ceil(panels.length / cols);
  const width = margin + cols * (pw + margin);
  const height = legendH + margin + rows * (titleH + ph + axisH + margin);
  const canvas = new Canvas(width, height);
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const colour = (name: string): readonly number[] => SITE_COLOURS[names.indexOf(name) % SITE_COLOURS.length];
  let lx = margin;
  for (const n of names) {
    canvas.rect(lx, margin, 12, 7, colour(n), true);
    lx += 16 + canvas.text(n, lx + 16, margin - 1) + 12;
  }
  panels.forEach((panel, k) => {
    const px = margin + (k % cols) * (pw + margin);
    const py = legendH + margin + Math.floor(k / cols) * (titleH + ph + axisH + margin);
    canvas.text(panel.title, px, py);
    const top = py + titleH;
    canvas.rect(px, top, pw, ph, [120, 120, 120]);
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of panel.series) {
      lo = Math.min(lo, quantile(s.sorted, 0.005));
      hi = Math.max(hi, quantile(s.sorted, 0.995));
    }
    if (!(hi > lo)) hi = lo + 1;
    const dens = panel.series.map((s) => {
      const c = new Float64Array(bins);
      for (let i = 0; i < s.sorted.length; i++) {
        const b = Math.floor(((s.sorted[i] - lo) / (hi - lo)) * bins);
        if (b >= 0 && b < bins) c[b]++;
      }
      for (let b = 0; b < bins; b++) c[b] /= s.sorted.length;
      return c;
    });
    const ymax = Math.max(...dens.map((d) => Math.max(...d))) || 1;
    panel.series.forEach((s, si) => {
      const d = dens[si];
      let prev: [number, number] | undefined;
      for (let b = 0; b < bins; b++) {
        const x = px + 1 + ((b + 0.5) / bins) * (pw - 3);
        const y = top + ph - 2 - (d[b] / ymax) * (ph - 6);
        if (prev) canvas.line(prev[0], prev[1], x, y, colour(s.name));
        prev = [x, y];
      }
    });
    canvas.text(formatNumber(lo), px, top + ph + 2, [80, 80, 80]);
    const hiText = formatNumber(hi);
    canvas.text(hiText, px + pw - hiText.length * LABEL_ADVANCE, top + ph + 2, [80, 80, 80]);
  });
  return { png: encodeRgbPng(canvas.rgb, width, height), width, height };
}
