/** NIfTI writer: lossless round trips, header fields, gzip, and nibabel reading our files. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { affineOf } from '../../../volumes/affine.ts';
import { isVoxshiftError } from '../../../volumes/errors.ts';
import { encodeNifti, parseNifti, quaternionOf, readNifti, writeNifti } from '../../../volumes/nifti/index.ts';
import { allocate, createVolume, type DType, type Mat3, type Volume, type VoxelArray } from '../../../volumes/volume.ts';
import { pythonWith, hasSharedData, sharedPath } from '../../helpers/shared-data.ts';
import { expectSameArray } from './expect-arrays.ts';

/** Rotation by `angle` about a unit axis (Rodrigues), row-major, columns = rotated axes. */
function rotation(axis: [number, number, number], angle: number): number[] {
  const n = Math.hypot(...axis);
  const [x, y, z] = axis.map((a) => a / n);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
}

/** Tilted and improper: a rotation with its second column negated (det = -1). */
const TILTED_IMPROPER = rotation([1, 2, 3], 0.35).map((v, i) => (i % 3 === 1 ? -v : v)) as unknown as Mat3;
const TILTED_PROPER = rotation([-2, 1, 0.5], 1.1) as unknown as Mat3;
const SPACING = [0.7, 1.3, 2.9] as const;
const ORIGIN = [12.25, -30.5, 7.75] as const;

const EXTREMES: Record<DType, number[]> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint32: [0, 2 ** 32 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  float32: [-3.4e38, 1e-40, Number.NaN, -0.5],
  float64: [-1.7e308, 5e-324, Number.NaN, Math.PI],
};

function sampleVolume(dtype: DType, channels: number, direction: Mat3 = TILTED_IMPROPER): Volume {
  const shape = [5, 4, 3] as const;
  const n = 60 * channels;
  const data: VoxelArray = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = (i * 37) % 101;
  EXTREMES[dtype].forEach((v, i) => (data[i + 1] = v));
  data[n - 1] = EXTREMES[dtype][EXTREMES[dtype].length - 1];
  return createVolume({ data, shape, channels, spacing: SPACING, origin: ORIGIN, direction });
}

function expectSameGeometry(a: Volume, b: Volume, tol = 1e-6): void {
  expect(a.shape).toEqual(b.shape);
  expect(a.channels).toBe(b.channels);
  for (let i = 0; i < 3; i++) {
    expect(Math.abs(a.spacing[i] - b.spacing[i])).toBeLessThan(tol);
    expect(Math.abs(a.origin[i] - b.origin[i])).toBeLessThan(tol);
  }
  a.direction.forEach((d, i) => expect(Math.abs(d - b.direction[i])).toBeLessThan(tol));
}

const header = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

describe('encodeNifti → parseNifti round trip', () => {
  const dtypes: DType[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'];
  for (const dtype of dtypes) {
    for (const channels of [1, 3]) {
      it(`${dtype}, ${channels} channel(s), tilted anisotropic improper direction: lossless`, () => {
        const vol = sampleVolume(dtype, channels);
        const back = parseNifti(encodeNifti(vol), { file: 'rt.nii' });
        expect(back.data.constructor).toBe(vol.data.constructor);
        expectSameArray(back.data, vol.data);
        expect(back.data[back.data.length - 1]).toEqual(vol.data[vol.data.length - 1]);
        expectSameGeometry(back, vol);
        expect(back.meta.nifti).toMatchObject({ xform: 'sform', sformCode: 1, qformCode: 1, sclSlope: 1, sclInter: 0 });
        expect(back.meta.warnings).toEqual([]);
      });
    }
  }

  it('writes dim[0]=4 with nt = channels, datatype/bitpix, vox_offset 352, xyzt_units mm, magic n+1', () => {
    const bytes = encodeNifti(sampleVolume('int16', 3));
    const v = header(bytes);
    expect(v.getInt32(0, true)).toBe(348);
    expect([0, 1, 2, 3, 4, 5].map((i) => v.getInt16(40 + 2 * i, true))).toEqual([4, 5, 4, 3, 3, 1]);
    expect(v.getInt16(70, true)).toBe(4);
    expect(v.getInt16(72, true)).toBe(16);
    expect(v.getFloat32(108, true)).toBe(352);
    expect(v.getUint8(123)).toBe(2);
    expect(String.fromCharCode(...bytes.subarray(344, 347))).toBe('n+1');
    expect(bytes.length).toBe(352 + 60 * 3 * 2);
    const one = header(encodeNifti(sampleVolume('uint8', 1)));
    expect(one.getInt16(40, true)).toBe(3);
  });

  it('an arbitrary origin round-trips to float32 precision (NIfTI-1 stores float32)', () => {
    const vol = createVolume({ data: new Uint8Array(8), shape: [2, 2, 2], spacing: [1, 1, 1], origin: [-123.456789, 98.7654321, 3.3] });
    const back = parseNifti(encodeNifti(vol), { file: 'o.nii' });
    back.origin.forEach((o, i) => expect(o).toBe(Math.fround(vol.origin[i])));
  });

  it('the qform encodes the same geometry as the sform: qfac -1 for improper, +1 for proper directions', () => {
    for (const [direction, qfac] of [
      [TILTED_IMPROPER, -1],
      [TILTED_PROPER, 1],
    ] as const) {
      const vol = sampleVolume('uint8', 1, direction);
      const bytes = encodeNifti(vol);
      expect(header(bytes).getFloat32(76, true)).toBe(qfac);
      header(bytes).setInt16(254, 0, true); // sform_code 0 → the reader must use the qform
      const viaQform = parseNifti(bytes, { file: 'q.nii' });
      expect(viaQform.meta.nifti?.xform).toBe('qform');
      expectSameGeometry(viaQform, vol, 1e-5);
    }
  });

  it('quaternionOf handles the a ≤ 0.5 branches (180° rotations about x, y, z)', () => {
    const cases: [number[], [number, number, number]][] = [
      [[1, 0, 0, 0, -1, 0, 0, 0, -1], [1, 0, 0]],
      [[-1, 0, 0, 0, 1, 0, 0, 0, -1], [0, 1, 0]],
      [[-1, 0, 0, 0, -1, 0, 0, 0, 1], [0, 0, 1]],
    ];
    for (const [m, bcd] of cases) {
      const q = quaternionOf(m);
      expect([q.b, q.c, q.d].map((x) => Math.abs(x))).toEqual(bcd);
      expect(q.qfac).toBe(1);
    }
  });

  it('keeps the source xform codes from meta.nifti (a 0 code takes the other)', () => {
    const vol = createVolume({
      data: new Uint8Array(8),
      shape: [2, 2, 2],
      meta: { nifti: { version: 1, xform: 'sform', sformCode: 4, qformCode: 0, datatype: 'uint8', littleEndian: true, sclSlope: 1, sclInter: 0 } },
    });
    const v = header(encodeNifti(vol));
    expect([v.getInt16(252, true), v.getInt16(254, true)]).toEqual([4, 4]);
  });

  it('description: option, else meta.description, cut to 79 ASCII characters', () => {
    const vol = createVolume({ data: new Uint8Array(1), shape: [1, 1, 1], meta: { description: 'from meta' } });
    const readDescrip = (b: Uint8Array): string => parseNifti(b, { file: 'd.nii' }).meta.description ?? '';
    expect(readDescrip(encodeNifti(vol))).toBe('from meta');
    expect(readDescrip(encodeNifti(vol, { description: 'x'.repeat(100) }))).toBe('x'.repeat(79));
  });

  it('label volumes are written with intent NIFTI_INTENT_LABEL and read back as labels', () => {
    const labels = createVolume({ data: new Uint8Array([0, 1, 2, 3]), shape: [2, 2, 1], kind: 'label' });
    const bytes = encodeNifti(labels);
    expect(header(bytes).getInt16(68, true)).toBe(1002);
    const back = parseNifti(bytes, { file: 'l.nii' });
    expect(back.kind).toBe('label');
    expect(back.meta.units).toBe('label');
    expect(parseNifti(bytes, { file: 'l.nii', kind: 'intensity' }).kind).toBe('intensity');
    const intensity = encodeNifti(createVolume({ data: new Uint8Array(4), shape: [2, 2, 1] }));
    expect(header(intensity).getInt16(68, true)).toBe(0);
    expect(parseNifti(intensity, { file: 'i.nii' }).kind).toBe('intensity');
  });

  it('dimensions that do not fit NIfTI-1 int16 fields are SIZE_LIMIT', () => {
    const wide = createVolume({ data: new Uint8Array(40000), shape: [40000, 1, 1] });
    let err: unknown;
    try {
      encodeNifti(wide);
    } catch (e) {
      err = e;
    }
    expect(isVoxshiftError(err, 'SIZE_LIMIT')).toBe(true);
  });

  it('gzip output is a valid .nii.gz that reads back identically', () => {
    const vol = sampleVolume('float32', 3);
    const gz = encodeNifti(vol, { gzip: true });
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const back = parseNifti(gz, { file: 'g.nii.gz' });
    expectSameArray(back.data, vol.data);
    expectSameGeometry(back, vol);
  });
});

describe('writeNifti', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'voxshift-nifti-write-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('chooses gzip by the .nii.gz extension and round-trips through the file system', async () => {
    const vol = sampleVolume('int16', 1);
    for (const name of ['a.nii', 'b.nii.gz', 'C.NII.GZ']) {
      const path = join(tmp, name);
      await writeNifti(vol, path);
      const raw = readFileSync(path);
      expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(/\.gz$/i.test(name));
      const back = await readNifti(path);
      expectSameArray(back.data, vol.data);
      expectSameGeometry(back, vol);
    }
  });

  it('refuses other extensions and unwritable paths with clear errors', async () => {
    const vol = sampleVolume('uint8', 1);
    const bad = await writeNifti(vol, join(tmp, 'x.nrrd')).catch((e: unknown) => e);
    expect(isVoxshiftError(bad, 'INVALID_ARGUMENT')).toBe(true);
    const unwritable = await writeNifti(vol, join(tmp, 'missing-dir', 'x.nii')).catch((e: unknown) => e);
    expect(isVoxshiftError(unwritable, 'WRITE_FAILED')).toBe(true);
  });

  it.skipIf(!hasSharedData())('real files round-trip losslessly (data, geometry, xform codes)', async () => {
    for (const rel of ['nifti/mr/niivue_MNI152_T1_2mm.nii.gz', 'nifti/edge/nibabel_functional.nii', 'nifti/edge/nibabel_anatomical.nii']) {
      const vol = await readNifti(sharedPath(rel));
      const path = join(tmp, 'real.nii.gz');
      await writeNifti(vol, path);
      const back = await readNifti(path);
      expectSameArray(back.data, vol.data);
      expectSameGeometry(back, vol);
      expect(back.meta.nifti?.sformCode).toBe(vol.meta.nifti?.sformCode);
    }
  });
});

const PYTHON = pythonWith('nibabel');

const NIBABEL_DUMP = `
import json, sys
import nibabel as nib, numpy as np
out = {}
for path in sys.argv[1:]:
    img = nib.load(path)
    a = np.array(img.affine, dtype=np.float64); a[0:2, :] *= -1
    q = img.header.get_qform(); s = img.header.get_sform()
    data = np.asanyarray(img.dataobj)
    out[path] = {
        'shape': [int(x) for x in img.shape],
        'dtype': str(data.dtype.newbyteorder('=')),
        'affineLps': [float(x) for x in a.ravel()],
        'qformMinusSform': float(np.abs(q - s).max()),
        'codes': [int(img.header['qform_code']), int(img.header['sform_code'])],
        'values': [None if np.isnan(x) else float(x) for x in data.ravel(order='F').astype(np.float64)],
    }
json.dump(out, sys.stdout)
`;

describe.skipIf(!PYTHON)('nibabel reads what encodeNifti writes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'voxshift-nifti-nib-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('affine within 1e-5, qform = sform, dtype and every voxel equal', async () => {
    const vols: [string, Volume][] = [
      ['int16-3ch-improper.nii', sampleVolume('int16', 3)],
      ['float32-proper.nii.gz', sampleVolume('float32', 1, TILTED_PROPER)],
      ['uint16.nii', sampleVolume('uint16', 1)],
      ['int8-2ch.nii.gz', sampleVolume('int8', 2, TILTED_PROPER)],
      ['float64.nii', sampleVolume('float64', 1)],
      ['uint32.nii', sampleVolume('uint32', 1)],
    ];
    for (const [name, vol] of vols) await writeNifti(vol, join(tmp, name));
    const paths = vols.map(([name]) => join(tmp, name));
    const dump = JSON.parse(execFileSync(PYTHON!, ['-c', NIBABEL_DUMP, ...paths], { encoding: 'utf8', timeout: 120_000 })) as Record<
      string,
      { shape: number[]; dtype: string; affineLps: number[]; qformMinusSform: number; codes: number[]; values: (number | null)[] }
    >;
    vols.forEach(([name, vol]) => {
      const r = dump[join(tmp, name)];
      expect(r.shape).toEqual(vol.channels > 1 ? [...vol.shape, vol.channels] : [...vol.shape]);
      expect(r.dtype).toBe(vol.data.constructor.name.replace('Array', '').toLowerCase());
      affineOf(vol).forEach((v, i) => expect(Math.abs(v - r.affineLps[i])).toBeLessThan(1e-5));
      expect(r.qformMinusSform).toBeLessThan(1e-5);
      expect(r.codes).toEqual([1, 1]);
      const ours = Array.from(vol.data, (x) => (Number.isNaN(x) ? null : x));
      expect(r.values).toEqual(ours);
    });
  });
});
