/**
 * One frame of a parsed DICOM file → its stored values, planar (sample by sample), with bits outside
 * BitsStored masked off and the sign taken from PixelRepresentation, and YBR colour converted to RGB.
 * Rescale is applied later by the series reader.
 */
import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { VoxshiftError } from '../errors.ts';
import { decodeCompressedFrame, isNativeTransferSyntax, isSupportedTransferSyntax, TRANSFER_SYNTAXES } from './codecs.ts';
import type { DecodedFrame } from './codecs.ts';
import type { DicomImageHeader } from './dicom-header.ts';
import { TS_EXPLICIT_BE } from './parse-dicom.ts';

const SUPPORTED_PHOTOMETRIC = ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'];

/** Throws UNSUPPORTED_IMAGE / UNSUPPORTED_TRANSFER_SYNTAX for what this reader cannot decode. */
export function checkDecodable(h: DicomImageHeader): void {
  if (!isSupportedTransferSyntax(h.transferSyntax)) {
    throw new VoxshiftError('UNSUPPORTED_TRANSFER_SYNTAX', `transfer syntax ${h.transferSyntax || '(none)'} is not supported; supported: ${Object.keys(TRANSFER_SYNTAXES).join(', ')}`, {
      file: h.file,
      details: { transferSyntax: h.transferSyntax },
    });
  }
  if (h.photometric === 'PALETTE COLOR') {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', 'PALETTE COLOR images are not supported (their values are indices into a colour lookup table)', {
      file: h.file,
      details: { photometric: h.photometric },
    });
  }
  // JPEG decoders (libjpeg-turbo) return RGB from chroma-subsampled YCbCr themselves.
  const jpegYbrPartial = /^YBR_PARTIAL_42[02]$/.test(h.photometric) && /^1\.2\.840\.10008\.1\.2\.4\.5[0-5]$/.test(h.transferSyntax);
  if (!SUPPORTED_PHOTOMETRIC.includes(h.photometric) && !jpegYbrPartial) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `PhotometricInterpretation ${h.photometric} is not supported; supported: ${SUPPORTED_PHOTOMETRIC.join(', ')}`, {
      file: h.file,
    });
  }
  const expectedSamples = h.photometric.startsWith('MONOCHROME') ? 1 : 3;
  if (h.samplesPerPixel !== expectedSamples) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `${h.photometric} with SamplesPerPixel ${h.samplesPerPixel}`, { file: h.file });
  }
  if (h.floatPixels === 'none' && ![1, 8, 16, 32].includes(h.bitsAllocated)) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', `BitsAllocated ${h.bitsAllocated} is not supported (1, 8, 16 or 32)`, { file: h.file });
  }
  if (h.floatPixels === 'none' && (h.bitsStored < 1 || h.bitsStored > h.bitsAllocated || h.highBit >= h.bitsAllocated || h.highBit + 1 < h.bitsStored)) {
    throw new VoxshiftError('MALFORMED_HEADER', `BitsStored ${h.bitsStored} / HighBit ${h.highBit} do not fit BitsAllocated ${h.bitsAllocated}`, {
      file: h.file,
    });
  }
}

function pixelElement(ds: DataSet, h: DicomImageHeader): Element {
  const tag = h.floatPixels === 'float32' ? 'x7fe00008' : h.floatPixels === 'float64' ? 'x7fe00009' : 'x7fe00010';
  const el = ds.elements[tag];
  if (!el) throw new VoxshiftError('NO_PIXEL_DATA', 'no pixel data element (7FE0,0010)', { file: h.file });
  return el;
}

/** Stored-value range implied by BitsStored and PixelRepresentation. */
export function storedRange(h: DicomImageHeader): [number, number] {
  if (h.floatPixels !== 'none') return [-Infinity, Infinity];
  const bs = h.bitsStored;
  return h.pixelRepresentation === 1 ? [-(2 ** (bs - 1)), 2 ** (bs - 1) - 1] : [0, 2 ** bs - 1];
}

function nativeFrame(ds: DataSet, h: DicomImageHeader, frame: number): Float64Array {
  const el = pixelElement(ds, h);
  const pixels = h.rows * h.columns;
  const n = pixels * h.samplesPerPixel;
  const bytes = ds.byteArray;
  const available = Math.max(0, Math.min(el.length, bytes.length - el.dataOffset));
  const out = new Float64Array(n);
  if (h.bitsAllocated === 1) {
    const firstBit = frame * n;
    if (Math.ceil((firstBit + n) / 8) > available) {
      throw new VoxshiftError('TRUNCATED_FILE', `pixel data holds ${available} bytes, frame ${frame} needs bits up to ${firstBit + n}`, { file: h.file });
    }
    for (let i = 0; i < n; i++) {
      const bit = firstBit + i;
      out[i] = (bytes[el.dataOffset + (bit >> 3)] >> (bit & 7)) & 1;
    }
    return out;
  }
  const bpv = h.bitsAllocated / 8;
  const frameBytes = n * bpv;
  const start = frame * frameBytes;
  if (start + frameBytes > available) {
    throw new VoxshiftError('TRUNCATED_FILE', `pixel data holds ${available} bytes, frame ${frame} needs bytes ${start}..${start + frameBytes}`, {
      file: h.file,
      details: { available, needed: start + frameBytes },
    });
  }
  const little = h.transferSyntax !== TS_EXPLICIT_BE;
  const interleaved = h.samplesPerPixel > 1 && h.planarConfiguration === 0;
  const spp = h.samplesPerPixel;
  const offset = el.dataOffset + start;
  if (h.floatPixels === 'none' && bpv <= 2 && (little || bpv === 1) && !interleaved) {
    // Fast path: a typed view (of the file's bytes when aligned, else of a copy), masked and
    // sign-extended in the same pass. One loop per view type keeps each loop monomorphic.
    const at = bytes.byteOffset + offset;
    const aligned = bpv === 1 || at % 2 === 0;
    const buffer = aligned ? bytes.buffer : bytes.slice(offset, offset + frameBytes).buffer;
    const base = aligned ? at : 0;
    const full = h.bitsStored === h.bitsAllocated && h.highBit + 1 === h.bitsStored;
    const signed = h.pixelRepresentation === 1;
    if (bpv === 2 && full && signed) {
      const words = new Int16Array(buffer, base, n);
      for (let i = 0; i < n; i++) out[i] = words[i];
    } else if (bpv === 2 && full) {
      const words = new Uint16Array(buffer, base, n);
      for (let i = 0; i < n; i++) out[i] = words[i];
    } else {
      const words = bpv === 1 ? new Uint8Array(buffer, base, n) : new Uint16Array(buffer, base, n);
      const shift = h.highBit + 1 - h.bitsStored;
      const mod = 2 ** h.bitsStored;
      const mask = mod - 1;
      const half = signed ? 2 ** (h.bitsStored - 1) : mod;
      for (let i = 0; i < n; i++) {
        const x = (words[i] >> shift) & mask;
        out[i] = x >= half ? x - mod : x;
      }
    }
    return out;
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, frameBytes);
    const read: (i: number) => number =
      h.floatPixels === 'float32'
        ? (i) => dv.getFloat32(i * 4, little)
        : h.floatPixels === 'float64'
          ? (i) => dv.getFloat64(i * 8, little)
          : bpv === 1
            ? (i) => dv.getUint8(i)
            : bpv === 2
              ? (i) => dv.getUint16(i * 2, little)
              : (i) => dv.getUint32(i * 4, little);
    for (let i = 0; i < n; i++) {
      const dst = interleaved ? (i % spp) * pixels + Math.floor(i / spp) : i;
      out[dst] = read(i);
    }
  }
  if (h.floatPixels === 'none') maskAndSign(out, h);
  return out;
}

function maskAndSign(v: Float64Array, h: DicomImageHeader): void {
  const bs = h.bitsStored;
  const shift = h.highBit + 1 - bs;
  if (bs === h.bitsAllocated && shift === 0 && h.pixelRepresentation === 0) return;
  const div = 2 ** shift;
  const mod = 2 ** bs;
  const half = 2 ** (bs - 1);
  const signed = h.pixelRepresentation === 1;
  if (h.bitsAllocated <= 16) {
    // 32-bit integer arithmetic is exact here
    const mask = mod - 1;
    for (let i = 0; i < v.length; i++) {
      let x = (v[i] >> shift) & mask;
      if (signed && x >= half) x -= mod;
      v[i] = x;
    }
    return;
  }
  for (let i = 0; i < v.length; i++) {
    let x = Math.floor(v[i] / div) % mod;
    if (signed && x >= half) x -= mod;
    v[i] = x;
  }
}

function encapsulatedFrameBytes(ds: DataSet, h: DicomImageHeader, frame: number): Uint8Array {
  const el = pixelElement(ds, h);
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw new VoxshiftError('NO_PIXEL_DATA', 'encapsulated pixel data has no fragments', { file: h.file });
  const end = el.dataOffset + el.length;
  for (const f of fragments) {
    if (f.position + f.length > ds.byteArray.length) {
      throw new VoxshiftError('TRUNCATED_FILE', 'an encapsulated pixel data fragment runs past the end of the file', { file: h.file });
    }
  }
  if (end > ds.byteArray.length) {
    throw new VoxshiftError('TRUNCATED_FILE', 'encapsulated pixel data runs past the end of the file', { file: h.file });
  }
  if (h.numberOfFrames === 1) {
    return fragments.length === 1
      ? ds.byteArray.subarray(fragments[0].position, fragments[0].position + fragments[0].length)
      : (dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length) as Uint8Array);
  }
  if (el.basicOffsetTable && el.basicOffsetTable.length === h.numberOfFrames) {
    return dicomParser.readEncapsulatedImageFrame(ds, el, frame) as Uint8Array;
  }
  if (fragments.length === h.numberOfFrames) {
    const f = fragments[frame];
    return ds.byteArray.subarray(f.position, f.position + f.length);
  }
  // No offset table and more fragments than frames: a frame starts at each fragment that begins
  // with the codec's start marker (JPEG SOI FFD8, JPEG 2000 SOC FF4F).
  const starts: number[] = [];
  fragments.forEach((f, i) => {
    const b0 = ds.byteArray[f.position];
    const b1 = ds.byteArray[f.position + 1];
    if (b0 === 0xff && (b1 === 0xd8 || b1 === 0x4f)) starts.push(i);
  });
  if (starts.length !== h.numberOfFrames) {
    throw new VoxshiftError('CODEC_FAILED', `cannot split ${fragments.length} fragments into ${h.numberOfFrames} frames (no offset table)`, { file: h.file });
  }
  const first = starts[frame];
  const count = (frame + 1 < starts.length ? starts[frame + 1] : fragments.length) - first;
  return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, first, count) as Uint8Array;
}

function decodedToPlanar(d: DecodedFrame, h: DicomImageHeader): Float64Array {
  const pixels = h.rows * h.columns;
  const spp = h.samplesPerPixel;
  const out = new Float64Array(pixels * spp);
  const s = d.samples;
  if (d.planar || spp === 1) {
    for (let i = 0; i < out.length; i++) out[i] = s[i];
  } else {
    for (let p = 0; p < pixels; p++) for (let c = 0; c < spp; c++) out[c * pixels + p] = s[p * spp + c];
  }
  if (h.pixelRepresentation === 1 && !d.signed) {
    // The codestream says unsigned but the header says signed: two's complement in BitsStored bits.
    const mod = 2 ** h.bitsStored;
    const half = mod / 2;
    for (let i = 0; i < out.length; i++) if (out[i] >= half && out[i] < mod) out[i] -= mod;
  }
  return out;
}

function ybrFullToRgb(v: Float64Array, pixels: number): void {
  for (let p = 0; p < pixels; p++) {
    const y = v[p];
    const cb = v[pixels + p] - 128;
    const cr = v[2 * pixels + p] - 128;
    const clamp = (x: number): number => Math.min(255, Math.max(0, Math.round(x)));
    v[p] = clamp(y + 1.402 * cr);
    v[pixels + p] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    v[2 * pixels + p] = clamp(y + 1.772 * cb);
  }
}

/** Native YBR_FULL_422: each pair of pixels is stored as Y0 Y1 Cb Cr. */
function nativeYbr422Frame(ds: DataSet, h: DicomImageHeader, frame: number): Float64Array {
  const el = pixelElement(ds, h);
  const pixels = h.rows * h.columns;
  if (h.columns % 2 !== 0 || h.bitsAllocated !== 8) {
    throw new VoxshiftError('UNSUPPORTED_IMAGE', 'YBR_FULL_422 needs an even number of columns and 8-bit samples', { file: h.file });
  }
  const frameBytes = pixels * 2;
  const start = el.dataOffset + frame * frameBytes;
  if (start + frameBytes > Math.min(ds.byteArray.length, el.dataOffset + el.length)) {
    throw new VoxshiftError('TRUNCATED_FILE', `pixel data too short for frame ${frame}`, { file: h.file });
  }
  const b = ds.byteArray;
  const out = new Float64Array(pixels * 3);
  for (let p = 0; p < pixels; p += 2) {
    const o = start + p * 2;
    out[p] = b[o];
    out[p + 1] = b[o + 1];
    out[pixels + p] = out[pixels + p + 1] = b[o + 2];
    out[2 * pixels + p] = out[2 * pixels + p + 1] = b[o + 3];
  }
  ybrFullToRgb(out, pixels);
  return out;
}

/** Stored values of one frame (planar samples), photometric converted to MONOCHROME or RGB. */
export async function decodeFrame(ds: DataSet, h: DicomImageHeader, frame: number): Promise<Float64Array> {
  checkDecodable(h);
  const pixels = h.rows * h.columns;
  if (isNativeTransferSyntax(h.transferSyntax)) {
    if (h.photometric === 'YBR_FULL_422') return nativeYbr422Frame(ds, h, frame);
    const v = nativeFrame(ds, h, frame);
    if (h.photometric === 'YBR_FULL') ybrFullToRgb(v, pixels);
    return v;
  }
  const el = pixelElement(ds, h);
  if (!el.encapsulatedPixelData) {
    throw new VoxshiftError('MALFORMED_HEADER', `transfer syntax ${h.transferSyntax} needs encapsulated pixel data, but (7FE0,0010) has a defined length`, {
      file: h.file,
    });
  }
  const bytes = encapsulatedFrameBytes(ds, h, frame);
  const decoded = await decodeCompressedFrame(h.transferSyntax, bytes, h, h.file);
  const v = decodedToPlanar(decoded, h);
  // RLE keeps the colour space as stored; the JPEG family decoders already return RGB.
  if (h.photometric === 'YBR_FULL' && h.transferSyntax === '1.2.840.10008.1.2.5') ybrFullToRgb(v, pixels);
  return v;
}
