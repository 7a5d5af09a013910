/**
 * NIfTI-1 / NIfTI-2 / Analyze 7.5 bytes → Volume. Handles gzip, both byte orders, header extensions
 * (vox_offset honoured), .hdr/.img pairs (image bytes passed separately), every common datatype,
 * scl_slope/scl_inter and the sform/qform choice. See nifti-geometry.ts for the geometry rules.
 */
import { VoxshiftError } from '../errors.ts';
import {
  createVolume,
  MAX_VOXELS,
  type IntensityUnits,
  type Modality,
  type Volume,
  type VolumeKind,
  type VolumeMeta,
  type VolumeWarning,
  type VoxelArray,
} from '../volume.ts';
import { niftiDatatype, type NiftiDatatype } from './nifti-datatypes.ts';
import { niftiGeometry } from './nifti-geometry.ts';
import { readNiftiHeader, sniffHeaderSize, type NiftiHeader } from './nifti-header.ts';
import { gunzipNifti, isGzip } from './gunzip.ts';
import { applyScaling, decodeVoxels } from './nifti-voxels.ts';

const NIFTI_INTENT_LABEL = 1002;

/** What the caller knows about the image; NIfTI headers do not say it reliably. */
export interface NiftiReadOptions {
  /** Default 'unknown' (the descrip/intent fields are not trusted for this). */
  modality?: Modality;
  /** 'label' for segmentations and atlases. Default: 'label' if intent_code is NIFTI_INTENT_LABEL, else 'intensity'. */
  kind?: VolumeKind;
  /** Intensity units; default 'label' for labels, else 'arbitrary'. 'HU' only when the caller says so. */
  units?: IntensityUnits;
}

export interface ParseNiftiOptions extends NiftiReadOptions {
  /** Name used in errors and meta.source. */
  file: string;
  /** For a .hdr/.img pair: the .img bytes (raw or gzipped). */
  imageBytes?: Uint8Array;
  /** Name of the image file for errors (default: `file` with .hdr → .img). */
  imageFile?: string;
}

/** Whether the bytes handed to the decoder may be reused in place (no defensive copy). */
interface Ownership {
  header: boolean;
  image: boolean;
}

interface Layout {
  shape: [number, number, number];
  /** Product of dims 4..dim[0]. */
  volumes: number;
  voxels: number;
  datatype: NiftiDatatype;
  payloadBytes: number;
  /** Where the voxels start in the image bytes. */
  offset: number;
}

function layoutOf(h: NiftiHeader, file: string, warnings: VolumeWarning[]): Layout {
  const ndim = h.dims[0];
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) {
    throw new VoxshiftError('MALFORMED_HEADER', `dim[0] is ${ndim}, expected 1..7`, { file, details: { dim: h.dims } });
  }
  const used = h.dims.slice(1, ndim + 1);
  if (!used.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new VoxshiftError('MALFORMED_HEADER', `dim[1..${ndim}] = [${used.join(', ')}] must be positive integers`, {
      file,
      details: { dim: h.dims },
    });
  }
  const shape: [number, number, number] = [used[0], used[1] ?? 1, used[2] ?? 1];
  const volumes = used.slice(3).reduce((a, b) => a * b, 1);
  const voxels = shape[0] * shape[1] * shape[2];
  const code = h.datatype;
  const datatype = niftiDatatype(code);
  if (!datatype) {
    throw new VoxshiftError('MALFORMED_HEADER', `unknown datatype code ${code}`, { file, details: { datatype: code } });
  }
  if (!datatype.dtype) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `datatype ${datatype.name} (code ${code}) is not supported; convert it to a real type`, {
      file,
      details: { datatype: datatype.name },
    });
  }
  const elements = voxels * volumes * (datatype.components ?? 1);
  if (voxels > MAX_VOXELS || elements > MAX_VOXELS) {
    throw new VoxshiftError('SIZE_LIMIT', `dimensions [${used.join(', ')}] give ${elements} voxels, more than the ${MAX_VOXELS} limit`, {
      file,
      details: { dim: h.dims },
    });
  }
  if (h.bitpix !== datatype.bytes * 8) {
    warnings.push({
      code: 'NIFTI_BITPIX_MISMATCH',
      message: `bitpix is ${h.bitpix} but datatype ${datatype.name} has ${datatype.bytes * 8} bits; using the datatype`,
    });
  }
  const minOffset = h.sizeofHdr + 4;
  let offset = h.voxOffset;
  if (!Number.isFinite(offset) || offset < 0) {
    throw new VoxshiftError('MALFORMED_HEADER', `vox_offset is ${offset}`, { file });
  }
  offset = Math.floor(offset);
  if (!h.pair && offset < minOffset) {
    warnings.push({ code: 'NIFTI_VOX_OFFSET_FIXED', message: `vox_offset ${h.voxOffset} is inside the header; using ${minOffset}` });
    offset = minOffset;
  }
  return { shape, volumes, voxels, datatype, payloadBytes: voxels * volumes * datatype.bytes, offset };
}

function inflate(bytes: Uint8Array, file: string, sizeOf: (head: Uint8Array) => number | undefined): Uint8Array {
  return gunzipNifti(bytes, { file, headBytes: 544, sizeFromHead: sizeOf });
}

/** Total bytes a single-file NIfTI needs, from its first bytes; undefined when that cannot be told. */
function singleFileSize(head: Uint8Array, file: string): number | undefined {
  if (sniffHeaderSize(head) === undefined) return undefined;
  try {
    const h = readNiftiHeader(head, file);
    if (h.pair) return undefined;
    const lay = layoutOf(h, file, []);
    return lay.offset + lay.payloadBytes;
  } catch {
    return undefined;
  }
}

function imageFileName(file: string): string {
  return /\.hdr(\.gz)?$/i.test(file) ? file.replace(/\.hdr(\.gz)?$/i, (_m, gz: string | undefined) => `.img${gz ?? ''}`) : `${file} (.img)`;
}

function scalingOf(h: NiftiHeader, dt: NiftiDatatype, file: string, warnings: VolumeWarning[]): { slope: number; inter: number } | undefined {
  const { sclSlope: slope, sclInter: inter } = h;
  const interNote = inter !== 0 && Number.isFinite(inter) ? `; scl_inter ${inter} is ignored too` : '';
  if (slope === 0) {
    warnings.push({ code: 'NIFTI_SCL_SLOPE_ZERO', message: `scl_slope is 0, which means no scaling: voxels used as stored${interNote}` });
    return undefined;
  }
  if (!Number.isFinite(slope)) {
    warnings.push({ code: 'NIFTI_SCL_SLOPE_INVALID', message: `scl_slope is ${slope}: no scaling applied${interNote}` });
    return undefined;
  }
  if (!Number.isFinite(inter)) {
    throw new VoxshiftError('MALFORMED_HEADER', `scl_slope is ${slope} but scl_inter is ${inter}`, { file });
  }
  if (slope === 1 && inter === 0) return undefined;
  if (dt.components !== undefined) {
    warnings.push({ code: 'NIFTI_SCL_IGNORED_RGB', message: `scl_slope ${slope} / scl_inter ${inter} ignored for ${dt.name} data` });
    return undefined;
  }
  if (h.flavour === 'analyze') {
    warnings.push({ code: 'NIFTI_ANALYZE_SPM_SCALE', message: `Analyze funused1/funused2 read as SPM scale ${slope} and offset ${inter}` });
  }
  return { slope, inter };
}

export function decodeNifti(bytes: Uint8Array, options: ParseNiftiOptions, own: Ownership): Volume {
  const { file } = options;
  const warnings: VolumeWarning[] = [];
  let headerBytes = bytes;
  let ownsHeader = own.header;
  if (isGzip(bytes)) {
    headerBytes = inflate(bytes, file, (head) => singleFileSize(head, file));
    ownsHeader = true;
  }
  const h = readNiftiHeader(headerBytes, file);
  const lay = layoutOf(h, file, warnings);

  let image = headerBytes;
  let imageFile = file;
  let ownsImage = ownsHeader;
  if (h.pair) {
    imageFile = options.imageFile ?? imageFileName(file);
    if (!options.imageBytes) {
      throw new VoxshiftError(
        'FILE_NOT_FOUND',
        `${h.flavour === 'analyze' ? 'Analyze' : 'NIfTI'} header without its image data: ${imageFile} is needed`,
        { file, details: { imageFile } },
      );
    }
    image = options.imageBytes;
    ownsImage = own.image;
    if (isGzip(image)) {
      const need = lay.offset + lay.payloadBytes;
      image = inflate(image, imageFile, () => need);
      ownsImage = true;
    }
  }
  const end = lay.offset + lay.payloadBytes;
  if (image.length < end) {
    throw new VoxshiftError(
      'TRUNCATED_FILE',
      `image data is ${Math.max(0, image.length - lay.offset)} bytes but the header needs ${lay.payloadBytes} (from byte ${lay.offset})`,
      { file: imageFile, details: { expectedBytes: end, actualBytes: image.length } },
    );
  }

  const scaling = scalingOf(h, lay.datatype, file, warnings);
  let data: VoxelArray = decodeVoxels(
    {
      payload: image.subarray(lay.offset, end),
      datatype: lay.datatype,
      littleEndian: h.littleEndian,
      voxels: lay.voxels,
      volumes: lay.volumes,
      owned: ownsImage,
    },
    warnings,
  );
  if (scaling) data = applyScaling(data, scaling.slope, scaling.inter);

  const geometry = niftiGeometry(h, file, warnings);
  // intent_code NIFTI_INTENT_LABEL (1002) is an explicit statement, unlike descrip or other intents.
  const kind = options.kind ?? (h.intentCode === NIFTI_INTENT_LABEL ? 'label' : 'intensity');
  const nifti: NonNullable<VolumeMeta['nifti']> = {
    version: h.version,
    xform: geometry.xform,
    sformCode: h.sformCode,
    qformCode: h.qformCode,
    datatype: lay.datatype.name,
    littleEndian: h.littleEndian,
    sclSlope: h.sclSlope,
    sclInter: h.sclInter,
  };
  return createVolume({
    data,
    shape: lay.shape,
    channels: lay.volumes * (lay.datatype.components ?? 1),
    spacing: geometry.spacing,
    origin: geometry.origin,
    direction: geometry.direction,
    kind,
    modality: options.modality ?? 'unknown',
    meta: {
      source: file,
      format: 'nifti',
      units: options.units ?? (kind === 'label' ? 'label' : 'arbitrary'),
      warnings,
      ...(h.description.trim() ? { description: h.description.trim() } : {}),
      nifti,
      extra: {
        niftiFlavour: h.flavour,
        niftiDims: h.dims.slice(0, h.dims[0] + 1),
        ...(h.intentCode ? { niftiIntentCode: h.intentCode } : {}),
        ...(h.intentName ? { niftiIntentName: h.intentName } : {}),
        ...(h.extensions.length ? { niftiExtensions: h.extensions } : {}),
      },
    },
    history: [{ op: 'readNifti', params: { file } }],
  });
}

/**
 * Parses NIfTI bytes (raw or gzipped). For a .hdr/.img pair, pass the header as `bytes` and the image
 * as `options.imageBytes`. The caller's buffers are never modified or aliased by the result.
 */
export function parseNifti(bytes: Uint8Array, options: ParseNiftiOptions): Volume {
  return decodeNifti(bytes, options, { header: false, image: false });
}
