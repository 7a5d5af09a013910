/**
 * The facts about one DICOM image file that the series reader needs, read from a parsed dataset:
 * pixel format, series identity, and the geometry and rescale of each frame (from the classic
 * top-level tags, from RT Dose's GridFrameOffsetVector, or from the enhanced multi-frame
 * functional groups).
 */
import type { DataSet, Element } from 'dicom-parser';
import { VoxshiftError } from '../errors.ts';
import type { Vec3 } from '../volume.ts';

export interface FrameInfo {
  /** Index of the frame inside its file. */
  index: number;
  position?: Vec3;
  /** Row cosine (direction of increasing column index) then column cosine, LPS. */
  orientation?: readonly number[];
  /** [row spacing (between rows, y), column spacing (between columns, x)] in mm. */
  pixelSpacing?: readonly [number, number];
  sliceThickness?: number;
  slope: number;
  intercept: number;
  /** Ordering keys for frames sharing one position (time points, echoes, image types). */
  temporal?: number;
  stackId?: string;
  dimensionIndex?: readonly number[];
}

export interface DicomImageHeader {
  file: string;
  transferSyntax: string;
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesDescription: string;
  seriesNumber?: number;
  modality: string;
  manufacturer: string;
  imageType: string;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  numberOfFrames: number;
  /** Float (7FE0,0008) or double (7FE0,0009) pixel data instead of integer (7FE0,0010). */
  floatPixels: 'none' | 'float32' | 'float64';
  instanceNumber?: number;
  acquisitionNumber?: number;
  temporalPositionIdentifier?: number;
  echoNumber?: number;
  spacingBetweenSlices?: number;
  sliceThickness?: number;
  rescaleType: string;
  /** True when the geometry came from the enhanced multi-frame functional groups. */
  enhanced: boolean;
  /** Frames had no position of their own (legacy multi-frame); positions are synthesised by the reader. */
  framesWithoutPositions: boolean;
  imagerPixelSpacingUsed: boolean;
  frames: FrameInfo[];
  /** Siemens mosaic: number of tiles holding images, and the tile grid size. */
  mosaic?: { images: number; tilesPerSide: number; sliceNormal?: Vec3 };
  /** Identifying tags kept in the volume's meta. */
  tags: Record<string, string>;
}

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

function clean(s: string | undefined): string {
  return (s ?? '').replace(/\0/g, '').trim();
}

function str(ds: DataSet, tag: string): string {
  try {
    return clean(ds.string(tag));
  } catch {
    return '';
  }
}

function num(ds: DataSet, tag: string, index = 0): number | undefined {
  const s = str(ds, tag);
  if (s === '') return undefined;
  const parts = s.split('\\');
  if (index >= parts.length) return undefined;
  const v = Number(parts[index].trim());
  return Number.isFinite(v) ? v : undefined;
}

function nums(ds: DataSet, tag: string, count: number): number[] | undefined {
  const s = str(ds, tag);
  if (s === '') return undefined;
  const parts = s.split('\\').map((p) => Number(p.trim()));
  if (parts.length < count || !parts.slice(0, count).every((v) => Number.isFinite(v))) return undefined;
  return parts.slice(0, count);
}

/** A US value; tolerates VR UN and implicit VR (dicom-parser reads the bytes with the dataset's byte order). */
function us(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length < 2) return undefined;
  try {
    return ds.uint16(tag);
  } catch {
    return undefined;
  }
}

function firstItem(ds: DataSet | undefined, tag: string): DataSet | undefined {
  if (!ds) return undefined;
  const el: Element | undefined = ds.elements[tag];
  return el?.items?.[0]?.dataSet;
}

function sequenceItems(ds: DataSet, tag: string): DataSet[] {
  const el = ds.elements[tag];
  return (el?.items ?? []).map((it) => it.dataSet).filter((d): d is DataSet => d !== undefined);
}

function vec3(v: number[] | undefined): Vec3 | undefined {
  return v ? [v[0], v[1], v[2]] : undefined;
}

function spacingOf(ds: DataSet | undefined): [number, number] | undefined {
  if (!ds) return undefined;
  const ps = nums(ds, 'x00280030', 2);
  return ps && ps[0] > 0 && ps[1] > 0 ? [ps[0], ps[1]] : undefined;
}

/** Reads the header facts; throws NO_PIXEL_DATA / MISSING_TAG / NOT_DICOM for non-image objects. */
export function readImageHeader(ds: DataSet, file: string, transferSyntax: string): DicomImageHeader {
  const sopClassUid = str(ds, 'x00080016') || str(ds, 'x00020002');
  if (sopClassUid === MEDIA_STORAGE_DIRECTORY || ds.elements.x00041220) {
    throw new VoxshiftError('NOT_DICOM', 'this is a DICOMDIR (a media directory), not an image', { file });
  }
  const pixelTag = ds.elements.x7fe00010 ? 'x7fe00010' : ds.elements.x7fe00008 ? 'x7fe00008' : ds.elements.x7fe00009 ? 'x7fe00009' : undefined;
  const rows = us(ds, 'x00280010');
  const columns = us(ds, 'x00280011');
  if (rows === undefined || columns === undefined) {
    if (!pixelTag) {
      throw new VoxshiftError('NO_PIXEL_DATA', `no pixel data: not an image (SOP class ${sopClassUid || 'unknown'}, modality ${str(ds, 'x00080060') || 'unknown'})`, { file });
    }
    throw new VoxshiftError('MISSING_TAG', `missing ${rows === undefined ? 'Rows (0028,0010)' : 'Columns (0028,0011)'}`, { file });
  }
  if (rows === 0 || columns === 0) throw new VoxshiftError('MALFORMED_HEADER', `image size ${columns}×${rows}`, { file });
  const bitsAllocated = us(ds, 'x00280100');
  if (bitsAllocated === undefined && pixelTag !== 'x7fe00008' && pixelTag !== 'x7fe00009') {
    throw new VoxshiftError('MISSING_TAG', 'missing BitsAllocated (0028,0100)', { file });
  }
  const floatPixels = pixelTag === 'x7fe00008' ? 'float32' : pixelTag === 'x7fe00009' ? 'float64' : 'none';
  const ba = floatPixels === 'float32' ? 32 : floatPixels === 'float64' ? 64 : (bitsAllocated as number);
  const bitsStored = us(ds, 'x00280101') ?? ba;
  const highBit = us(ds, 'x00280102') ?? bitsStored - 1;
  const framesText = str(ds, 'x00280008');
  let numberOfFrames = 1;
  if (framesText !== '') {
    numberOfFrames = Number(framesText);
    if (!Number.isInteger(numberOfFrames) || numberOfFrames < 1) {
      throw new VoxshiftError('MALFORMED_HEADER', `NumberOfFrames (0028,0008) is "${framesText}", expected a positive integer`, { file });
    }
  }
  const modality = str(ds, 'x00080060');
  const imageType = str(ds, 'x00080008');
  const slope = num(ds, 'x00281053') ?? 1;
  const intercept = num(ds, 'x00281052') ?? 0;
  const doseScaling = modality === 'RTDOSE' ? num(ds, 'x3004000e') : undefined;
  let pixelSpacing = spacingOf(ds);
  let imagerPixelSpacingUsed = false;
  if (!pixelSpacing) {
    const ips = nums(ds, 'x00181164', 2);
    if (ips && ips[0] > 0 && ips[1] > 0) {
      pixelSpacing = [ips[0], ips[1]];
      imagerPixelSpacingUsed = true;
    }
  }
  const position = vec3(nums(ds, 'x00200032', 3));
  const orientation = nums(ds, 'x00200037', 6);
  const sliceThickness = num(ds, 'x00180050');
  const spacingBetweenSlices = num(ds, 'x00180088');

  const shared = firstItem(ds, 'x52009229');
  const perFrame = sequenceItems(ds, 'x52009230');
  const enhanced = perFrame.length > 0 || shared !== undefined;
  const frames: FrameInfo[] = [];
  let framesWithoutPositions = false;
  if (enhanced) {
    if (perFrame.length > 0 && perFrame.length !== numberOfFrames) {
      throw new VoxshiftError('MALFORMED_HEADER', `PerFrameFunctionalGroupsSequence has ${perFrame.length} items for ${numberOfFrames} frames`, { file });
    }
    for (let f = 0; f < numberOfFrames; f++) {
      const pf = perFrame[f];
      const pick = (seq: string): DataSet | undefined => firstItem(pf, seq) ?? firstItem(shared, seq);
      const pos = pick('x00209113');
      const ori = pick('x00209116');
      const meas = pick('x00289110');
      const pvt = pick('x00289145');
      const content = firstItem(pf, 'x00209111');
      let dimensionIndex: number[] | undefined;
      if (content && content.elements.x00209157) {
        const el = content.elements.x00209157;
        dimensionIndex = [];
        for (let i = 0; i * 4 < el.length; i++) dimensionIndex.push(content.uint32('x00209157', i) ?? 0);
      }
      const temporal = content ? (content.uint32('x00209128') ?? undefined) : undefined;
      frames.push({
        index: f,
        position: pos ? vec3(nums(pos, 'x00200032', 3)) : position,
        orientation: (ori ? nums(ori, 'x00200037', 6) : undefined) ?? orientation,
        pixelSpacing: spacingOf(meas) ?? pixelSpacing,
        sliceThickness: (meas ? num(meas, 'x00180050') : undefined) ?? sliceThickness,
        slope: (pvt ? num(pvt, 'x00281053') : undefined) ?? slope,
        intercept: (pvt ? num(pvt, 'x00281052') : undefined) ?? intercept,
        temporal,
        stackId: content ? str(content, 'x00209056') || undefined : undefined,
        dimensionIndex,
      });
    }
    if (frames.some((fr) => fr.position === undefined)) framesWithoutPositions = numberOfFrames > 1;
  } else {
    const offsets = numberOfFrames > 1 ? nums(ds, 'x3004000c', numberOfFrames) : undefined;
    const normal = orientation ? cross(orientation) : undefined;
    for (let f = 0; f < numberOfFrames; f++) {
      let p = position;
      if (offsets && position && normal) {
        // RT Dose: offsets along the normal relative to the first frame (PS3.3 C.8.8.3.2).
        const d = offsets[f] - offsets[0];
        p = [position[0] + d * normal[0], position[1] + d * normal[1], position[2] + d * normal[2]];
      }
      frames.push({
        index: f,
        position: numberOfFrames > 1 && !offsets ? undefined : p,
        orientation,
        pixelSpacing,
        sliceThickness,
        slope: doseScaling !== undefined ? doseScaling * slope : slope,
        intercept,
      });
    }
    framesWithoutPositions = numberOfFrames > 1 && !offsets;
  }

  let mosaic: DicomImageHeader['mosaic'];
  const manufacturer = str(ds, 'x00080070');
  if (/MOSAIC/i.test(imageType) && /SIEMENS/i.test(manufacturer)) {
    const images = us(ds, 'x0019100a');
    if (images && images > 1) mosaic = { images, tilesPerSide: Math.ceil(Math.sqrt(images)), sliceNormal: siemensSliceNormal(ds) };
  }

  const tags: Record<string, string> = {};
  const keep: [string, string][] = [
    ['PatientID', 'x00100020'], ['StudyInstanceUID', 'x0020000d'], ['SeriesInstanceUID', 'x0020000e'], ['SeriesNumber', 'x00200011'],
    ['SeriesDescription', 'x0008103e'], ['Modality', 'x00080060'], ['Manufacturer', 'x00080070'], ['ManufacturerModelName', 'x00081090'],
    ['SOPClassUID', 'x00080016'], ['FrameOfReferenceUID', 'x00200052'], ['BodyPartExamined', 'x00180015'], ['ImageType', 'x00080008'],
    ['PhotometricInterpretation', 'x00280004'], ['RescaleType', 'x00281054'], ['ProtocolName', 'x00181030'],
  ];
  for (const [name, tag] of keep) {
    const v = str(ds, tag);
    if (v !== '') tags[name] = v;
  }
  tags.TransferSyntaxUID = transferSyntax;

  return {
    file,
    transferSyntax,
    sopClassUid,
    sopInstanceUid: str(ds, 'x00080018'),
    seriesInstanceUid: str(ds, 'x0020000e'),
    seriesDescription: str(ds, 'x0008103e'),
    seriesNumber: num(ds, 'x00200011'),
    modality,
    manufacturer,
    imageType,
    rows,
    columns,
    samplesPerPixel: us(ds, 'x00280002') ?? 1,
    photometric: str(ds, 'x00280004').toUpperCase() || 'MONOCHROME2',
    bitsAllocated: ba,
    bitsStored,
    highBit,
    pixelRepresentation: us(ds, 'x00280103') ?? 0,
    planarConfiguration: us(ds, 'x00280006') ?? 0,
    numberOfFrames,
    floatPixels,
    instanceNumber: num(ds, 'x00200013'),
    acquisitionNumber: num(ds, 'x00200012'),
    temporalPositionIdentifier: num(ds, 'x00200100'),
    echoNumber: num(ds, 'x00180086'),
    spacingBetweenSlices,
    sliceThickness,
    rescaleType: str(ds, 'x00281054'),
    enhanced,
    framesWithoutPositions,
    imagerPixelSpacingUsed,
    frames,
    mosaic,
    tags,
  };
}

/** Row cosine × column cosine: the slice normal. */
export function cross(o: readonly number[]): Vec3 {
  return [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
}

/**
 * Siemens CSA image header (0029,1010), "SV10" layout: the SliceNormalVector element gives the
 * direction in which mosaic tiles are stacked (it can be opposite to row × column).
 */
function siemensSliceNormal(ds: DataSet): Vec3 | undefined {
  const el = ds.elements.x00291010;
  if (!el || el.length < 16) return undefined;
  const b = ds.byteArray;
  const start = el.dataOffset;
  const end = start + el.length;
  if (end > b.length) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const text = (p: number, n: number): string => {
    let s = '';
    for (let i = 0; i < n && b[p + i] !== 0; i++) s += String.fromCharCode(b[p + i]);
    return s;
  };
  if (text(start, 4) !== 'SV10') return undefined;
  const count = dv.getUint32(start + 8, true);
  let p = start + 16;
  for (let t = 0; t < count && t < 512 && p + 84 <= end; t++) {
    const name = text(p, 64);
    const nItems = dv.getUint32(p + 76, true);
    p += 84;
    const values: string[] = [];
    for (let i = 0; i < nItems && i < 512 && p + 16 <= end; i++) {
      const len = dv.getUint32(p + 4, true);
      p += 16;
      if (len > 0) values.push(text(p, len).trim());
      p += Math.ceil(len / 4) * 4;
    }
    if (name === 'SliceNormalVector') {
      const v = values.slice(0, 3).map(Number);
      return v.length === 3 && v.every(Number.isFinite) ? [v[0], v[1], v[2]] : undefined;
    }
  }
  return undefined;
}
