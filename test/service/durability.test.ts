/**
 * Durability: the server (`voxshift serve`, a child process) is killed with SIGKILL while a job runs
 * and two wait; a new server on the same data folder finishes every accepted job (or fails it with a
 * reason), and no input is lost. Also: a job interrupted too often is failed with INTERRUPTED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../service/app.ts';
import { JobStore } from '../../service/job-store.ts';
import type { Job } from '../../service/schemas.ts';
import { multipartBody, phantomMrFile, sleep, tempDir, waitForJob } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function startServer(dataDir: string): Promise<{ proc: ChildProcess; url: string }> {
  const code = `import('./cli/main.ts').then((m) => m.main(['serve', '--port', '0', '--data', ${JSON.stringify(dataDir)}, '--threads', '1', '--rate-limit', '100000']))`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}${err}`)), 60_000);
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.on('exit', (c) => reject(new Error(`server exited (${c}): ${out}${err}`)));
  });
}

let dir: string;
let proc: ChildProcess | undefined;

beforeAll(async () => {
  dir = await tempDir('durable');
});
afterAll(async () => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('durable jobs', () => {
  it('SIGKILL mid-job: after a restart every accepted job finishes (or fails with a reason); inputs kept', async () => {
    const dataDir = join(dir, 'data');
    const big = await phantomMrFile(dir, [128, 128, 48], 5);
    const small = await phantomMrFile(dir, [32, 32, 6], 6);
    const first = await startServer(dataDir);
    proc = first.proc;
    const submit = async (url: string, file: Buffer): Promise<Job> => {
      const mp = multipartBody([
        { name: 'kind', value: 'translate' },
        { name: 'model', value: 'phantom-mr2ct-pix2pix-2d' },
        { name: 'file', value: file, filename: 'mr.nii.gz' },
      ]);
      const r = await fetch(`${url}/v1/jobs`, { method: 'POST', body: mp.body, headers: { 'content-type': mp.contentType } });
      expect(r.status).toBe(202);
      return (await r.json()) as Job;
    };
    const get = async (url: string, id: string): Promise<Job> => (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as Job;
    const accepted = [await submit(first.url, big.bytes), await submit(first.url, small.bytes), await submit(first.url, small.bytes)];
    // Kill while the big one is translating (the model is loaded and slices are going through).
    const t0 = Date.now();
    let seen: Job;
    do {
      await sleep(50);
      seen = await get(first.url, accepted[0].id);
    } while (!(seen.state === 'running' && seen.progress > 0.1) && seen.state !== 'succeeded' && Date.now() - t0 < 60_000);
    expect(seen.state).toBe('running');
    proc.kill('SIGKILL');
    await new Promise((r) => proc?.once('exit', r));

    // What a crash leaves: records on disk, the first one 'running', every input present.
    const store = new JobStore(dataDir);
    const onDisk = await store.listJobs();
    expect(onDisk.map((j) => j.id).sort()).toEqual(accepted.map((j) => j.id).sort());
    expect(onDisk.find((j) => j.id === accepted[0].id)?.state).toBe('running');
    for (const j of onDisk) {
      const up = await store.getUpload(j.upload);
      expect(up).toBeDefined();
      expect(await readdir(store.uploadDir(j.upload))).toContain(up?.format === 'nifti' ? 'input.nii.gz' : 'input');
    }

    const second = await startServer(dataDir);
    proc = second.proc;
    const final = await Promise.all(accepted.map((j) => waitForJob(() => get(second.url, j.id), 90_000)));
    for (const j of final) {
      expect(['succeeded', 'failed']).toContain(j.state);
      if (j.state === 'failed') expect(j.error?.code).toMatch(/^VOXSHIFT_E_/);
    }
    expect(final.every((j) => j.state === 'succeeded')).toBe(true);
    expect(final[0].attempts).toBe(2);
    expect(final[0].warnings.map((w) => w.code)).toContain('RESTARTED');
    const res = await fetch(`${second.url}/v1/jobs/${accepted[0].id}/result`);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(final[0].result?.bytes);
    proc.kill('SIGTERM');
    await new Promise((r) => proc?.once('exit', r));
  });

  it('a graceful close right after jobs were accepted returns promptly; they stay queued and run after the next start', async () => {
    const dataDir = join(dir, 'close');
    const mr = await phantomMrFile(dir, [32, 32, 6], 8);
    const submit = async (app: Awaited<ReturnType<typeof buildApp>>): Promise<Job> => {
      const mp = multipartBody([
        { name: 'kind', value: 'translate' },
        { name: 'model', value: 'phantom-mr2ct-pix2pix-2d' },
        { name: 'file', value: mr.bytes, filename: 'mr.nii.gz' },
      ]);
      const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: mp.body, headers: { 'content-type': mp.contentType } });
      expect(r.statusCode).toBe(202);
      return r.json() as Job;
    };
    const first = await buildApp({ dataDir });
    await first.ready();
    const accepted = [await submit(first), await submit(first)];
    const t0 = Date.now();
    await first.close(); // taken from the queue, not started: must neither hang nor start them
    expect(Date.now() - t0).toBeLessThan(20_000);
    const onDisk = await new JobStore(dataDir).listJobs();
    for (const j of onDisk) expect(['queued', 'succeeded']).toContain(j.state);

    const second = await buildApp({ dataDir });
    try {
      await second.ready();
      for (const a of accepted) {
        const j = await waitForJob(async () => (await second.inject(`/v1/jobs/${a.id}`)).json() as Job, 90_000);
        expect(j.state).toBe('succeeded');
        expect(j.attempts).toBe(1);
        expect(j.warnings.map((w) => w.code)).not.toContain('RESTARTED');
      }
    } finally {
      await second.close();
    }
  });

  it('fails a job found running after its last allowed attempt with INTERRUPTED; re-queues a queued one', async () => {
    const dataDir = join(dir, 'recover');
    await mkdir(dataDir, { recursive: true });
    const store = new JobStore(dataDir);
    await store.init();
    const base = { kind: 'translate', model: 'no-such-model', params: {}, progress: 0.4, createdAt: new Date().toISOString(), timings: {}, warnings: [] as Job['warnings'] } as const;
    const crashed: Job = { ...base, id: '11111111-1111-4111-8111-111111111111', upload: '22222222-2222-4222-8222-222222222222', state: 'running', attempts: 2 };
    const waiting: Job = { ...base, id: '33333333-3333-4333-8333-333333333333', upload: '22222222-2222-4222-8222-222222222222', state: 'queued', attempts: 0 };
    await store.saveJob(crashed);
    await store.saveJob(waiting);
    const app = await buildApp({ dataDir, maxAttempts: 2 });
    try {
      await app.ready();
      const a = (await app.inject(`/v1/jobs/${crashed.id}`)).json();
      expect(a.state).toBe('failed');
      expect(a.error.code).toBe('VOXSHIFT_E_INTERRUPTED');
      expect(a.error.message).toContain('2 times');
      // the queued one ran again: it fails, with a reason, because its upload is gone
      const b = await waitForJob(async () => (await app.inject(`/v1/jobs/${waiting.id}`)).json());
      expect(b.state).toBe('failed');
      expect(b.error).toMatchObject({ code: 'VOXSHIFT_E_NOT_FOUND', param: 'upload' });
    } finally {
      await app.close();
    }
  });
});
