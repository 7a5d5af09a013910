import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../service/app.ts';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { readVolume, writeVolume } from '../../volumes/io.ts';
import { deriveVolume, type Volume } from '../../volumes/volume.ts';
import { multipartBody, tempDir, waitForJob, type Part } from './helpers.ts';

const MODEL = 'phantom-mr2ct-pix2pix-2d';
const WRITE = 'write-key-123456';
const READ = 'read-key-1234567';
const SHAPE = [32, 32, 6] as const;

let dir: string;
let app: FastifyInstance;
let files: { t1: Buffer; ct: Buffer; blobCt: Buffer; labels: Buffer; ctVol: Volume };
const auth = { authorization: `Bearer ${WRITE}` };
const readAuth = { authorization: `Bearer ${READ}` };

function post(url: string, parts: Part[], headers: Record<string, string> = auth) {
  const mp = multipartBody(parts);
  return app.inject({ method: 'POST', url, payload: mp.body, headers: { 'content-type': mp.contentType, ...headers } });
}
const postJson = (payload: Record<string, unknown>, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url: '/v1/jobs', payload, headers });
const get = (url: string, headers: Record<string, string> = readAuth) => app.inject({ url, headers });
const finished = async (id: string) => waitForJob(async () => (await get(`/v1/jobs/${id}`)).json(), 90_000);

async function volumeOf(bytes: Buffer, name: string): Promise<Volume> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return readVolume(p);
}

beforeAll(async () => {
  dir = await tempDir('kinds');
  const { t1, ct, labels } = generatePhantom({ region: 'head', seed: 3, shape: [...SHAPE], spacing: [6.4, 6.4, 2] });
  const blob = Float32Array.from(ct.data);
  const [nx, ny, nz] = SHAPE;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const dx = (i - nx / 2) * 6.4;
        const dy = (j - ny / 2) * 6.4;
        const dz = (k - nz / 2) * 2;
        if (dx * dx + dy * dy + dz * dz < 100) blob[i + nx * (j + ny * k)] = 1200;
      }
  const write = async (v: Volume, name: string): Promise<Buffer> => {
    await writeVolume(v, join(dir, name), { overwrite: true });
    return readFile(join(dir, name));
  };
  files = {
    t1: await write(t1, 't1.nii.gz'),
    ct: await write(ct, 'ct.nii.gz'),
    blobCt: await write(deriveVolume(ct, { data: blob }), 'blob-ct.nii.gz'),
    labels: await write(labels, 'labels.nii.gz'),
    ctVol: ct,
  };
  // A z-score harmonizer as `voxshift harmonize fit` writes it, and a ComBat one (not offered: tables only).
  const models = join(dir, 'models');
  await mkdir(models, { recursive: true });
  const common = { format: 'voxshift-harmonizer', version: 1, reference: 'siteA', sites: ['siteA', 'siteB'], subjects: { siteA: 4, siteB: 4 }, voxshift: '0.1.0' };
  await writeFile(join(models, 'zscore-a.json'), JSON.stringify({ ...common, method: 'zscore', modality: 'MR', mask: { type: 'body' }, parameters: { mean: 100, std: 20 } }));
  await writeFile(join(models, 'broken.json'), '{"format": "voxshift-harmonizer", "version": 1');
  app = await buildApp({ dataDir: join(dir, 'data'), modelsDir: models, apiKeys: [{ key: WRITE, scope: 'write' }, { key: READ, scope: 'read' }] });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('job kinds end to end', () => {
  it('lists harmonizers beside translation models', async () => {
    const models = (await get('/v1/models')).json().models as { id: string; type: string; manifest: Record<string, unknown> }[];
    expect(models.map((m) => [m.id, m.type])).toEqual([
      ['phantom-mr2ct-cyclegan-2d', 'translation'],
      ['phantom-mr2ct-pix2pix-2d', 'translation'],
      ['zscore-a', 'harmonizer'],
    ]);
    expect(models[2].manifest).toMatchObject({ method: 'zscore', reference: 'siteA' });
    expect(models[2].manifest.parameters).toBeUndefined();
  });

  it('harmonize: z-scores onto the reference site; NIfTI and DICOM results; source, result and difference volumes', async () => {
    const r = await post('/v1/jobs', [{ name: 'kind', value: 'harmonize' }, { name: 'model', value: 'zscore-a' }, { name: 'file', value: files.t1, filename: 't1.nii.gz' }]);
    expect(r.statusCode).toBe(202);
    const done = await finished(r.json().id);
    expect(done).toMatchObject({ state: 'succeeded', kind: 'harmonize', model: 'zscore-a', result: { format: 'nifti' } });
    expect(done.progressDetail).toBeUndefined();
    const src = await volumeOf(files.t1, 'src.nii.gz');
    const out = await volumeOf((await get(`/v1/jobs/${done.id}/result`)).rawPayload, 'harm.nii.gz');
    expect(out.shape).toEqual(src.shape);
    expect(out.spacing).toEqual(src.spacing);
    // a z-score map is affine in the input: the brightest input voxel is the brightest output voxel
    const argmax = (d: ArrayLike<number>): number => {
      let best = 0;
      for (let i = 1; i < d.length; i++) if (d[i] > d[best]) best = i;
      return best;
    };
    expect(argmax(out.data)).toBe(argmax(src.data));
    const diff = await volumeOf((await get(`/v1/jobs/${done.id}/volumes/difference`)).rawPayload, 'diff.nii.gz');
    const last = src.data.length - 1;
    expect(diff.data[last]).toBeCloseTo(out.data[last] - src.data[last], 3);
    const source = await get(`/v1/jobs/${done.id}/volumes/source`);
    expect(source.statusCode).toBe(200);
    expect(source.rawPayload.equals(files.t1)).toBe(true);
    const findings = await get(`/v1/jobs/${done.id}/volumes/findings`);
    expect(findings.statusCode).toBe(404);
    expect(findings.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'name' });

    const dicom = await get(`/v1/jobs/${done.id}/result?format=dicom`);
    expect(dicom.statusCode).toBe(200);
    expect(dicom.headers['content-type']).toBe('application/zip');
    const entries = unzipSync(new Uint8Array(dicom.rawPayload));
    const names = Object.keys(entries).sort();
    expect(names).toHaveLength(SHAPE[2]);
    const series = join(dir, 'series');
    await mkdir(series, { recursive: true });
    for (const n of names) await writeFile(join(series, n.split('/').pop() as string), entries[n]);
    const back = await readVolume(series);
    expect(back.shape).toEqual(out.shape);
    expect(back.spacing[0]).toBeCloseTo(out.spacing[0], 4);
    expect(back.data[last]).toBeCloseTo(out.data[last], 1);
    // the same by Accept, made once and kept
    const byAccept = await app.inject({ url: `/v1/jobs/${done.id}/result`, headers: { ...readAuth, accept: 'application/zip' } });
    expect(byAccept.rawPayload.equals(dicom.rawPayload)).toBe(true);
  });

  it('augment: N seeded image/label pairs in a zip with manifest.jsonl; the same seed gives the same bytes', async () => {
    const parts = (seed: number): Part[] => [
      { name: 'kind', value: 'augment' },
      { name: 'params', value: JSON.stringify({ preset: 'mr', seed, count: 3 }) },
      { name: 'file', value: files.t1, filename: 'case01.nii.gz' },
      { name: 'label', value: files.labels, filename: 'case01-labels.nii.gz' },
    ];
    const ids = await Promise.all([post('/v1/jobs', parts(7)), post('/v1/jobs', parts(7)), post('/v1/jobs', parts(8))].map(async (p) => (await p).json().id as string));
    const jobs = [];
    for (const id of ids) jobs.push(await finished(id));
    expect(jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(jobs[0]).toMatchObject({ model: 'preset:mr', result: { format: 'zip' }, inputs: { label: { upload: expect.any(String) } } });
    const zips = await Promise.all(ids.map(async (id) => unzipSync(new Uint8Array((await get(`/v1/jobs/${id}/result`)).rawPayload))));
    expect(Object.keys(zips[0]).sort()).toEqual([
      'augment.json',
      'images/case01_0000.nii.gz',
      'images/case01_0001.nii.gz',
      'images/case01_0002.nii.gz',
      'labels/case01_0000.nii.gz',
      'labels/case01_0001.nii.gz',
      'labels/case01_0002.nii.gz',
      'manifest.jsonl',
    ]);
    const manifest = new TextDecoder().decode(zips[0]['manifest.jsonl']).trim().split('\n').map((l) => JSON.parse(l) as { sample: string; seed: number; label: string; history: { image: unknown[] } });
    expect(manifest.map((m) => m.sample)).toEqual(['case01_0000', 'case01_0001', 'case01_0002']);
    expect(new Set(manifest.map((m) => m.seed)).size).toBe(3);
    expect(manifest.every((m) => m.history.image.length > 0)).toBe(true);
    const bytes = (z: Record<string, Uint8Array>, n: string): Buffer => Buffer.from(z[n]);
    expect(bytes(zips[0], 'images/case01_0001.nii.gz').equals(bytes(zips[1], 'images/case01_0001.nii.gz'))).toBe(true);
    expect(bytes(zips[0], 'images/case01_0001.nii.gz').equals(bytes(zips[2], 'images/case01_0001.nii.gz'))).toBe(false);
    // labels stay labels: only the phantom's label values, on the image grid
    await writeFile(join(dir, 'aug-label.nii.gz'), zips[0]['labels/case01_0002.nii.gz']);
    const label = await readVolume(join(dir, 'aug-label.nii.gz'));
    const original = await volumeOf(files.labels, 'orig-labels.nii.gz');
    expect(label.shape).toEqual(original.shape);
    const allowed = new Set(original.data);
    expect([...new Set(label.data)].every((v) => allowed.has(v))).toBe(true);
    const nifti = await get(`/v1/jobs/${ids[0]}/result?format=nifti`);
    expect(nifti.statusCode).toBe(400);
    expect(nifti.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'format', details: { accepted: ['zip'] } });
  });

  it('validate: the true CT passes, a CT with a bone blob in the brain fails with a flagged region; report JSON and HTML', async () => {
    const pass = await post('/v1/jobs', [{ name: 'kind', value: 'validate' }, { name: 'file', value: files.t1, filename: 't1.nii.gz' }, { name: 'synthetic', value: files.ct, filename: 'ct.nii.gz' }]);
    expect(pass.statusCode).toBe(202);
    const fail = await post('/v1/jobs', [
      { name: 'kind', value: 'validate' },
      { name: 'params', value: JSON.stringify({ thresholds: { minVolumeMm3: 200 } }) },
      { name: 'file', value: files.t1, filename: 't1.nii.gz' },
      { name: 'synthetic', value: files.blobCt, filename: 'blob.nii.gz' },
      { name: 'reference', value: files.ct, filename: 'ct.nii.gz' },
    ]);
    expect(fail.statusCode).toBe(202);
    const p = await finished(pass.json().id);
    const f = await finished(fail.json().id);
    expect(p).toMatchObject({ state: 'succeeded', model: 'consistency', result: { format: 'report' }, verdict: { verdict: 'pass', findings: 0 } });
    expect(f).toMatchObject({ state: 'succeeded', verdict: { verdict: 'fail' } });
    expect(f.verdict.findings).toBeGreaterThanOrEqual(1);
    const report = (await get(`/v1/jobs/${f.id}/result`)).json();
    expect(report.verdict).toBe('fail');
    expect(report.format).toBe('voxshift-validation-report');
    expect(report.inputs.reference).not.toBeNull();
    expect(report.inputs.synthetic.file).toMatch(/^input\.nii\.gz$/);
    const hallucinated = report.findings.filter((x: { type: string }) => x.type === 'hallucinated');
    expect(hallucinated.length).toBeGreaterThanOrEqual(1);
    // the flagged region is where the blob was put (the middle of the grid)
    const c = hallucinated[0].centroidVoxel as number[];
    expect(Math.abs(c[0] - SHAPE[0] / 2)).toBeLessThan(3);
    expect(Math.abs(c[1] - SHAPE[1] / 2)).toBeLessThan(3);
    const html = await app.inject({ url: `/v1/jobs/${f.id}/result`, headers: { ...readAuth, accept: 'text/html' } });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('hallucinated');
    expect(html.body).toContain('fail');
    // the report's PNG overlays come inlined: the page shows them without further (authorised) requests
    expect(html.body).toContain('src="data:image/png;base64,');
    expect(html.body).not.toMatch(/src="(overview|finding-\d+)\.png"/);
    expect(f.result.files).toEqual(expect.arrayContaining(['report/report.json', 'report/report.html', 'report/overview.png', 'findings.nii.gz']));
    const findings = await volumeOf((await get(`/v1/jobs/${f.id}/volumes/findings`)).rawPayload, 'findings.nii.gz');
    const at = Math.round(c[0]) + SHAPE[0] * (Math.round(c[1]) + SHAPE[1] * Math.round(c[2]));
    expect(findings.data[at]).toBe(hallucinated[0].id);
    const synthetic = await get(`/v1/jobs/${f.id}/volumes/result`);
    expect(synthetic.rawPayload.equals(files.blobCt)).toBe(true);
  });

  it('translate with validate: true carries a verdict; a validate job can take its result and its source by reference', async () => {
    const r = await post('/v1/jobs', [
      { name: 'kind', value: 'translate' },
      { name: 'model', value: MODEL },
      { name: 'params', value: '{"validate":true}' },
      { name: 'file', value: files.t1, filename: 't1.nii.gz' },
    ]);
    const t = await finished(r.json().id);
    expect(t.state).toBe('succeeded');
    expect(['pass', 'fail']).toContain(t.verdict.verdict);
    expect(t.result.files).toEqual(expect.arrayContaining(['result.nii.gz', 'difference.nii.gz', 'report/report.json', 'report/report.html', 'findings.nii.gz']));
    expect(t.result.modality).toBe('CT');
    const report = (await get(`/v1/jobs/${t.id}/result?format=json`)).json();
    expect(report.verdict).toBe(t.verdict.verdict);
    expect(report.findings).toHaveLength(t.verdict.findings);
    const v = await postJson({ kind: 'validate', inputs: { synthetic: { job: t.id } } });
    expect(v.statusCode).toBe(202);
    expect(v.json().upload).toBe(t.upload);
    const done = await finished(v.json().id);
    expect(done.state).toBe('succeeded');
    expect(done.verdict.verdict).toBe(t.verdict.verdict);
    expect(done.verdict.findings).toBe(t.verdict.findings);
  });
});

describe('job kinds: errors', () => {
  let upload: string;
  beforeAll(async () => {
    upload = (await post('/v1/uploads', [{ name: 'file', value: files.t1, filename: 't1.nii.gz' }])).json().id;
  });

  it('rejects params that do not fit the kind, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: 'augment', upload, params: { preset: 'mr', count: 0 } }, 'params.count'],
      [{ kind: 'augment', upload, params: { preset: 'mr', count: 500 } }, 'params.count'],
      [{ kind: 'augment', upload, params: { preset: 'xray', count: 1 } }, 'params.preset'],
      [{ kind: 'augment', upload, params: { count: 1 } }, 'params.preset'],
      [{ kind: 'augment', upload, params: { preset: 'mr', pipeline: [], count: 1 } }, 'params.preset'],
      [{ kind: 'translate', model: MODEL, upload, params: { count: 3 } }, 'params.count'],
      [{ kind: 'harmonize', model: 'zscore-a', upload, params: { site: 3 } }, 'params.site'],
      [{ kind: 'validate', upload, inputs: { synthetic: { upload } }, params: { thresholds: { minDice: 2 } } }, 'params.thresholds.minDice'],
      [{ kind: 'augment', model: MODEL, upload, params: { preset: 'mr', count: 1 } }, 'model'],
      [{ kind: 'harmonize', upload }, 'model'],
      [{ kind: 'validate', upload }, 'inputs.synthetic'],
      [{ kind: 'translate', model: MODEL, upload, inputs: { label: { upload } } }, 'inputs.label'],
      [{ kind: 'validate', upload, inputs: { synthetic: { file: 'x' } } }, 'inputs.synthetic'],
    ];
    for (const [payload, param] of cases) {
      const r = await postJson(payload);
      expect([r.statusCode, r.json().code, r.json().param], JSON.stringify(payload)).toEqual([400, 'VOXSHIFT_E_INVALID_ARGUMENT', param]);
    }
  });

  it('rejects a pipeline that does not parse, with the parser’s message', async () => {
    const r = await postJson({ kind: 'augment', upload, params: { pipeline: [{ type: 'RandomTeleport' }], count: 1 } });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(r.json().param).toMatch(/^params\./);
    expect(r.json().message).toContain('RandomTeleport');
  });

  it('rejects unknown models and harmonizers, and unknown or unfinished referenced jobs and uploads', async () => {
    const h = await postJson({ kind: 'harmonize', model: 'broken', upload });
    expect(h.statusCode).toBe(404);
    expect(h.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'model', details: { available: ['zscore-a'] } });
    const wrongType = await postJson({ kind: 'harmonize', model: MODEL, upload });
    expect(wrongType.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'model' });
    const t = await postJson({ kind: 'translate', model: 'zscore-a', upload });
    expect(t.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'model', details: { available: ['phantom-mr2ct-cyclegan-2d', MODEL] } });
    const noJob = await postJson({ kind: 'validate', upload, inputs: { synthetic: { job: '00000000-0000-4000-8000-000000000000' } } });
    expect(noJob.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'inputs.synthetic' });
    const noUpload = await postJson({ kind: 'augment', upload, inputs: { label: { upload: '00000000-0000-4000-8000-000000000000' } }, params: { preset: 'ct', count: 1 } });
    expect(noUpload.json()).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'inputs.label' });
    // a job that is not finished yet (a big translate) cannot be an input
    const big = generatePhantom({ region: 'head', seed: 4, shape: [128, 128, 24], spacing: [1.6, 1.6, 2] }).t1;
    await writeVolume(big, join(dir, 'big.nii.gz'), { overwrite: true });
    const slow = await post('/v1/jobs', [{ name: 'kind', value: 'translate' }, { name: 'model', value: MODEL }, { name: 'file', value: await readFile(join(dir, 'big.nii.gz')), filename: 'big.nii.gz' }]);
    const early = await postJson({ kind: 'validate', upload, inputs: { synthetic: { job: slow.json().id } } });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'VOXSHIFT_E_JOB_NOT_FINISHED', param: 'inputs.synthetic' });
    const vol = await get(`/v1/jobs/${slow.json().id}/volumes/result`);
    expect(vol.statusCode).toBe(409);
    expect((await app.inject({ method: 'DELETE', url: `/v1/jobs/${slow.json().id}`, headers: auth })).statusCode).toBe(204);
    // an augment result is not an image input
    const aug = await postJson({ kind: 'augment', upload, params: { preset: 'ct', count: 1 } });
    const augDone = await finished(aug.json().id);
    const notImage = await postJson({ kind: 'validate', upload, inputs: { synthetic: { job: augDone.id } } });
    expect(notImage.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'inputs.synthetic' });
  });

  it('rejects a label or synthetic part that is not a volume, an unexpected file part, and a file with its inputs twin', async () => {
    const txt = Buffer.from('not a volume at all\n'.repeat(30));
    const r = await post('/v1/jobs', [{ name: 'kind', value: 'augment' }, { name: 'params', value: '{"preset":"mr","count":1}' }, { name: 'file', value: files.t1, filename: 'a.nii.gz' }, { name: 'label', value: txt, filename: 'labels.txt' }]);
    expect(r.statusCode).toBe(415);
    expect(r.json()).toMatchObject({ code: 'VOXSHIFT_E_UNSUPPORTED_FORMAT', param: 'file' });
    expect(r.json().message).toContain('labels.txt');
    const other = await post('/v1/jobs', [{ name: 'kind', value: 'validate' }, { name: 'file', value: files.t1, filename: 'a.nii.gz' }, { name: 'mask', value: files.t1, filename: 'm.nii.gz' }]);
    expect(other.statusCode).toBe(400);
    expect(other.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'mask' });
    const twice = await post('/v1/jobs', [
      { name: 'kind', value: 'validate' },
      { name: 'inputs', value: JSON.stringify({ synthetic: { upload } }) },
      { name: 'file', value: files.t1, filename: 'a.nii.gz' },
      { name: 'synthetic', value: files.ct, filename: 'ct.nii.gz' },
    ]);
    expect(twice.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'inputs.synthetic' });
    const badJson = await post('/v1/jobs', [{ name: 'kind', value: 'validate' }, { name: 'inputs', value: '{nope' }, { name: 'file', value: files.t1, filename: 'a.nii.gz' }]);
    expect(badJson.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'inputs' });
  });

  it('a validate job whose synthetic is on another grid fails with GEOMETRY_MISMATCH', async () => {
    const other = generatePhantom({ region: 'head', seed: 3, shape: [24, 24, 6], spacing: [6.4, 6.4, 2] }).ct;
    await writeVolume(other, join(dir, 'other.nii.gz'), { overwrite: true });
    const r = await post('/v1/jobs', [{ name: 'kind', value: 'validate' }, { name: 'file', value: files.t1, filename: 't1.nii.gz' }, { name: 'synthetic', value: await readFile(join(dir, 'other.nii.gz')), filename: 'o.nii.gz' }]);
    const done = await finished(r.json().id);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'VOXSHIFT_E_GEOMETRY_MISMATCH', param: 'synthetic' });
    expect((await get(`/v1/jobs/${done.id}/result`)).json().code).toBe('VOXSHIFT_E_JOB_NOT_FINISHED');
  });

  it('needs a key for results and volumes; a read-only key cannot create jobs', async () => {
    const any = (await get('/v1/jobs')).json().jobs.find((j: { state: string }) => j.state === 'succeeded');
    for (const url of [`/v1/jobs/${any.id}/result`, `/v1/jobs/${any.id}/volumes/source`]) {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('VOXSHIFT_E_UNAUTHORIZED');
    }
    const ro = await postJson({ kind: 'augment', upload, params: { preset: 'mr', count: 1 } }, readAuth);
    expect(ro.statusCode).toBe(403);
    const badName = await get(`/v1/jobs/${any.id}/volumes/secrets`);
    expect(badName.statusCode).toBe(400);
    expect(badName.json().code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    const csv = await app.inject({ url: `/v1/jobs/${any.id}/result`, headers: { ...readAuth, accept: 'text/csv' } });
    expect(csv.statusCode).toBe(400);
    expect(csv.json()).toMatchObject({ code: 'VOXSHIFT_E_INVALID_ARGUMENT', param: 'accept' });
  });

  it('lists the new routes in the OpenAPI document with the per-kind params schemas', async () => {
    const doc = (await app.inject('/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/jobs/{id}/result', '/v1/jobs/{id}/volumes/{name}']));
    expect(Object.keys(doc.paths)).not.toContain('/');
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['TranslateParams', 'HarmonizeParams', 'AugmentParams', 'ValidateParams']));
    expect(doc.paths['/v1/jobs/{id}/result'].get.parameters.find((p: { name: string }) => p.name === 'format').schema.anyOf.map((s: { enum?: string[]; const?: string }) => s.const ?? s.enum?.[0])).toEqual([
      'nifti',
      'dicom',
      'zip',
      'json',
      'html',
    ]);
  });
});
