/**
 * Greyscale PNG montages of 2-D images and volume slices for training and demo reports: tiles in a
 * grid with a few pixels of gap, each with an optional label drawn above it in a built-in 5×7 bitmap
 * font (upper case; characters outside the font are drawn as '?').
 *
 * Grey values come from each tile's window with volumes/window.ts's DICOM linear VOI LUT: `lower` → 0,
 * `upper` → 255, linear in between (round((x − lower)·255/(upper − lower))), clamped outside; NaN → 0.
 *
 * volumeMontage's display orientation: every volume is first reoriented to LPS voxel order (exact
 * permute/flip, only when it is not LPS already), so i runs right→left, j anterior→posterior and k
 * inferior→superior. Then
 *   axis 2 (axial):    columns = i, rows = j — radiological view: patient's right on the image's
 *                      left, anterior up;
 *   axis 1 (coronal):  columns = i, rows = k flipped — radiological, superior up;
 *   axis 0 (sagittal): columns = j, rows = k flipped — anterior on the left, superior up.
 * Pixels are voxels (no correction for anisotropic spacing).
 */
import { encodeGrayPng, MAX_PNG_PIXELS } from '../../volumes/png.ts';
import { VoxshiftError } from '../../volumes/errors.ts';
import { orientationCode } from '../../volumes/orientation.ts';
import { reorient } from '../../volumes/reorient.ts';
import { sliceAt, type Axis } from '../../volumes/slices.ts';
import { intensityStats } from '../../volumes/stats.ts';
import type { Volume, VoxelArray } from '../../volumes/volume.ts';
import { windowLevel } from '../../volumes/window.ts';

export interface DisplayWindow {
  lower: number;
  upper: number;
}

export interface MontageTile {
  /** width × height values, row-major, top row first. */
  data: Float32Array | ArrayLike<number>;
  width: number;
  height: number;
  /** Values mapped linearly to 0..255 (lower → 0, upper → 255), clamped. */
  window: DisplayWindow;
  label?: string;
}

export interface MontageOptions {
  /** Pixels between tiles and around the edge (4). */
  gap?: number;
  /** Grey of the background (0). */
  background?: number;
  /** Grey of the label text (255). */
  labelGray?: number;
  /** Integer nearest-neighbour magnification of every tile (1); labels are not magnified. */
  scale?: number;
}

export interface TileRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Montage {
  png: Buffer;
  width: number;
  height: number;
  /** Where each tile was drawn (pixels, after scaling), rows × columns as given. */
  tiles: TileRect[][];
}

// ---- 5×7 font ------------------------------------------------------------------------------------

const GLYPH_W = 5;
const GLYPH_H = 7;
/** Horizontal advance per character (glyph + 1 pixel). */
export const LABEL_ADVANCE = GLYPH_W + 1;
/** Height of the band above a tile that holds its label: 1 pixel, the text, 2 pixels. */
export const LABEL_BAND = GLYPH_H + 3;

// Rows top to bottom, '#' = ink.
const FONT_SOURCE: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '→': '..... ..#.. ...#. ##### ...#. ..#.. .....',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  _: '..... ..... ..... ..... ..... ..... #####',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
};

/** Each glyph as GLYPH_H × GLYPH_W booleans, row-major. */
const FONT = new Map<string, Uint8Array>(
  Object.entries(FONT_SOURCE).map(([ch, src]) => [ch, Uint8Array.from(src.replaceAll(' ', ''), (c) => (c === '#' ? 1 : 0))]),
);

/** The characters labels can show (lower-case letters are drawn upper case). */
export const LABEL_CHARACTERS = [...FONT.keys()].join('');

function glyphFor(ch: string): Uint8Array {
  return FONT.get(ch.toUpperCase()) ?? (FONT.get('?') as Uint8Array);
}

/** Draws `text` with its top-left corner at (x, y), clipped to columns < maxX and the image. */
function drawText(img: Uint8Array, imgW: number, imgH: number, text: string, x: number, y: number, maxX: number, gray: number): void {
  let cx = x;
  for (const ch of text) {
    if (cx + GLYPH_W > maxX) break;
    const g = glyphFor(ch);
    for (let r = 0; r < GLYPH_H; r++) {
      const py = y + r;
      if (py < 0 || py >= imgH) continue;
      for (let c = 0; c < GLYPH_W; c++) if (g[r * GLYPH_W + c]) img[py * imgW + cx + c] = gray;
    }
    cx += LABEL_ADVANCE;
  }
}

// ---- montage -------------------------------------------------------------------------------------

function checkInt(param: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must be an integer from ${min} to ${max}, got ${String(v)}`, { param });
  }
  return v;
}

function checkWindow(w: DisplayWindow, param: string): void {
  if (!(Number.isFinite(w?.lower) && Number.isFinite(w?.upper) && w.upper > w.lower)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param} must have finite lower < upper, got ${JSON.stringify(w)}`, { param });
  }
}

const VOXEL_ARRAYS = [Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array];

function isVoxelArray(a: ArrayLike<number>): a is VoxelArray {
  return VOXEL_ARRAYS.some((C) => a instanceof C);
}

/** A tile's grey values (width × height) through its window. */
function windowTile(tile: MontageTile, param: string): Uint8Array {
  checkInt(`${param}.width`, tile.width, 1, MAX_PNG_PIXELS);
  checkInt(`${param}.height`, tile.height, 1, MAX_PNG_PIXELS);
  if (tile.data?.length !== tile.width * tile.height) {
    throw new VoxshiftError('INVALID_ARGUMENT', `${param}.data must hold ${tile.width}×${tile.height} values, got ${String(tile.data?.length)}`, {
      param: `${param}.data`,
    });
  }
  checkWindow(tile.window, `${param}.window`);
  const { lower, upper } = tile.window;
  const data = isVoxelArray(tile.data) ? tile.data : Float64Array.from(tile.data);
  // windowLevel's centre/width for "lower → 0, upper → 255": c − ½ − (w − 1)/2 = lower, c − ½ + (w − 1)/2 = upper.
  return windowLevel({ data }, (lower + upper) / 2 + 0.5, upper - lower + 1);
}

/**
 * Lays `rows` of tiles out in a grid (every cell as large as the largest tile; a tile sits at the top
 * of its cell, centred across it; its label, if any, in a band above it) and encodes it as an 8-bit
 * greyscale PNG. Rows may have different lengths.
 */
export function renderMontage(rows: MontageTile[][], options: MontageOptions = {}): Montage {
  const gap = checkInt('gap', options.gap ?? 4, 0, 1000);
  const background = checkInt('background', options.background ?? 0, 0, 255);
  const labelGray = checkInt('labelGray', options.labelGray ?? 255, 0, 255);
  const scale = checkInt('scale', options.scale ?? 1, 1, 64);
  if (!Array.isArray(rows) || rows.length === 0 || rows.some((r) => !Array.isArray(r)) || rows.every((r) => r.length === 0)) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'rows must be a non-empty array of arrays of tiles with at least one tile', { param: 'rows' });
  }
  const grey = rows.map((row, r) => row.map((t, c) => windowTile(t, `rows[${r}][${c}]`)));
  const tiles = rows.flat();
  const cellW = Math.max(...tiles.map((t) => t.width)) * scale;
  const cellH = Math.max(...tiles.map((t) => t.height)) * scale;
  const band = tiles.some((t) => t.label !== undefined && t.label !== '') ? LABEL_BAND : 0;
  const cols = Math.max(...rows.map((r) => r.length));
  const width = gap + cols * (cellW + gap);
  const height = gap + rows.length * (band + cellH + gap);
  if (width * height > MAX_PNG_PIXELS) {
    throw new VoxshiftError('SIZE_LIMIT', `a montage of ${width}×${height} pixels is over the limit of ${MAX_PNG_PIXELS} pixels`, {
      param: 'rows',
      details: { width, height },
    });
  }
  const img = new Uint8Array(width * height).fill(background);
  const rects: TileRect[][] = rows.map((row, r) =>
    row.map((t, c) => {
      const cellX = gap + c * (cellW + gap);
      const cellY = gap + r * (band + cellH + gap);
      const w = t.width * scale;
      const h = t.height * scale;
      const x = cellX + Math.floor((cellW - w) / 2);
      const y = cellY + band;
      const src = grey[r][c];
      for (let py = 0; py < h; py++) {
        const srow = Math.floor(py / scale) * t.width;
        const o = (y + py) * width + x;
        if (scale === 1) img.set(src.subarray(srow, srow + w), o);
        else for (let px = 0; px < w; px++) img[o + px] = src[srow + Math.floor(px / scale)];
      }
      if (band > 0 && t.label) drawText(img, width, height, t.label, cellX, cellY + 1, cellX + cellW, labelGray);
      return { x, y, width: w, height: h };
    }),
  );
  return { png: encodeGrayPng(img, width, height), width, height, tiles: rects };
}

// ---- volumes -------------------------------------------------------------------------------------

/**
 * A display window for a volume: CT (modality 'CT' or units 'HU') [−1000, 1500] HU; 'normalized'
 * units (model space) [−1, 1]; 'probability' [0, 1]; labels [0, largest label]; anything else (MR,
 * arbitrary units) the 0.5th to 99.5th percentile of its finite voxels.
 */
export function windowFor(volume: Volume): DisplayWindow {
  const units = volume.meta.units;
  if (volume.kind !== 'label' && units !== 'label' && (volume.modality === 'CT' || units === 'HU')) return { lower: -1000, upper: 1500 };
  if (units === 'normalized') return { lower: -1, upper: 1 };
  if (units === 'probability') return { lower: 0, upper: 1 };
  const stats = intensityStats(volume);
  if (stats.count === 0) return { lower: 0, upper: 1 };
  if (volume.kind === 'label' || units === 'label') return { lower: Math.min(0, stats.min), upper: Math.max(stats.max, Math.min(0, stats.min) + 1) };
  const [lower, upper] = stats.percentiles([0.5, 99.5]);
  return upper > lower ? { lower, upper } : { lower, upper: lower + 1 };
}

export interface MontageVolume {
  volume: Volume;
  window: DisplayWindow;
  label?: string;
}

export interface VolumeMontageOptions extends MontageOptions {
  /** 2 axial (default), 1 coronal, 0 sagittal, in LPS voxel order (see the file comment). */
  axis?: Axis;
  /** Slice indices (in LPS voxel order), or a count of evenly spaced slices (3). */
  slices?: number[] | number;
}

const AXIS_LETTER: Record<Axis, string> = { 0: 'i', 1: 'j', 2: 'k' };

/** `count` interior slice indices evenly spaced over `n` slices: ⌊(s + 1)·n/(count + 1)⌋. */
export function evenlySpacedSlices(n: number, count: number): number[] {
  checkInt('slices', count, 1, n);
  return Array.from({ length: count }, (_, s) => Math.min(n - 1, Math.floor(((s + 1) * n) / (count + 1))));
}

function flipRows<T extends VoxelArray>(data: T, width: number, height: number): T {
  const out = data.slice() as T;
  for (let r = 0; r < height; r++) out.set(data.subarray((height - 1 - r) * width, (height - r) * width), r * width);
  return out;
}

/**
 * One row per slice position, one column per volume (e.g. input | output | reconstruction |
 * reference), each tile labelled "<label> <axis letter>:<index>". All volumes must have the same
 * shape (after reorientation to LPS) and one channel.
 */
export function volumeMontage(volumes: MontageVolume[], options: VolumeMontageOptions = {}): Montage {
  if (!Array.isArray(volumes) || volumes.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'volumes must be a non-empty array', { param: 'volumes' });
  }
  const axis = options.axis ?? 2;
  if (axis !== 0 && axis !== 1 && axis !== 2) {
    throw new VoxshiftError('INVALID_ARGUMENT', `axis must be 0, 1 or 2, got ${JSON.stringify(axis)}`, { param: 'axis' });
  }
  volumes.forEach((v, i) => {
    if (v.volume.channels !== 1) {
      throw new VoxshiftError('INVALID_ARGUMENT', `volumes[${i}] has ${v.volume.channels} channels; a montage shows one (take one with channelData first)`, {
        param: `volumes[${i}]`,
      });
    }
    checkWindow(v.window, `volumes[${i}].window`);
  });
  const lps = volumes.map((v) => (orientationCode(v.volume) === 'LPS' ? v.volume : reorient(v.volume, 'LPS')));
  const shape = lps[0].shape;
  lps.forEach((v, i) => {
    if (v.shape.some((n, a) => n !== shape[a])) {
      throw new VoxshiftError(
        'GEOMETRY_MISMATCH',
        `all volumes of a montage must have the same shape: volumes[0] is ${volumes[0].volume.shape.join('×')} (${orientationCode(volumes[0].volume)}), volumes[${i}] is ${volumes[i].volume.shape.join('×')} (${orientationCode(volumes[i].volume)})`,
        { param: 'volumes', details: { shapes: volumes.map((x) => [...x.volume.shape]) } },
      );
    }
  });
  const n = shape[axis];
  const spec = options.slices ?? 3;
  const indices = typeof spec === 'number' ? evenlySpacedSlices(n, spec) : spec;
  if (!Array.isArray(indices) || indices.length === 0) {
    throw new VoxshiftError('INVALID_ARGUMENT', `slices must be a count or a non-empty array of indices, got ${JSON.stringify(spec)}`, { param: 'slices' });
  }
  const rows = indices.map((index) =>
    lps.map((vol, c): MontageTile => {
      const s = sliceAt(vol, axis, index);
      const data = axis === 2 ? s.data : flipRows(s.data, s.width, s.height);
      const where = `${AXIS_LETTER[axis]}:${index}`;
      const label = volumes[c].label;
      return { data, width: s.width, height: s.height, window: volumes[c].window, label: label ? `${label} ${where}` : where };
    }),
  );
  return renderMontage(rows, options);
}
