/**
 * One queue, many machines, end to end: a real redis-server, `voxshift serve --redis` and two
 * `voxshift worker` processes (child processes on the same data folder, as machines sharing storage
 * would). DELETE cancels a waiting and a running job (no record comes back); a worker SIGKILLed mid-job
 * loses nothing: BullMQ's stalled-job check (short lock and interval here) hands the job to the other
 * worker, and every accepted job finishes with its input kept and its result downloadable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../../service/job-store.ts';
import type { Job } from '../../../service/schemas.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { multipartBody, phantomMrFile, sleep, tempDir, waitForJob } from '../helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MODEL = 'phantom-mr2ct-pix2pix-2d';

interface Proc {
  proc: ChildProcess;
  out: () => string;
}

/** Runs `voxshift ARGS` from the sources; resolves once stdout matches `ready`. */
function voxshift(args: string[], ready: RegExp): Promise<Proc & { match: RegExpExecArray }> {
  const code = `import('./cli/main.ts').then((m) => m.main(${JSON.stringify(args)}))`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`voxshift ${args[0]} did not start: ${out}${err}`)), 60_000);
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, out: () => out, match: m });
      }
    });
    proc.on('exit', (c) => reject(new Error(`voxshift ${args[0]} exited (${c}): ${out}${err}`)));
  });
}

let redis: RedisServer;
let dir: string;
let dataDir: string;
let server: Proc & { url: string };
const workers: Proc[] = [];

beforeAll(async () => {
  dir = await tempDir('remote');
  dataDir = join(dir, 'data');
  redis = await startRedisServer();
  const s = await voxshift(['serve', '--port', '0', '--data', dataDir, '--redis', redis.url, '--rate-limit', '100000', '--queue-size', '20'], /listening on (http:\/\/\S+)/);
  server = { ...s, url: s.match[1] };
  const flags = ['--redis', redis.url, '--data', dataDir, '--threads', '1', '--lock-duration', '1500', '--stalled-interval', '500'];
  workers.push(...(await Promise.all([voxshift(['worker', ...flags], /consuming/), voxshift(['worker', ...flags], /consuming/)])));
}, 90_000);

afterAll(async () => {
  for (const p of [...workers, server]) if (p && p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function submit(file: Buffer): Promise<Job> {
  const mp = multipartBody([
    { name: 'kind', value: 'translate' },
    { name: 'model', value: MODEL },
    { name: 'file', value: file, filename: 'mr.nii.gz' },
  ]);
  const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: mp.body, headers: { 'content-type': mp.contentType } });
  expect(r.status).toBe(202);
  return (await r.json()) as Job;
}
const get = async (id: string): Promise<Job> => (await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as Job;
async function waitRunning(id: string, minProgress: number): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const j = await get(id);
    if ((j.state === 'running' && j.progress >= minProgress) || j.state === 'succeeded' || j.state === 'failed' || Date.now() - t0 > 40_000) return j;
    await sleep(50);
  }
}
/** The worker whose log says it started job `id`. */
const runnerOf = (id: string): Proc | undefined => workers.find((w) => w.out().includes(`job ${id} started`));

describe('voxshift serve --redis with two voxshift workers', () => {
  it('DELETE cancels a waiting job and a running one; the worker moves on', async () => {
    const big = await phantomMrFile(dir, [96, 96, 24], 7);
    const a = await submit(big.bytes);
    const b = await submit(big.bytes);
    const c = await submit(big.bytes);
    const ra = await waitRunning(a.id, 0.05);
    expect(ra.state).toBe('running');
    expect((await get(c.id)).state).toBe('queued');
    expect((await fetch(`${server.url}/v1/jobs/${c.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${server.url}/v1/jobs/${a.id}`, { method: 'DELETE' })).status).toBe(204);
    const t0 = Date.now();
    while (!workers.some((w) => w.out().includes(`job ${a.id} cancelled`)) && Date.now() - t0 < 10_000) await sleep(50);
    expect(workers.some((w) => w.out().includes(`job ${a.id} cancelled`))).toBe(true);
    const fb = await waitForJob(() => get(b.id), 40_000);
    expect(fb.state).toBe('succeeded');
    await sleep(300);
    for (const id of [a.id, c.id]) {
      expect((await fetch(`${server.url}/v1/jobs/${id}`)).status).toBe(404);
      await expect(access(join(dataDir, 'jobs', id, 'job.json'))).rejects.toThrow();
    }
    expect(workers.some((w) => w.out().includes(`job ${c.id} started`))).toBe(false);
  }, 60_000);

  it('SIGKILL of a worker mid-job: every accepted job finishes on the other, inputs kept', async () => {
    const big = await phantomMrFile(dir, [96, 96, 24], 8);
    const small = await phantomMrFile(dir, [32, 32, 6], 9);
    const accepted = [await submit(big.bytes), await submit(small.bytes), await submit(small.bytes), await submit(small.bytes)];
    const seen = await waitRunning(accepted[0].id, 0.1);
    expect(seen.state).toBe('running');
    let victim = runnerOf(accepted[0].id);
    for (let i = 0; i < 50 && !victim; i++) {
      await sleep(100);
      victim = runnerOf(accepted[0].id);
    }
    expect(victim).toBeDefined();
    victim?.proc.kill('SIGKILL');
    await new Promise((r) => victim?.proc.once('exit', r));

    const final = await Promise.all(accepted.map((j) => waitForJob(() => get(j.id), 50_000)));
    for (const j of final) {
      expect(['succeeded', 'failed']).toContain(j.state);
      if (j.state === 'failed') expect(j.error?.code).toMatch(/^VOXSHIFT_E_/);
    }
    expect(final.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(final[0].attempts).toBe(2);
    expect(final[0].warnings.map((w) => w.code)).toContain('RESTARTED');
    const survivor = workers.find((w) => w !== victim);
    expect(survivor?.out()).toContain(`job ${accepted[0].id} started (attempt 2)`);
    const store = new JobStore(dataDir);
    for (const j of final) {
      const up = await store.getUpload(j.upload);
      expect(up).toBeDefined();
      expect(await readdir(store.uploadDir(j.upload))).toContain('input.nii.gz');
      const res = await fetch(`${server.url}/v1/jobs/${j.id}/result`);
      expect(res.status).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(j.result?.bytes);
    }
  }, 60_000);
});
