/**
 * Reads a DICOM series (a file, a folder or a .zip) into one Volume.
 *
 * Two passes keep memory low: the first parses every file's header only (up to the pixel data) to
 * find the series and lay out the grid; the output array is then allocated once, and the second
 * pass parses one file at a time, decodes its frames straight into the output and drops the file.
 * Peak memory is the output plus one file plus one decoded frame (or, when uneven spacing is
 * resampled, a float32 copy of the series on top: 2× float32 voxels).
 */
import { VoxshiftError, isVoxshiftError, wrapErrorsAsync } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { allocate, createVolume } from '../volume.ts';
import type { DType, Modality, Vec3, Volume, VolumeWarning, VoxelArray } from '../volume.ts';
import { readImageHeader } from './dicom-header.ts';
import type { DicomImageHeader } from './dicom-header.ts';
import { checkDecodable, decodeFrame, storedRange } from './decode-frame.ts';
import { dicomSources } from './dicom-sources.ts';
import type { DicomSource, ZipLimits } from './dicom-sources.ts';
import { parseDicomBytes, PIXEL_DATA_TAG } from './parse-dicom.ts';
import { layoutSeries, orthonormalCosines } from './series-layout.ts';
import type { FrameRef, SeriesLayout } from './series-layout.ts';
import { resampleSlices } from './resample-slices.ts';

export interface DicomSeriesSummary {
  /** What to pass as `seriesInstanceUid` to pick this series: the UID, or `UID#n` when one UID holds several stacks. */
  id: string;
  seriesInstanceUid: string;
  description: string;
  modality: string;
  seriesNumber?: number;
  files: number;
  frames: number;
  rows: number;
  columns: number;
}

export interface SkippedFile {
  file: string;
  code: ErrorCode;
  reason: string;
}

export interface DicomScan {
  kind: 'file' | 'folder' | 'zip';
  series: DicomSeriesSummary[];
  /** Files that are not DICOM images (DICOMDIR, README, SR, unreadable...), with why. */
  skipped: SkippedFile[];
}

export interface ReadDicomOptions {
  /** The series to read (a UID or an `id` from listDicomSeries); required when the input holds several. */
  seriesInstanceUid?: string;
  /** What to do when slices are unevenly spaced: resample linearly (default, with a warning) or fail. */
  unevenSpacing?: 'resample' | 'error';
  /** Called after each file of the series is decoded (second pass). */
  onProgress?: (done: number, total: number) => void;
  zipLimits?: ZipLimits;
}

interface SeriesGroup {
  summary: DicomSeriesSummary;
  frames: FrameRef[];
  sources: Map<DicomImageHeader, DicomSource>;
}

/** 'resample' bridges gaps up to this many times the median spacing (two missing slices); larger gaps fail. */
export const MAX_RESAMPLED_GAP = 3;

/** The id of a series whose files have no SeriesInstanceUID (anonymised data). */
export const NO_UID = 'no-series-instance-uid';

const MODALITIES: readonly Modality[] = ['CT', 'MR', 'PT', 'NM', 'US', 'XA', 'CR', 'DX', 'SEG', 'OT'];

function modalityOf(m: string): Modality {
  if (m === '') return 'unknown';
  return (MODALITIES as readonly string[]).includes(m) ? (m as Modality) : 'OT';
}

/** Frames of one file; a Siemens mosaic gives one frame per tile, positioned as dcm2niix does. */
function framesOf(h: DicomImageHeader): FrameRef[] {
  if (!h.mosaic) return h.frames.map((frame) => ({ header: h, frame, position: frame.position }));
  const f = h.frames[0];
  const { tilesPerSide, images } = h.mosaic;
  const tileRows = h.rows / tilesPerSide;
  const tileCols = h.columns / tilesPerSide;
  if (!Number.isInteger(tileRows) || !Number.isInteger(tileCols) || !f.position || !f.orientation || !f.pixelSpacing) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `Siemens mosaic of ${images} images cannot be split (${h.columns}×${h.rows} pixels, ${tilesPerSide}×${tilesPerSide} tiles, geometry ${f.position ? 'present' : 'missing'})`, {
      file: h.file,
    });
  }
  const { row, col, normal } = orthonormalCosines(f.orientation, h.file);
  const sn = h.mosaic.sliceNormal ?? normal;
  const step = h.spacingBetweenSlices ?? h.sliceThickness ?? 1;
  const [dy, dx] = f.pixelSpacing;
  const ox = (dx * (h.columns - tileCols)) / 2;
  const oy = (dy * (h.rows - tileRows)) / 2;
  const p0: Vec3 = [
    f.position[0] + row[0] * ox + col[0] * oy,
    f.position[1] + row[1] * ox + col[1] * oy,
    f.position[2] + row[2] * ox + col[2] * oy,
  ];
  const refs: FrameRef[] = [];
  for (let t = 0; t < images; t++) {
    refs.push({ header: h, frame: f, tile: t, position: [p0[0] + t * step * sn[0], p0[1] + t * step * sn[1], p0[2] + t * step * sn[2]] });
  }
  return refs;
}

function orientationKey(refs: FrameRef[], o: readonly number[] | undefined): number {
  // index of the first frame whose orientation matches within 1e-3 per component
  return refs.findIndex((r) => {
    const p = r.frame.orientation;
    if (!p || !o) return p === o;
    return p.every((v, i) => Math.abs(v - o[i]) < 1e-3);
  });
}

/** Bytes read for the first pass when a file is larger: enough for nearly every classic header. */
const HEAD_BYTES = 64 * 1024;

/**
 * Parses everything before the pixel data. From the file's first HEAD_BYTES when the pixel data
 * element starts inside them (every earlier element then lies wholly inside too); otherwise —
 * long headers, deflated or gzipped data sets — from the whole file. Pass 2 reads each file once more
 * for its pixels, so the first pass should not read them too.
 */
async function parseHeader(src: DicomSource): Promise<ReturnType<typeof parseDicomBytes>> {
  if (src.readHead && src.size > HEAD_BYTES) {
    const head = await src.readHead(HEAD_BYTES);
    try {
      const parsed = parseDicomBytes(head, src.name, { untilTag: PIXEL_DATA_TAG });
      const pixels = parsed.dataSet.elements[PIXEL_DATA_TAG];
      if (pixels && pixels.dataOffset <= head.length) return parsed;
    } catch {
      // the header does not fit the prefix: read the whole file below
    }
  }
  return parseDicomBytes(await src.read(), src.name, { untilTag: PIXEL_DATA_TAG });
}

async function scanInput(input: string, limits?: ZipLimits): Promise<{ kind: DicomScan['kind']; groups: SeriesGroup[]; skipped: SkippedFile[] }> {
  const { kind, sources } = await dicomSources(input, limits);
  const skipped: SkippedFile[] = [];
  const byKey = new Map<string, { refs: FrameRef[]; clusters: FrameRef[][] }>();
  const sourceOf = new Map<DicomImageHeader, DicomSource>();
  for (const src of sources) {
    let header: DicomImageHeader;
    try {
      const parsed = await parseHeader(src);
      header = readImageHeader(parsed.dataSet, src.name, parsed.transferSyntax);
      if (kind === 'file') checkDecodable(header);
    } catch (e) {
      // anything unexpected is still reported against the file, never as a bare dependency error
      const err = isVoxshiftError(e)
        ? e
        : new VoxshiftError('MALFORMED_HEADER', `header could not be read (${e instanceof Error ? e.message : String(e)})`, { file: src.name, cause: e });
      if (kind === 'file') throw err;
      skipped.push({ file: src.name, code: err.shortCode, reason: err.message });
      continue;
    }
    sourceOf.set(header, src);
    const frames = framesOf(header);
    const key = `${header.seriesInstanceUid}|${header.rows}x${header.columns}|${header.samplesPerPixel}|${header.mosaic ? 'mosaic' : ''}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = { refs: [], clusters: [] };
      byKey.set(key, entry);
    }
    for (const ref of frames) {
      const heads = entry.clusters.map((c) => c[0]);
      const i = orientationKey(heads, ref.frame.orientation);
      if (i >= 0) entry.clusters[i].push(ref);
      else entry.clusters.push([ref]);
    }
  }
  const groups: SeriesGroup[] = [];
  const perUid = new Map<string, number>();
  for (const entry of byKey.values()) for (const c of entry.clusters) perUid.set(c[0].header.seriesInstanceUid, (perUid.get(c[0].header.seriesInstanceUid) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const entry of byKey.values()) {
    for (const cluster of entry.clusters) {
      const h = cluster[0].header;
      const uid = h.seriesInstanceUid;
      const n = (seen.get(uid) ?? 0) + 1;
      seen.set(uid, n);
      const files = new Set(cluster.map((r) => r.header));
      const sources = new Map<DicomImageHeader, DicomSource>();
      for (const fh of files) sources.set(fh, sourceOf.get(fh) as DicomSource);
      groups.push({
        summary: {
          id: (perUid.get(uid) ?? 1) > 1 ? `${uid || NO_UID}#${n}` : uid || NO_UID,
          seriesInstanceUid: uid,
          description: h.seriesDescription,
          modality: h.modality,
          seriesNumber: h.seriesNumber,
          files: files.size,
          frames: cluster.length,
          rows: h.mosaic ? h.rows / h.mosaic.tilesPerSide : h.rows,
          columns: h.mosaic ? h.columns / h.mosaic.tilesPerSide : h.columns,
        },
        frames: cluster,
        sources,
      });
    }
  }
  return { kind, groups, skipped };
}

/** Every series in `input`, and the files that were skipped and why. */
export async function scanDicom(input: string, options: { zipLimits?: ZipLimits } = {}): Promise<DicomScan> {
  const { kind, groups, skipped } = await scanInput(input, options.zipLimits);
  return { kind, series: groups.map((g) => g.summary), skipped };
}

/** The series found in a file, folder or zip (headers only). */
export async function listDicomSeries(input: string): Promise<DicomSeriesSummary[]> {
  return (await scanDicom(input)).series;
}

function describeSeries(s: DicomSeriesSummary): string {
  return `${s.id} "${s.description}" ${s.modality || '?'} (${s.frames} frame${s.frames === 1 ? '' : 's'} in ${s.files} file${s.files === 1 ? '' : 's'}, ${s.columns}×${s.rows})`;
}

/**
 * Output type: uint8 for 8-bit unscaled data; int16 when every frame's rescale is slope 1 with an
 * integer intercept and the values fit int16 (decided from BitsStored when it can be, else after
 * decoding into an int32 staging array: the CT case of 16-bit stored values with intercept -1024);
 * float32 otherwise (non-integer rescale, float pixels, resampled slices, or integers beyond int16).
 */
function chooseDtype(layout: SeriesLayout, resample: boolean): { dtype: DType; narrowAfter: boolean } {
  if (resample) return { dtype: 'float32', narrowAfter: false };
  let lo = Infinity;
  let hi = -Infinity;
  let unscaled = true;
  for (const slice of layout.slices) {
    for (const ref of slice) {
      const h = ref.header;
      if (h.floatPixels !== 'none') return { dtype: 'float32', narrowAfter: false };
      const { slope, intercept } = ref.frame;
      if (slope !== 1 || !Number.isInteger(intercept)) return { dtype: 'float32', narrowAfter: false };
      if (intercept !== 0) unscaled = false;
      const [a, b] = storedRange(h);
      lo = Math.min(lo, a + intercept);
      hi = Math.max(hi, b + intercept);
    }
  }
  if (unscaled && lo >= 0 && hi <= 255) return { dtype: 'uint8', narrowAfter: false };
  if (lo >= -32768 && hi <= 32767) return { dtype: 'int16', narrowAfter: false };
  return { dtype: 'int32', narrowAfter: true };
}

/** int32 staging → int16 when every value fits, else float32 (exact below 2^24), else kept int32. */
function narrow(data: Int32Array): VoxelArray {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo >= -32768 && hi <= 32767) return Int16Array.from(data);
  if (lo >= -(2 ** 24) && hi <= 2 ** 24) return Float32Array.from(data);
  return data;
}

function targetOffsets(layout: SeriesLayout): number[] {
  const u = layout.uneven;
  if (!u) return layout.sliceOffsets;
  const extent = layout.sliceOffsets[layout.sliceOffsets.length - 1];
  const n = Math.max(2, Math.round(extent / u.median) + 1);
  const step = extent / (n - 1);
  return Array.from({ length: n }, (_, i) => i * step);
}

async function decodeInto(group: SeriesGroup, layout: SeriesLayout, out: VoxelArray, warnings: VolumeWarning[], onProgress?: (d: number, t: number) => void): Promise<void> {
  const plane = layout.rows * layout.columns;
  const slices = layout.slices.length;
  const n = plane * slices;
  const slot = new Map<FrameRef, { k: number; c: number }>();
  layout.slices.forEach((refs, k) => refs.forEach((r, c) => slot.set(r, { k, c })));
  const byFile = new Map<DicomImageHeader, FrameRef[]>();
  for (const r of slot.keys()) {
    const list = byFile.get(r.header) ?? [];
    list.push(r);
    byFile.set(r.header, list);
  }
  const isInt = !(out instanceof Float32Array || out instanceof Float64Array);
  let mono1Warned = false;
  let done = 0;
  const total = byFile.size;
  for (const [h, refs] of byFile) {
    await wrapErrorsAsync('INTERNAL', 'unexpected error while decoding', { file: h.file }, () => decodeFile(h, refs));
    done++;
    onProgress?.(done, total);
  }

  async function decodeFile(h: DicomImageHeader, refs: FrameRef[]): Promise<void> {
    const src = group.sources.get(h) as DicomSource;
    const parsed = parseDicomBytes(await src.read(), src.name);
    const decoded = new Map<number, Float64Array>();
    const [lo, hi] = storedRange(h);
    const mono1 = h.photometric === 'MONOCHROME1';
    if (mono1 && !mono1Warned) {
      warnings.push({ code: 'DICOM_MONOCHROME1_INVERTED', message: `MONOCHROME1 stored values inverted (v → ${lo} + ${hi} - v) before rescale, so that higher means brighter` });
      mono1Warned = true;
    }
    for (const ref of refs) {
      let v = decoded.get(ref.frame.index);
      if (!v) {
        v = await decodeFrame(parsed.dataSet, h, ref.frame.index);
        if (ref.tile !== undefined) decoded.set(ref.frame.index, v);
      }
      const { k, c } = slot.get(ref) as { k: number; c: number };
      const { slope, intercept } = ref.frame;
      const spp = h.samplesPerPixel;
      for (let s = 0; s < spp; s++) {
        const base = (c * spp + s) * n + k * plane;
        if (ref.tile !== undefined && h.mosaic) {
          const tps = h.mosaic.tilesPerSide;
          const tr = Math.floor(ref.tile / tps);
          const tc = ref.tile % tps;
          for (let y = 0; y < layout.rows; y++) {
            const srcRow = (tr * layout.rows + y) * h.columns + tc * layout.columns;
            for (let x = 0; x < layout.columns; x++) {
              let val = v[srcRow + x];
              if (mono1) val = lo + hi - val;
              const r = val * slope + intercept;
              out[base + y * layout.columns + x] = isInt ? Math.round(r) : r;
            }
          }
        } else if (!mono1 && slope === 1 && Number.isInteger(intercept)) {
          // The common case (CT, most MR): stored integers plus an integer offset, exact without rounding.
          const off = s * plane;
          for (let i = 0; i < plane; i++) out[base + i] = v[off + i] + intercept;
        } else {
          const off = s * plane;
          for (let i = 0; i < plane; i++) {
            let val = v[off + i];
            if (mono1) val = lo + hi - val;
            const r = val * slope + intercept;
            out[base + i] = isInt ? Math.round(r) : r;
          }
        }
      }
    }
  }
}

function unitsOf(h: DicomImageHeader): 'HU' | 'arbitrary' {
  return h.modality === 'CT' && (h.rescaleType === '' || h.rescaleType.toUpperCase() === 'HU') ? 'HU' : 'arbitrary';
}

/** Reads one series from a DICOM file, folder or .zip into a Volume (LPS geometry, rescaled values). */
export async function readDicomSeries(input: string, options: ReadDicomOptions = {}): Promise<Volume> {
  const unevenMode = options.unevenSpacing ?? 'resample';
  if (unevenMode !== 'resample' && unevenMode !== 'error') {
    throw new VoxshiftError('INVALID_ARGUMENT', `unevenSpacing must be 'resample' or 'error', got ${String(unevenMode)}`, { param: 'unevenSpacing' });
  }
  const { groups, skipped } = await scanInput(input, options.zipLimits);
  if (groups.length === 0) {
    const why = skipped.slice(0, 5).map((s) => `${s.file}: ${s.code}`).join('; ');
    throw new VoxshiftError('NO_SERIES', `no DICOM image series found (${skipped.length} file(s) skipped${why ? `: ${why}` : ''})`, {
      file: input,
      details: { skipped },
    });
  }
  let group: SeriesGroup;
  if (options.seriesInstanceUid !== undefined) {
    const want = options.seriesInstanceUid;
    const matches = groups.filter((g) => g.summary.id === want || g.summary.seriesInstanceUid === want);
    if (matches.length === 0) {
      throw new VoxshiftError('NO_SERIES', `no series ${want}; found: ${groups.map((g) => describeSeries(g.summary)).join('; ')}`, {
        file: input,
        param: 'seriesInstanceUid',
        details: { series: groups.map((g) => g.summary) },
      });
    }
    if (matches.length > 1) {
      throw new VoxshiftError('MULTIPLE_SERIES', `series ${want} holds ${matches.length} stacks (orientations or sizes); choose one of: ${matches.map((g) => describeSeries(g.summary)).join('; ')}`, {
        file: input,
        param: 'seriesInstanceUid',
        details: { series: matches.map((g) => g.summary) },
      });
    }
    group = matches[0];
  } else if (groups.length > 1) {
    throw new VoxshiftError('MULTIPLE_SERIES', `${groups.length} series found; choose one with seriesInstanceUid: ${groups.map((g) => describeSeries(g.summary)).join('; ')}`, {
      file: input,
      param: 'seriesInstanceUid',
      details: { series: groups.map((g) => g.summary) },
    });
  } else {
    group = groups[0];
  }
  for (const h of group.sources.keys()) checkDecodable(h);

  const layout = layoutSeries(group.frames);
  const h0 = layout.slices[0][0].header;
  const spp = h0.samplesPerPixel;
  if (spp > 1 && layout.channels > 1) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `colour images with ${layout.channels} frames per position (colour time series) are not supported`, { file: input });
  }
  const warnings: VolumeWarning[] = layout.warnings.map((w) => ({ ...w }));
  if (layout.uneven && unevenMode === 'error') {
    throw new VoxshiftError('UNEVEN_SPACING', `slices are unevenly spaced: gaps ${layout.uneven.gaps.map((g) => g.toFixed(3)).join(', ')} mm (median ${layout.uneven.median.toFixed(3)})`, {
      file: input,
      details: { gaps: layout.uneven.gaps, median: layout.uneven.median },
    });
  }
  if (layout.uneven) {
    const maxGap = Math.max(...layout.uneven.gaps);
    if (maxGap > MAX_RESAMPLED_GAP * layout.uneven.median) {
      throw new VoxshiftError(
        'UNEVEN_SPACING',
        `slices are missing: a gap of ${maxGap.toFixed(3)} mm is more than ${MAX_RESAMPLED_GAP}× the median spacing ${layout.uneven.median.toFixed(3)} mm, too large to interpolate (gaps ${layout.uneven.gaps.map((g) => g.toFixed(3)).join(', ')})`,
        { file: input, details: { gaps: layout.uneven.gaps, median: layout.uneven.median } },
      );
    }
  }
  const resample = layout.uneven !== undefined;
  const { dtype, narrowAfter } = chooseDtype(layout, resample);
  const plane = layout.rows * layout.columns;
  const channels = layout.channels * spp;
  const staged = allocate(dtype, plane * layout.slices.length * channels);
  await decodeInto(group, layout, staged, warnings, options.onProgress);

  let data = narrowAfter ? narrow(staged as Int32Array) : staged;
  let spacing = layout.spacing;
  let slices = layout.slices.length;
  if (resample && layout.uneven) {
    const targets = targetOffsets(layout);
    data = resampleSlices(staged as Float32Array, plane, channels, layout.sliceOffsets, targets);
    slices = targets.length;
    spacing = [layout.spacing[0], layout.spacing[1], targets.length > 1 ? targets[1] : layout.spacing[2]];
    warnings.push({
      code: 'DICOM_UNEVEN_SPACING_RESAMPLED',
      message: `slices were unevenly spaced (gaps ${layout.uneven.gaps.map((g) => g.toFixed(3)).join(', ')} mm); linearly resampled to ${slices} slices ${spacing[2].toFixed(4)} mm apart over the same extent`,
    });
  }
  if (h0.mosaic) warnings.push({ code: 'DICOM_MOSAIC_SPLIT', message: `Siemens mosaic split into ${h0.mosaic.images} slices per image` });

  const dicomTags: Record<string, string> = { ...h0.tags };
  return createVolume({
    data,
    shape: [layout.columns, layout.rows, slices],
    channels,
    spacing,
    origin: layout.origin,
    direction: layout.direction,
    // a DICOM SEG holds segment masks: labels, resampled with nearest neighbour downstream
    kind: h0.modality === 'SEG' ? 'label' : 'intensity',
    modality: modalityOf(h0.modality),
    meta: {
      source: input,
      format: 'dicom',
      units: h0.modality === 'SEG' ? 'label' : unitsOf(h0),
      warnings,
      description: h0.seriesDescription || undefined,
      dicom: dicomTags,
      extra: {
        files: group.sources.size,
        frames: group.frames.length,
        ...(skipped.length ? { skippedFiles: skipped.map((s) => ({ file: s.file, code: s.code })) } : {}),
        ...(layout.channels > 1 ? { channelsAre: 'frames at the same position (time points, echoes or image types), in temporal/acquisition/instance order' } : {}),
        ...(spp > 1 ? { channelsAre: 'RGB samples' } : {}),
      },
    },
    history: [{ op: 'readDicomSeries', params: { input, seriesInstanceUid: group.summary.id, unevenSpacing: unevenMode } }],
  });
}

