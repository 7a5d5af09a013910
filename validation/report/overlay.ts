/**
 * Tri-planar RGB overlays for validation reports: one row per view (axial, coronal, sagittal)
 * through a point, one column per panel (e.g. source | synthetic | difference | reference), and a
 * region (a finding's voxels) tinted and outlined in every tile.
 *
 * Display orientation is montage.ts's (models3d/report): voxel axes are read in LPS order (exact
 * permutation/flips of the grid, through reorientMapping, without copying the volume), then
 *   axial:    columns = L (patient's right on the image's left), rows = P (anterior up);
 *   coronal:  columns = L, rows = S flipped (superior up);
 *   sagittal: columns = P (anterior on the left), rows = S flipped.
 * Unlike montage.ts, tiles are sampled (nearest neighbour) on square pixels of `pixelMm`, so a
 * 3 mm slice thickness is not squashed in the coronal and sagittal views.
 *
 * Region: pixels whose voxel is in the region are blended with the tint (α = TINT_ALPHA), and
 * region pixels with a 4-neighbour outside it are drawn in the tint at full strength (the outline).
 */
import { VoxshiftError } from '../../volumes/errors.ts';
import { encodeRgbPng } from '../../volumes/png.ts';
import { reorientMapping } from '../../volumes/reorient.ts';
import type { Volume } from '../../volumes/volume.ts';

export type View = 'axial' | 'coronal' | 'sagittal';
export const VIEWS: readonly View[] = ['axial', 'coronal', 'sagittal'];

export type Rgb = readonly [number, number, number];

/** Hallucinated regions are tinted red, removed ones cyan. */
export const TINTS: Readonly<Record<'hallucinated' | 'removed', Rgb>> = { hallucinated: [255, 40, 40], removed: [0, 200, 255] };
export const TINT_ALPHA = 0.45;

export interface OverlayPanel {
  title: string;
  /** The colour of voxel `p` (index into the grid's x-fastest data), written to out[0..2]. */
  color: (p: number, out: Uint8Array) => void;
}

export interface OverlayRegion {
  /** Is voxel `p` in the region? */
  has: (p: number) => boolean;
  tint: Rgb;
}

export interface OverlayOptions {
  /** The point the three slices go through, in the grid's voxel coordinates (continuous). */
  centerVoxel: readonly [number, number, number];
  regions?: OverlayRegion[];
  /** The longest side of a tile, in pixels (default 256); small grids are magnified at most 4×. */
  maxTilePixels?: number;
  /** Pixels between tiles and around the edge (4). */
  gap?: number;
}

export interface OverlayTile {
  view: View;
  panel: number;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The slice shown, as an index along the LPS-ordered axis. */
  lpsSlice: number;
}

export interface Overlay {
  png: Buffer;
  width: number;
  height: number;
  /** Millimetres per pixel in every tile. */
  pixelMm: number;
  tiles: OverlayTile[];
  /** The image pixel (x, y) showing grid voxel `ijk` in the tile of `view` and `panel` (the voxel must lie in that tile's slice to be visible). */
  pixelOf: (view: View, panel: number, ijk: readonly number[]) => [number, number];
}

type Geometry = Pick<Volume, 'shape' | 'spacing' | 'direction'>;

/** LPS axis order: in-plane (columns, rows) and the slice axis of each view, and whether rows are flipped. */
const LAYOUT: Readonly<Record<View, { u: number; v: number; w: number; flipRows: boolean }>> = {
  axial: { u: 0, v: 1, w: 2, flipRows: false },
  coronal: { u: 0, v: 2, w: 1, flipRows: true },
  sagittal: { u: 1, v: 2, w: 0, flipRows: true },
};

/** Grey panel: values through a window (lower → 0, upper → 255), NaN → 0. */
export function greyPanel(title: string, volume: Pick<Volume, 'data'>, window: { lower: number; upper: number }): OverlayPanel {
  const { lower, upper } = window;
  if (!(Number.isFinite(lower) && Number.isFinite(upper) && upper > lower)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `window for panel '${title}' must have finite lower < upper, got ${JSON.stringify(window)}`, { param: 'window' });
  }
  const scale = 255 / (upper - lower);
  const data = volume.data;
  return {
    title,
    color: (p, out) => {
      const v = data[p];
      const g = v >= lower ? (v <= upper ? Math.round((v - lower) * scale) : 255) : 0;
      out[0] = g;
      out[1] = g;
      out[2] = g;
    },
  };
}

export function renderOverlay(grid: Geometry, panels: OverlayPanel[], options: OverlayOptions): Overlay {
  if (panels.length === 0) throw new VoxshiftError('INVALID_ARGUMENT', 'renderOverlay needs at least one panel', { param: 'panels' });
  const maxTile = options.maxTilePixels ?? 256;
  const gap = options.gap ?? 4;
  if (!(Number.isInteger(maxTile) && maxTile >= 8 && maxTile <= 4096)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `maxTilePixels must be an integer in 8..4096, got ${String(maxTile)}`, { param: 'maxTilePixels' });
  }
  const m = reorientMapping(grid.direction, 'LPS');
  const n = [0, 1, 2].map((a) => grid.shape[m.from[a]]);
  const sp = [0, 1, 2].map((a) => grid.spacing[m.from[a]]);
  const stride = [1, grid.shape[0], grid.shape[0] * grid.shape[1]];
  /** Original index of LPS voxel (a0, a1, a2). */
  const indexOf = (l: readonly number[]): number => {
    let p = 0;
    for (let a = 0; a < 3; a++) {
      const c = m.flip[a] ? n[a] - 1 - l[a] : l[a];
      p += c * stride[m.from[a]];
    }
    return p;
  };
  const toLps = (ijk: readonly number[]): number[] => [0, 1, 2].map((a) => (m.flip[a] ? n[a] - 1 - ijk[m.from[a]] : ijk[m.from[a]]));
  const extent = [0, 1, 2].map((a) => n[a] * sp[a]);
  // magnify small grids up to 4× (nearest neighbour), never shrink below maxTile on the longest side
  const pixelMm = Math.max(Math.min(...sp) / 4, Math.max(...extent) / maxTile);
  const centre = toLps(options.centerVoxel).map((c, a) => Math.min(n[a] - 1, Math.max(0, Math.round(c))));

  const size = (view: View): [number, number] => {
    const { u, v } = LAYOUT[view];
    return [Math.max(1, Math.round(extent[u] / pixelMm)), Math.max(1, Math.round(extent[v] / pixelMm))];
  };
  const cellW = Math.max(...VIEWS.map((v) => size(v)[0]));
  const cellH = Math.max(...VIEWS.map((v) => size(v)[1]));
  const width = gap + panels.length * (cellW + gap);
  const height = gap + VIEWS.length * (cellH + gap);
  const img = new Uint8Array(width * height * 3).fill(24);
  const tiles: OverlayTile[] = [];
  const rgb = new Uint8Array(3);
  const regions = options.regions ?? [];

  VIEWS.forEach((view, r) => {
    const { u, v, w, flipRows } = LAYOUT[view];
    const [tw, th] = size(view);
    // voxel index along u / v of each pixel column / row
    const colVox = Int32Array.from({ length: tw }, (_, x) => Math.min(n[u] - 1, Math.floor(((x + 0.5) * pixelMm) / sp[u])));
    const rowVox = Int32Array.from({ length: th }, (_, y) => {
      const iv = Math.min(n[v] - 1, Math.floor(((y + 0.5) * pixelMm) / sp[v]));
      return flipRows ? n[v] - 1 - iv : iv;
    });
    const voxels = new Int32Array(tw * th);
    const l = [0, 0, 0];
    l[w] = centre[w];
    for (let y = 0; y < th; y++) {
      l[v] = rowVox[y];
      for (let x = 0; x < tw; x++) {
        l[u] = colVox[x];
        voxels[y * tw + x] = indexOf(l);
      }
    }
    // region membership per pixel (first region wins), for tint and outline
    const member = new Int16Array(tw * th).fill(-1);
    for (let q = 0; q < voxels.length; q++) {
      for (let g = 0; g < regions.length; g++) {
        if (regions[g].has(voxels[q])) {
          member[q] = g;
          break;
        }
      }
    }
    panels.forEach((panel, c) => {
      const x0 = gap + c * (cellW + gap) + Math.floor((cellW - tw) / 2);
      const y0 = gap + r * (cellH + gap);
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const q = y * tw + x;
          panel.color(voxels[q], rgb);
          const o = ((y0 + y) * width + x0 + x) * 3;
          const g = member[q];
          if (g < 0) {
            img[o] = rgb[0];
            img[o + 1] = rgb[1];
            img[o + 2] = rgb[2];
            continue;
          }
          const tint = regions[g].tint;
          const edge =
            (x > 0 && member[q - 1] !== g) || (x < tw - 1 && member[q + 1] !== g) || (y > 0 && member[q - tw] !== g) || (y < th - 1 && member[q + tw] !== g);
          for (let k = 0; k < 3; k++) img[o + k] = edge ? tint[k] : Math.round((1 - TINT_ALPHA) * rgb[k] + TINT_ALPHA * tint[k]);
        }
      }
      tiles.push({ view, panel: c, x: x0, y: y0, width: tw, height: th, lpsSlice: centre[w] });
    });
  });

  const pixelOf = (view: View, panel: number, ijk: readonly number[]): [number, number] => {
    const tile = tiles.find((t) => t.view === view && t.panel === panel);
    if (!tile) throw new VoxshiftError('INVALID_ARGUMENT', `no tile for view ${view} and panel ${panel}`, { param: 'panel' });
    const { u, v, flipRows } = LAYOUT[view];
    const l = toLps(ijk);
    const iv = flipRows ? n[v] - 1 - l[v] : l[v];
    return [tile.x + Math.floor(((l[u] + 0.5) * sp[u]) / pixelMm), tile.y + Math.floor(((iv + 0.5) * sp[v]) / pixelMm)];
  };
  return { png: encodeRgbPng(img, width, height), width, height, pixelMm, tiles, pixelOf };
}
