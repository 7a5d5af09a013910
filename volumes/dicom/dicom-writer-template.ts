/**
 * The patient and study tags a written series inherits: from a keyword → value record, or read from
 * a source DICOM file (or the first DICOM file of a folder) with dicom-parser.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { VoxshiftError } from '../errors.ts';
import { encodeElement } from './dicom-writer-encode.ts';
import { isValidUid } from './uid.ts';

/** Keywords a template may carry, with their tags and VRs (Patient and General Study modules). */
export const TEMPLATE_TAGS = {
  PatientName: { tag: 0x00100010, vr: 'PN' },
  PatientID: { tag: 0x00100020, vr: 'LO' },
  PatientBirthDate: { tag: 0x00100030, vr: 'DA' },
  PatientSex: { tag: 0x00100040, vr: 'CS' },
  PatientAge: { tag: 0x00101010, vr: 'AS' },
  StudyInstanceUID: { tag: 0x0020000d, vr: 'UI' },
  StudyDate: { tag: 0x00080020, vr: 'DA' },
  StudyTime: { tag: 0x00080030, vr: 'TM' },
  StudyID: { tag: 0x00200010, vr: 'SH' },
  AccessionNumber: { tag: 0x00080050, vr: 'SH' },
  ReferringPhysicianName: { tag: 0x00080090, vr: 'PN' },
  StudyDescription: { tag: 0x00081030, vr: 'LO' },
  /** Only from a record: a series from a file template gets a new frame of reference. */
  FrameOfReferenceUID: { tag: 0x00200052, vr: 'UI' },
} as const;

export type TemplateKeyword = keyof typeof TEMPLATE_TAGS;
export type DicomTemplate = Partial<Record<TemplateKeyword, string>>;

const FROM_FILE: readonly TemplateKeyword[] = (Object.keys(TEMPLATE_TAGS) as TemplateKeyword[]).filter(
  (k) => k !== 'FrameOfReferenceUID',
);

function dicomTagKey(tag: number): string {
  return `x${tag.toString(16).padStart(8, '0')}`;
}

/** Checks a template record: known keywords only, string values, valid UIDs. */
export function checkTemplateRecord(record: Record<string, string>): DicomTemplate {
  const out: DicomTemplate = {};
  for (const [key, value] of Object.entries(record)) {
    if (!(key in TEMPLATE_TAGS)) {
      throw new VoxshiftError(
        'INVALID_ARGUMENT',
        `template key "${key}" is not one a written series carries; accepted: ${Object.keys(TEMPLATE_TAGS).join(', ')}`,
        { param: 'template' },
      );
    }
    if (typeof value !== 'string') {
      throw new VoxshiftError('INVALID_ARGUMENT', `template value for ${key} must be a string`, { param: 'template' });
    }
    const kw = key as TemplateKeyword;
    if (TEMPLATE_TAGS[kw].vr === 'UI' && !isValidUid(value)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `template ${key} "${value}" is not a valid UID`, { param: 'template' });
    }
    try {
      encodeElement({ tag: TEMPLATE_TAGS[kw].tag, vr: TEMPLATE_TAGS[kw].vr, value });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new VoxshiftError('INVALID_ARGUMENT', `template ${key}: ${reason}`, { param: 'template', cause: e });
    }
    out[kw] = value;
  }
  return out;
}

const DEFAULT_CHARSETS = new Set(['', 'ISO_IR 6', 'ISO_IR 100', 'ISO_IR 192']);

function parseTemplateFile(bytes: Uint8Array, file: string): DicomTemplate {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new VoxshiftError('NOT_DICOM', `template is not a readable DICOM file (${reason})`, { file, param: 'template', cause: e });
  }
  const charset = (ds.string('x00080005') ?? '').trim();
  if (!DEFAULT_CHARSETS.has(charset)) {
    throw new VoxshiftError(
      'INVALID_ARGUMENT',
      `template uses character set "${charset}"; only ASCII, ISO_IR 100 and ISO_IR 192 are carried`,
      { file, param: 'template' },
    );
  }
  const out: DicomTemplate = {};
  for (const kw of FROM_FILE) {
    const el = ds.elements[dicomTagKey(TEMPLATE_TAGS[kw].tag)];
    if (el === undefined || el.length === 0) continue;
    const raw = bytes.subarray(el.dataOffset, el.dataOffset + el.length);
    const text =
      charset === 'ISO_IR 192' ? new TextDecoder('utf-8').decode(raw) : Array.from(raw, (b) => String.fromCharCode(b)).join('');
    // Only the first value of a multi-valued element is carried.
    const value = text.split('\\')[0].replace(/[\0 ]+$/, '').replace(/^ +/, '');
    if (value === '') continue;
    if (TEMPLATE_TAGS[kw].vr === 'UI' && !isValidUid(value)) continue;
    out[kw] = value;
  }
  return out;
}

async function isDicomFile(path: string): Promise<boolean> {
  const buf = await readFile(path).catch(() => undefined);
  return buf !== undefined && buf.length > 132 && buf.toString('latin1', 128, 132) === 'DICM';
}

/** Reads the carried tags from a DICOM file, or from the first Part-10 file (by name) in a folder. */
export async function readTemplateFromPath(path: string): Promise<DicomTemplate> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) {
    throw new VoxshiftError('FILE_NOT_FOUND', 'template DICOM file or folder does not exist', { file: path, param: 'template' });
  }
  let file = path;
  if (info.isDirectory()) {
    const names = (await readdir(path, { withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => d.name)
      .sort();
    let found: string | undefined;
    for (const name of names) {
      if (await isDicomFile(join(path, name))) {
        found = join(path, name);
        break;
      }
    }
    if (found === undefined) {
      throw new VoxshiftError('NOT_DICOM', 'template folder holds no DICOM Part-10 file', { file: path, param: 'template' });
    }
    file = found;
  }
  const bytes = await readFile(file).catch((e: unknown) => {
    throw new VoxshiftError('FILE_UNREADABLE', 'cannot read template file', { file, param: 'template', cause: e });
  });
  return parseTemplateFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), file);
}
