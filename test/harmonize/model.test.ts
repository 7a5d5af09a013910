import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HARMONIZER_MAX_VERSION, loadHarmonizerModel, modelDigest, saveHarmonizerModel, validateHarmonizerModel, type NyulModel } from '../../harmonize/model.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-hmodel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const NYUL: NyulModel = {
  format: 'voxshift-harmonizer',
  version: 1,
  method: 'nyul',
  reference: 'a',
  sites: ['a'],
  subjects: { a: 3 },
  voxshift: '0.1.0',
  modality: 'MR',
  mask: { type: 'body' },
  parameters: { percentiles: [1, 50, 99], standard: [10, 200, 600] },
};

async function loadError(json: string): Promise<Error & { shortCode?: string; file?: string }> {
  const path = join(tmp, `m-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, json);
  try {
    await loadHarmonizerModel(path);
  } catch (e) {
    return e as Error & { shortCode?: string };
  }
  throw new Error('expected an error');
}

describe('harmonizer model files', () => {
  it('save and load round-trip; the digest is stable', async () => {
    const path = join(tmp, 'sub', 'nyul.json');
    await saveHarmonizerModel(NYUL, path);
    expect(await loadHarmonizerModel(path)).toEqual(NYUL);
    expect(modelDigest(NYUL)).toMatch(/^[0-9a-f]{16}$/);
    expect(modelDigest({ ...NYUL, reference: 'a' })).toBe(modelDigest(NYUL));
    expect(modelDigest({ ...NYUL, parameters: { ...NYUL.parameters, standard: [10, 201, 600] } })).not.toBe(modelDigest(NYUL));
  });

  it('names the field that is wrong', async () => {
    const bad = (patch: Record<string, unknown>): Promise<Error> => loadError(JSON.stringify({ ...NYUL, ...patch }));
    expect((await bad({ format: 'other' })).message).toMatch(/format must be "voxshift-harmonizer"/);
    expect((await bad({ method: 'magic' })).message).toMatch(/method must be one of zscore, whitestripe, nyul, histmatch, cyclegan, combat/);
    expect((await bad({ sites: ['b'] })).message).toMatch(/sites must be a list including the reference site "a"/);
    expect((await bad({ parameters: { percentiles: [1, 50, 99], standard: [10, 5, 600] } })).message).toMatch(/parameters\.standard must be strictly ascending/);
    expect((await bad({ parameters: { percentiles: [1, 99], standard: [10, 200, 600] } })).message).toMatch(/parameters\.standard must be 2 landmarks/);
    expect((await bad({ mask: { type: 'otsu' } })).message).toMatch(/mask must be/);
    expect((await bad({ method: 'zscore', parameters: { mean: 1, std: 0 } })).message).toMatch(/parameters\.std must be a positive number/);
  });

  it('refuses models from a newer voxshift, broken JSON and missing files', async () => {
    const newer = await loadError(JSON.stringify({ ...NYUL, version: HARMONIZER_MAX_VERSION + 1 }));
    expect(newer.shortCode).toBe('INCOMPATIBLE_CHECKPOINT');
    expect(newer.message).toMatch(/newer than this voxshift reads/);
    const broken = await loadError('{"format": ');
    expect(broken.shortCode).toBe('MALFORMED_HEADER');
    await expect(loadHarmonizerModel(join(tmp, 'none.json'))).rejects.toMatchObject({ shortCode: 'FILE_NOT_FOUND' });
    expect(() => validateHarmonizerModel([1, 2])).toThrow(/must be a JSON object/);
  });
});
