/**
 * Writes a volume as a DICOM series: one uncompressed Part-10 file per slice (k), explicit VR little
 * endian. CT → CT Image Storage, MR → MR Image Storage, anything else (and label maps) → Secondary
 * Capture Image Storage with the image plane tags kept, which dcm2niix and pydicom honour.
 *
 * Pixel layout: DICOM columns run along i and rows along j, so Columns = shape[0], Rows = shape[1],
 * ImageOrientationPatient = [direction column 0, direction column 1], PixelSpacing = [spacing j,
 * spacing i] (row spacing first), and slice k sits at origin + direction·diag(spacing)·[0, 0, k].
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VoxshiftError } from '../errors.ts';
import type { Volume } from '../volume.ts';
import { encodePart10, formatDs, isAscii, type DicomElement } from './dicom-writer-encode.ts';
import { choosePixelEncoding, encodePixels } from './dicom-writer-pixels.ts';
import { checkTemplateRecord, readTemplateFromPath, TEMPLATE_TAGS, type DicomTemplate, type TemplateKeyword } from './dicom-writer-template.ts';
import { newUid } from './uid.ts';

export const SOP_CLASS = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  SC: '1.2.840.10008.5.1.4.1.1.7',
} as const;

export interface WriteDicomOptions {
  /** Patient/study tags to carry: a keyword → value record, or a source DICOM file or folder. */
  template?: Record<string, string> | string;
  seriesDescription?: string;
  seriesNumber?: number;
  /** Defaults to the volume's modality when CT or MR; otherwise (and for label maps) Secondary Capture. */
  modality?: 'CT' | 'MR';
  /** An organisation UID root for new UIDs; default is the registration-free 2.25 form. */
  uidRoot?: string;
  /** Write into a non-empty folder, replacing this writer's own files (IM#####.dcm) there. */
  overwrite?: boolean;
}

export interface WriteDicomResult {
  files: string[];
  seriesInstanceUid: string;
  studyInstanceUid: string;
  sopClassUid: string;
  /** How real values were stored: real = stored × slope + intercept. */
  rescale: { slope: number; intercept: number; signed: boolean; lossless: boolean; maxAbsError: number };
}

const FILE_PATTERN = /^IM\d{5}\.dcm$/;

function dicomDateTime(now: Date): { date: string; time: string } {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return {
    date: `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`,
    time: `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`,
  };
}

function checkVolume(vol: Volume): void {
  if (vol.channels !== 1) {
    throw new VoxshiftError('INVALID_VOLUME', `a DICOM series holds one channel; this volume has ${vol.channels}`, {
      param: 'vol.channels',
    });
  }
  if (vol.shape[0] > 65535 || vol.shape[1] > 65535) {
    throw new VoxshiftError('SIZE_LIMIT', `slices of ${vol.shape[0]}×${vol.shape[1]} exceed DICOM's 65535 rows/columns`, {
      param: 'vol.shape',
    });
  }
  if (vol.shape[2] > 99999) {
    throw new VoxshiftError('SIZE_LIMIT', `${vol.shape[2]} slices exceed the 99999 this writer numbers`, { param: 'vol.shape' });
  }
}

async function prepareOutDir(outDir: string, overwrite: boolean): Promise<void> {
  const info = await stat(outDir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new VoxshiftError('INVALID_ARGUMENT', 'output path exists and is not a folder', { file: outDir, param: 'outDir' });
  }
  if (info !== undefined) {
    const names = await readdir(outDir);
    if (names.length > 0 && !overwrite) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `output folder is not empty (${names.length} entries); pass overwrite: true to replace a series written there`,
        { file: outDir, param: 'outDir' },
      );
    }
    for (const name of names.filter((n) => FILE_PATTERN.test(n))) await rm(join(outDir, name));
    return;
  }
  await mkdir(outDir, { recursive: true }).catch((e: unknown) => {
    throw new VoxshiftError('WRITE_FAILED', 'cannot create output folder', { file: outDir, param: 'outDir', cause: e });
  });
}

function chooseSopClass(vol: Volume, modality: WriteDicomOptions['modality']): { sop: string; modality: string } {
  if (modality !== undefined && modality !== 'CT' && modality !== 'MR') {
    throw new VoxshiftError('INVALID_ARGUMENT', `modality must be 'CT' or 'MR', got ${String(modality)}`, { param: 'modality' });
  }
  const m = modality ?? (vol.kind === 'label' ? undefined : vol.modality);
  if (m === 'CT') return { sop: SOP_CLASS.CT, modality: 'CT' };
  if (m === 'MR') return { sop: SOP_CLASS.MR, modality: 'MR' };
  return { sop: SOP_CLASS.SC, modality: 'OT' };
}

function sliceElements(
  vol: Volume,
  k: number,
  pixelBytes: Uint8Array,
  common: readonly DicomElement[],
  sopClassUid: string,
  sopInstanceUid: string,
): DicomElement[] {
  const { origin: o, direction: d, spacing: s } = vol;
  const ipp = [0, 1, 2].map((r) => o[r] + d[r * 3 + 2] * s[2] * k);
  const normal = [
    d[3] * d[7] - d[6] * d[4],
    d[6] * d[1] - d[0] * d[7],
    d[0] * d[4] - d[3] * d[1],
  ];
  const sliceLocation = ipp[0] * normal[0] + ipp[1] * normal[1] + ipp[2] * normal[2];
  return [
    ...common,
    { tag: 0x00080016, vr: 'UI', value: sopClassUid },
    { tag: 0x00080018, vr: 'UI', value: sopInstanceUid },
    { tag: 0x00200013, vr: 'IS', value: String(k + 1) },
    { tag: 0x00200032, vr: 'DS', value: ipp.map(formatDs) },
    { tag: 0x00201041, vr: 'DS', value: formatDs(sliceLocation) },
    { tag: 0x7fe00010, vr: 'OW', value: pixelBytes },
  ];
}

/**
 * Writes `vol` as a new DICOM series in `outDir` (created if missing; an existing non-empty folder
 * is an error unless `overwrite`). Returns the files in slice order and the new series UID.
 */
export async function writeDicomSeries(vol: Volume, outDir: string, options: WriteDicomOptions = {}): Promise<WriteDicomResult> {
  checkVolume(vol);
  if (typeof outDir !== 'string' || outDir === '') {
    throw new VoxshiftError('INVALID_ARGUMENT', 'outDir must be a non-empty path', { param: 'outDir' });
  }
  if (options.seriesNumber !== undefined && (!Number.isInteger(options.seriesNumber) || options.seriesNumber < 0 || options.seriesNumber > 2147483647)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `seriesNumber must be a non-negative integer, got ${options.seriesNumber}`, {
      param: 'seriesNumber',
    });
  }
  const { sop, modality } = chooseSopClass(vol, options.modality);
  const enc = choosePixelEncoding(vol.data, vol.kind, 'vol.data');
  let template: DicomTemplate = {};
  if (typeof options.template === 'string') template = await readTemplateFromPath(options.template);
  else if (options.template !== undefined) template = checkTemplateRecord(options.template);

  const uid = (): string => newUid(options.uidRoot);
  const seriesInstanceUid = uid();
  const studyInstanceUid = template.StudyInstanceUID ?? uid();
  const frameOfReferenceUid = template.FrameOfReferenceUID ?? uid();
  const { date, time } = dicomDateTime(new Date());
  const t = (kw: TemplateKeyword, fallback: string): DicomElement =>
    ({ tag: TEMPLATE_TAGS[kw].tag, vr: TEMPLATE_TAGS[kw].vr, value: template[kw] ?? fallback }) as DicomElement;

  const d = vol.direction;
  const s = vol.spacing;
  const windowWidth = Math.max(enc.max - enc.min, 1);
  // LO holds one value of at most 64 characters; a backslash would split it into several.
  const description = (options.seriesDescription ?? vol.meta.description ?? 'voxshift').replace(/\\/g, '/').slice(0, 64);
  const derivation = `voxshift: ${vol.history.map((h) => h.op).join(' > ') || 'written from a volume'}`.slice(0, 1024);
  const common: DicomElement[] = [
    { tag: 0x00080008, vr: 'CS', value: ['DERIVED', 'SECONDARY'] },
    { tag: 0x00080012, vr: 'DA', value: date },
    { tag: 0x00080013, vr: 'TM', value: time },
    t('StudyDate', date),
    { tag: 0x00080021, vr: 'DA', value: date },
    { tag: 0x00080023, vr: 'DA', value: date },
    t('StudyTime', time),
    { tag: 0x00080031, vr: 'TM', value: time },
    { tag: 0x00080033, vr: 'TM', value: time },
    t('AccessionNumber', ''),
    { tag: 0x00080060, vr: 'CS', value: modality },
    // Secondary Capture: Conversion Type (type 1), Patient Orientation (type 2C; empty, IOP/IPP are given).
    ...(sop === SOP_CLASS.SC
      ? ([
          { tag: 0x00080064, vr: 'CS', value: 'WSD' },
          { tag: 0x00200020, vr: 'CS', value: '' },
        ] as DicomElement[])
      : []),
    { tag: 0x00080070, vr: 'LO', value: 'voxshift' },
    t('ReferringPhysicianName', ''),
    ...(template.StudyDescription !== undefined ? [t('StudyDescription', '')] : []),
    { tag: 0x0008103e, vr: 'LO', value: description },
    { tag: 0x00082111, vr: 'ST', value: derivation },
    t('PatientName', 'Anonymous'),
    t('PatientID', 'VOXSHIFT'),
    t('PatientBirthDate', ''),
    t('PatientSex', ''),
    ...(template.PatientAge !== undefined ? [t('PatientAge', '')] : []),
    { tag: 0x00180050, vr: 'DS', value: formatDs(s[2]) },
    { tag: 0x00180088, vr: 'DS', value: formatDs(s[2]) },
    ...(modality === 'MR'
      ? ([
          { tag: 0x00180020, vr: 'CS', value: 'RM' },
          { tag: 0x00180021, vr: 'CS', value: 'NONE' },
          { tag: 0x00180022, vr: 'CS', value: '' },
          { tag: 0x00180023, vr: 'CS', value: '3D' },
          { tag: 0x00180081, vr: 'DS', value: '' },
          { tag: 0x00180091, vr: 'IS', value: '' },
        ] as DicomElement[])
      : []),
    ...(modality === 'CT' ? ([{ tag: 0x00180060, vr: 'DS', value: '' }] as DicomElement[]) : []),
    { tag: 0x00185100, vr: 'CS', value: '' },
    { tag: 0x0020000d, vr: 'UI', value: studyInstanceUid },
    { tag: 0x0020000e, vr: 'UI', value: seriesInstanceUid },
    t('StudyID', ''),
    { tag: 0x00200011, vr: 'IS', value: String(options.seriesNumber ?? 1) },
    { tag: 0x00200012, vr: 'IS', value: '1' },
    { tag: 0x00200037, vr: 'DS', value: [d[0], d[3], d[6], d[1], d[4], d[7]].map(formatDs) },
    { tag: 0x00200052, vr: 'UI', value: frameOfReferenceUid },
    { tag: 0x00201040, vr: 'LO', value: '' },
    { tag: 0x00280002, vr: 'US', value: [1] },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: [vol.shape[1]] },
    { tag: 0x00280011, vr: 'US', value: [vol.shape[0]] },
    { tag: 0x00280030, vr: 'DS', value: [formatDs(s[1]), formatDs(s[0])] },
    { tag: 0x00280100, vr: 'US', value: [16] },
    { tag: 0x00280101, vr: 'US', value: [16] },
    { tag: 0x00280102, vr: 'US', value: [15] },
    { tag: 0x00280103, vr: 'US', value: [enc.signed ? 1 : 0] },
    { tag: 0x00281050, vr: 'DS', value: formatDs((enc.min + enc.max) / 2) },
    { tag: 0x00281051, vr: 'DS', value: formatDs(windowWidth) },
    { tag: 0x00281052, vr: 'DS', value: enc.interceptDs },
    { tag: 0x00281053, vr: 'DS', value: enc.slopeDs },
    ...(modality === 'CT' ? [] : ([{ tag: 0x00281054, vr: 'LO', value: 'US' }] as DicomElement[])),
  ];
  const texts = common.flatMap((e) => (typeof e.value === 'string' ? [e.value] : Array.isArray(e.value) ? e.value : []));
  if (!texts.every((v) => typeof v !== 'string' || isAscii(v))) {
    common.push({ tag: 0x00080005, vr: 'CS', value: 'ISO_IR 192' });
  }

  await prepareOutDir(outDir, options.overwrite === true);
  const perSlice = vol.shape[0] * vol.shape[1];
  const files: string[] = [];
  for (let k = 0; k < vol.shape[2]; k++) {
    const pixels = encodePixels(vol.data, k * perSlice, perSlice, enc);
    const sopInstanceUid = uid();
    const bytes = encodePart10(sop, sopInstanceUid, sliceElements(vol, k, pixels, common, sop, sopInstanceUid));
    const file = join(outDir, `IM${String(k + 1).padStart(5, '0')}.dcm`);
    await writeFile(file, bytes).catch((e: unknown) => {
      throw new VoxshiftError('WRITE_FAILED', 'cannot write DICOM file', { file, param: 'outDir', cause: e });
    });
    files.push(file);
  }
  return {
    files,
    seriesInstanceUid,
    studyInstanceUid,
    sopClassUid: sop,
    rescale: { slope: enc.slope, intercept: enc.intercept, signed: enc.signed, lossless: enc.lossless, maxAbsError: enc.maxAbsError },
  };
}
