import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVoxshiftError, type VoxshiftError } from '../../../volumes/errors.ts';
import { readItkImage } from '../../../volumes/itk/read-itk.ts';
import { writeItkImage } from '../../../volumes/itk/write-itk.ts';
import { allocate, createVolume, dtypeOf, type DType, type Mat3, type Volume } from '../../../volumes/volume.ts';

const work = mkdtempSync(join(tmpdir(), 'voxshift-itk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tilted(): Mat3 {
  // Rotation by 0.5 rad about the axis (1, 2, 2)/3: no column is axis-aligned.
  const [x, y, z] = [1 / 3, 2 / 3, 2 / 3];
  const c = Math.cos(0.5);
  const s = Math.sin(0.5);
  const C = 1 - c;
  return [
    c + x * x * C, x * y * C - z * s, x * z * C + y * s,
    y * x * C + z * s, c + y * y * C, y * z * C - x * s,
    z * x * C - y * s, z * y * C + x * s, c + z * z * C,
  ] as unknown as Mat3;
}

function makeVolume(dtype: DType, channels = 1): Volume {
  const shape = [5, 4, 3] as const;
  const data = allocate(dtype, 60 * channels);
  const signed = dtype.startsWith('int') || dtype.startsWith('float');
  for (let i = 0; i < data.length; i++) {
    const v = (i * 37) % 97;
    data[i] = dtype.startsWith('float') ? (v - 40) * 0.37 : signed ? v - 40 : v;
  }
  // The last voxel carries the type's extreme, to catch truncation and byte-order slips.
  const extremes: Record<DType, number> = {
    uint8: 255, int8: -128, uint16: 65535, int16: -32768, uint32: 4294967295, int32: -2147483648, float32: 3.5e38, float64: -1.7e308,
  };
  data[data.length - 1] = extremes[dtype];
  return createVolume({ data, shape, channels, spacing: [0.7, 1.3, 2.9], origin: [-11.25, 17.5, 203.125], direction: tilted() });
}

function expectSameVolume(a: Volume, b: Volume): void {
  expect(b.shape).toEqual(a.shape);
  expect(b.channels).toBe(a.channels);
  expect(dtypeOf(b.data)).toBe(dtypeOf(a.data));
  for (let i = 0; i < 3; i++) {
    expect(b.spacing[i]).toBeCloseTo(a.spacing[i], 10);
    expect(b.origin[i]).toBeCloseTo(a.origin[i], 10);
  }
  for (let i = 0; i < 9; i++) expect(b.direction[i]).toBeCloseTo(a.direction[i], 10);
  expect(b.data.length).toBe(a.data.length);
  expect(b.data[b.data.length - 1]).toBe(a.data[a.data.length - 1]);
  expect(Array.from(b.data)).toEqual(Array.from(a.data));
}

async function expectCode(p: Promise<unknown>, code: string): Promise<VoxshiftError> {
  try {
    await p;
  } catch (e) {
    expect(isVoxshiftError(e)).toBe(true);
    expect((e as VoxshiftError).shortCode).toBe(code);
    return e as VoxshiftError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const DTYPES: DType[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'];

describe('NRRD and MetaImage through ITK-Wasm', () => {
  for (const ext of ['.nrrd', '.mha']) {
    it(`round-trips every dtype through ${ext} with a tilted anisotropic grid`, async () => {
      for (const dtype of DTYPES) {
        const vol = makeVolume(dtype);
        const before = Array.from(vol.data);
        const path = join(work, `rt-${dtype}${ext}`);
        const files = await writeItkImage(vol, path);
        expect(files).toEqual([path]);
        expect(Array.from(vol.data)).toEqual(before);
        const back = await readItkImage(path);
        expectSameVolume(vol, back);
        expect(back.meta.format).toBe(ext === '.nrrd' ? 'nrrd' : 'mha');
        expect(back.meta.source).toBe(path);
        expect(back.history).toEqual([{ op: 'readItkImage', params: { file: path, format: ext === '.nrrd' ? 'nrrd' : 'mha' } }]);
      }
    });
  }

  for (const [ext, raw] of [['.nhdr', '.raw'], ['.mhd', '.raw']] as const) {
    it(`writes detached ${ext} + ${raw} and reads it back`, async () => {
      const vol = makeVolume('int16');
      const path = join(work, `detached${ext}`);
      const files = await writeItkImage(vol, path);
      expect(files).toHaveLength(2);
      expect(files[0]).toBe(path);
      expect(basename(files[1])).toBe(`detached${raw}`);
      expect(readFileSync(files[1]).length).toBe(60 * 2);
      expectSameVolume(vol, await readItkImage(path));
    });
  }

  it('round-trips planar channels as vector pixels, and compressed data', async () => {
    for (const ext of ['.nrrd', '.mha']) {
      const vol = makeVolume('float32', 3);
      const path = join(work, `vec${ext}`);
      await writeItkImage(vol, path);
      const back = await readItkImage(path);
      expectSameVolume(vol, back);
      // channel 2 of voxel 7 sits at 2·60 + 7 in both
      expect(back.data[2 * 60 + 7]).toBe(vol.data[2 * 60 + 7]);
      const zpath = join(work, `z${ext}`);
      const big = createVolume({ data: new Int16Array(40 * 40 * 10), shape: [40, 40, 10] });
      await writeItkImage(big, zpath, { compress: true });
      expect(readFileSync(zpath).length).toBeLessThan(40 * 40 * 10 * 2);
      expectSameVolume(big, await readItkImage(zpath));
    }
  });

  it('reads a hand-written NRRD (LPS, oblique space directions) with the geometry its header states', async () => {
    const c = Math.SQRT1_2;
    const header = [
      'NRRD0004',
      'type: short',
      'dimension: 3',
      'space: left-posterior-superior',
      'sizes: 3 2 2',
      `space directions: (${0.5 * c},${0.5 * c},0) (${-0.8 * c},${0.8 * c},0) (0,0,2.5)`,
      'kinds: domain domain domain',
      'endian: little',
      'encoding: raw',
      'space origin: (10.5,-20.25,30)',
      '',
      '',
    ].join('\n');
    const data = Int16Array.from({ length: 12 }, (_, i) => i * 100 - 600);
    const path = join(work, 'hand.nrrd');
    writeFileSync(path, Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
    const vol = await readItkImage(path, { kind: 'label', modality: 'CT' });
    expect(vol.shape).toEqual([3, 2, 2]);
    expect(vol.spacing[0]).toBeCloseTo(0.5, 12);
    expect(vol.spacing[1]).toBeCloseTo(0.8, 12);
    expect(vol.spacing[2]).toBeCloseTo(2.5, 12);
    expect(vol.origin).toEqual([10.5, -20.25, 30]);
    const expected = [c, -c, 0, c, c, 0, 0, 0, 1];
    for (let i = 0; i < 9; i++) expect(vol.direction[i]).toBeCloseTo(expected[i], 12);
    expect(Array.from(vol.data)).toEqual(Array.from(data));
    expect(vol.kind).toBe('label');
    expect(vol.modality).toBe('CT');
  });

  it('converts a RAS NRRD to LPS and reads a 2-D NRRD as one slice', async () => {
    const ras = [
      'NRRD0004', 'type: uint8', 'dimension: 3', 'space: right-anterior-superior', 'sizes: 2 2 1',
      'space directions: (1,0,0) (0,2,0) (0,0,3)', 'endian: little', 'encoding: raw', 'space origin: (5,6,7)', '', '',
    ].join('\n');
    const rasPath = join(work, 'ras.nrrd');
    writeFileSync(rasPath, Buffer.concat([Buffer.from(ras, 'latin1'), Buffer.from([1, 2, 3, 4])]));
    const v = await readItkImage(rasPath);
    expect(v.origin).toEqual([-5, -6, 7]);
    expect(Array.from(v.direction)).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    expect(v.spacing).toEqual([1, 2, 3]);

    const flat = ['NRRD0004', 'type: float', 'dimension: 2', 'sizes: 3 2', 'spacings: 0.5 0.25', 'endian: little', 'encoding: raw', '', ''].join('\n');
    const flatPath = join(work, 'flat.nrrd');
    const px = Float32Array.from([1, 2, 3, 4, 5, 6.5]);
    writeFileSync(flatPath, Buffer.concat([Buffer.from(flat, 'latin1'), Buffer.from(px.buffer)]));
    const f = await readItkImage(flatPath);
    expect(f.shape).toEqual([3, 2, 1]);
    expect(f.spacing).toEqual([0.5, 0.25, 1]);
    expect(Array.from(f.data)).toEqual(Array.from(px));
  });

  it('reads vector-kind and 4-D NRRDs as planar channels', async () => {
    const values = Float32Array.from({ length: 36 }, (_, i) => i);
    const write = (name: string, lines: string[]): string => {
      const path = join(work, name);
      writeFileSync(path, Buffer.concat([Buffer.from(`${lines.join('\n')}\n\n`, 'latin1'), Buffer.from(values.buffer)]));
      return path;
    };
    const common = ['type: float', 'dimension: 4', 'endian: little', 'encoding: raw'];
    const vec = await readItkImage(
      write('vec4.nrrd', ['NRRD0004', ...common, 'space: left-posterior-superior', 'sizes: 3 2 3 2', 'space directions: none (1,0,0) (0,1,0) (0,0,1)', 'kinds: vector domain domain domain', 'space origin: (0,0,0)']),
    );
    expect(vec.shape).toEqual([2, 3, 2]);
    expect(vec.channels).toBe(3);
    // component c of voxel v was at v·3 + c; planar puts it at c·12 + v
    for (let c = 0; c < 3; c++) for (let v = 0; v < 12; v++) expect(vec.data[c * 12 + v]).toBe(v * 3 + c);

    const t4 = await readItkImage(write('t4.nrrd', ['NRRD0004', ...common, 'sizes: 2 3 2 3', 'spacings: 1 1 1 2']));
    expect(t4.shape).toEqual([2, 3, 2]);
    expect(t4.channels).toBe(3);
    expect(Array.from(t4.data)).toEqual(Array.from(values));
    expect(t4.meta.warnings.map((w) => w.code)).toEqual(['ITK_4D_AS_CHANNELS']);
  });

  it('gives precise errors for missing, truncated, malformed and unsupported files', async () => {
    await expectCode(readItkImage(join(work, 'nope.mha')), 'FILE_NOT_FOUND');
    await expectCode(readItkImage(join(work, 'nope.nrrd')), 'FILE_NOT_FOUND');

    const vol = makeVolume('float32');
    for (const ext of ['.mha', '.nrrd']) {
      const full = join(work, `full${ext}`);
      await writeItkImage(vol, full);
      const bytes = readFileSync(full);
      const cut = join(work, `cut${ext}`);
      writeFileSync(cut, bytes.subarray(0, bytes.length - 50));
      const err = await expectCode(readItkImage(cut), 'TRUNCATED_FILE');
      expect(err.file).toBe(cut);
      const headerOnly = join(work, `headonly${ext}`);
      writeFileSync(headerOnly, bytes.subarray(0, 40));
      await expectCode(readItkImage(headerOnly), 'TRUNCATED_FILE');
    }
    const garbage = join(work, 'garbage.nrrd');
    writeFileSync(garbage, 'hello world, not an image');
    await expectCode(readItkImage(garbage), 'MALFORMED_HEADER');
    const garbageMha = join(work, 'garbage.mha');
    writeFileSync(garbageMha, 'hello world, not an image');
    await expectCode(readItkImage(garbageMha), 'MALFORMED_HEADER');

    const nhdr = join(work, 'lost.nhdr');
    await writeItkImage(vol, nhdr);
    rmSync(join(work, 'lost.raw'));
    await expectCode(readItkImage(nhdr), 'FILE_NOT_FOUND');

    await expectCode(readItkImage(join(work, 'x.png')), 'UNSUPPORTED_FORMAT');
    await expectCode(writeItkImage(vol, join(work, 'x.vtk')), 'UNSUPPORTED_FORMAT');
    await expectCode(readItkImage(work + '/dir.nrrd/'), 'UNSUPPORTED_FORMAT');
    const dirPath = join(work, 'folder.nrrd');
    rmSync(dirPath, { force: true, recursive: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dirPath));
    await expectCode(readItkImage(dirPath), 'FILE_UNREADABLE');
    await expectCode(writeItkImage(vol, dirPath), 'INVALID_ARGUMENT');
    expect(existsSync(join(work, 'x.vtk'))).toBe(false);
  });

  it('creates missing parent folders when writing', async () => {
    const path = join(work, 'a', 'b', 'c.mha');
    const vol = makeVolume('uint8');
    await writeItkImage(vol, path);
    expectSameVolume(vol, await readItkImage(path));
  });
});
