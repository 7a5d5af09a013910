/**
 * Every classical harmonizer through the common entry points: fit → save → load → apply gives the
 * same voxels as the fitted model (bit for bit), applying twice gives the same voxels, the output
 * keeps the input's grid and gains one history entry, and bad input fails with a clear error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyHarmonizer, fitHarmonizer, openHarmonizer } from '../../harmonize/harmonizer.ts';
import { loadHarmonizerModel, modelDigest, saveHarmonizerModel, type IntensityMethod } from '../../harmonize/model.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { createVolume, deriveVolume } from '../../volumes/volume.ts';
import { heldOut, siteVolumes, tilted } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vx-harmonize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const METHODS: IntensityMethod[] = ['zscore', 'whitestripe', 'nyul', 'histmatch'];

async function asyncErrorOf(fn: () => Promise<unknown>): Promise<Error & { shortCode?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as Error & { shortCode?: string };
  }
  throw new Error('expected an error');
}

describe.each(METHODS)('%s', (method) => {
  it('fit → save → load → apply reproduces the in-memory model bit for bit', async () => {
    const model = await fitHarmonizer({ method, sites: siteVolumes(), reference: 'siteA' });
    expect(model).toMatchObject({ format: 'voxshift-harmonizer', version: 1, method, reference: 'siteA', modality: 'MR', subjects: { siteA: 2 } });
    const path = join(tmp, `${method}.json`);
    await saveHarmonizerModel(model, path);
    const loaded = await loadHarmonizerModel(path);
    expect(loaded).toEqual(model);
    const input = heldOut('siteB').image;
    const a = await applyHarmonizer(model, input);
    const b = await applyHarmonizer(path, input);
    expect(b.data).toEqual(a.data);
    expect(modelDigest(loaded)).toBe(modelDigest(model));
  });

  it('fitting and applying are deterministic', async () => {
    const m1 = await fitHarmonizer({ method, sites: siteVolumes(), reference: 'siteA' });
    const m2 = await fitHarmonizer({ method, sites: siteVolumes(), reference: 'siteA' });
    expect(JSON.stringify(m2)).toBe(JSON.stringify(m1));
    const h = openHarmonizer(m1);
    const input = heldOut('siteC').image;
    const x = await h.apply(input);
    const y = await h.apply(input);
    expect(y.data).toEqual(x.data);
    expect(x.data).not.toEqual(input.data);
    expect(x.data.every(Number.isFinite)).toBe(true);
  });

  it('keeps the geometry and appends one harmonize entry to the history', async () => {
    const model = await fitHarmonizer({ method, sites: siteVolumes(), reference: 'siteA' });
    const input = tilted(heldOut('siteB').image);
    const out = await applyHarmonizer(model, input);
    expect(out.shape).toEqual(input.shape);
    expect(out.spacing).toEqual(input.spacing);
    expect(out.origin).toEqual(input.origin);
    expect(out.direction).toEqual(input.direction);
    expect(out.kind).toBe('intensity');
    expect(out.modality).toBe('MR');
    expect(out.channels).toBe(1);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(out.data.length).toBe(input.data.length);
    expect(out.history.slice(0, -1)).toEqual(input.history);
    const last = out.history[out.history.length - 1];
    expect(last).toMatchObject({ op: 'harmonize', params: { method, reference: 'siteA', model: modelDigest(model) } });
    expect(out.meta.extra?.harmonized).toEqual({ method, reference: 'siteA' });
    expect(out.meta.source).toBe('tilted.nii.gz');
  });

  it('refuses an empty mask, another modality, a label map and non-finite voxels', async () => {
    const model = await fitHarmonizer({ method, sites: siteVolumes(), reference: 'siteA' });
    const input = heldOut('siteB').image;
    const empty = await asyncErrorOf(() => applyHarmonizer(model, input, { mask: new Uint8Array(input.data.length) }));
    expect(empty.shortCode).toBe('INVALID_VOLUME');
    expect(empty.message).toMatch(/mask is empty/);
    const ct = deriveVolume(input, { data: Float32Array.from(input.data), modality: 'CT' });
    expect((await asyncErrorOf(() => applyHarmonizer(model, ct))).message).toMatch(/is CT but the harmonizer was fitted on MR images/);
    const labels = deriveVolume(input, { data: new Uint8Array(input.data.length), kind: 'label' });
    expect((await asyncErrorOf(() => applyHarmonizer(model, labels))).message).toMatch(/label map/);
    const nan = Float32Array.from(input.data);
    nan[123] = NaN;
    expect((await asyncErrorOf(() => applyHarmonizer(model, deriveVolume(input, { data: nan })))).shortCode).toBe('NON_FINITE_VALUES');
    const wrongMask = await asyncErrorOf(() => applyHarmonizer(model, input, { mask: new Uint8Array(10) }));
    expect(wrongMask.shortCode).toBe('GEOMETRY_MISMATCH');
  });
});

describe('fit input checks', () => {
  it('refuses mismatched modalities among the fit volumes, naming them', async () => {
    const sites = siteVolumes();
    const ref = sites.siteA as ReturnType<typeof heldOut>['image'][];
    const ct = deriveVolume(ref[1], { data: Float32Array.from(ref[1].data), modality: 'CT', meta: { ...ref[1].meta, source: 'ct.nii.gz' } });
    const e = await asyncErrorOf(() => fitHarmonizer({ method: 'nyul', sites: { ...sites, siteA: [ref[0], ct] }, reference: 'siteA' }));
    expect(e.shortCode).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/mismatched modalities: .* is MR but ct\.nii\.gz is CT/);
  });

  it('refuses an empty site, an unknown reference and a bad site name', async () => {
    const sites = siteVolumes();
    expect((await asyncErrorOf(() => fitHarmonizer({ method: 'zscore', sites: { ...sites, siteA: [] }, reference: 'siteA' }))).message).toMatch(/site siteA has 0 subjects/);
    expect((await asyncErrorOf(() => fitHarmonizer({ method: 'zscore', sites, reference: 'siteX' }))).message).toMatch(/reference site "siteX" is not among the sites \(siteA, siteB, siteC\)/);
    expect((await asyncErrorOf(() => fitHarmonizer({ method: 'zscore', sites: { 'bad name': sites.siteA }, reference: 'bad name' }))).message).toMatch(/reference must be/);
    expect((await asyncErrorOf(() => fitHarmonizer({ method: 'combat' as IntensityMethod, sites, reference: 'siteA' }))).message).toMatch(/fitCombat/);
  });

  it('refuses a reference volume whose mask is empty', async () => {
    const v = siteVolumes().siteA[0] as ReturnType<typeof heldOut>['image'];
    const e = await asyncErrorOf(() => fitHarmonizer({ method: 'histmatch', sites: { siteA: [{ volume: v, mask: new Uint8Array(v.data.length), name: 'a0' }] }, reference: 'siteA' }));
    expect(isVoxshiftError(e, 'INVALID_VOLUME')).toBe(true);
    expect(e.message).toMatch(/a0: the foreground mask is empty/);
  });

  it('refuses a constant image', async () => {
    const flat = createVolume({ data: new Float32Array(8 * 8 * 8).fill(5), shape: [8, 8, 8], modality: 'MR' });
    const err = await asyncErrorOf(() => fitHarmonizer({ method: 'zscore', sites: { siteA: [{ volume: flat, mask: new Uint8Array(512).fill(1) }] }, reference: 'siteA' }));
    expect(err.shortCode).toBe('INVALID_VOLUME');
    expect(err.message).toMatch(/constant/);
  });
});
