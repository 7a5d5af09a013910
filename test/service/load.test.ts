/**
 * Load over a real loopback socket: 50 concurrent autocannon clients poll job status (until the jobs
 * have finished, at most 20 s) while translation jobs run in the worker; no errors, no non-2xx, and the p99
 * status latency is printed.
 */
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../service/app.ts';
import type { Job } from '../../service/schemas.ts';
import { multipartBody, phantomMrFile, sleep, tempDir } from './helpers.ts';

let app: FastifyInstance;
let url: string;
const dirs: string[] = [];

beforeAll(async () => {
  const dir = await tempDir('load');
  dirs.push(dir);
  app = await buildApp({ dataDir: join(dir, 'data'), rateLimitPerMinute: 1_000_000, threads: 1 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('status polling under load', () => {
  it('50 clients poll while jobs translate: no errors, p99 printed', async () => {
    const vol = await phantomMrFile(dirs[0], [128, 128, 24], 8);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const mp = multipartBody([
        { name: 'kind', value: 'translate' },
        { name: 'model', value: 'phantom-mr2ct-pix2pix-2d' },
        { name: 'file', value: vol.bytes, filename: 'mr.nii.gz' },
      ]);
      const r = await fetch(`${url}/v1/jobs`, { method: 'POST', body: mp.body, headers: { 'content-type': mp.contentType } });
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as Job).id);
    }
    // Load runs until every job has finished (at most 20 s); the states seen meanwhile are recorded.
    const getJob = async (id: string): Promise<Job> => (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as Job;
    const seen = new Set<string>();
    let finished!: (r: autocannon.Result) => void;
    let failed!: (e: unknown) => void;
    const done = new Promise<autocannon.Result>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    const run = autocannon(
      {
        url,
        connections: 50,
        duration: 20,
        requests: ids.map((id) => ({ method: 'GET' as const, path: `/v1/jobs/${id}` })),
      },
      (err, res) => (err ? failed(err) : finished(res)),
    );
    let final: Job[];
    for (;;) {
      final = await Promise.all(ids.map(getJob));
      for (const j of final) seen.add(j.state);
      if (final.every((j) => j.state === 'succeeded' || j.state === 'failed')) break;
      await sleep(100);
    }
    run.stop();
    const result = await done;
    process.stdout.write(
      `status polling: ${result.requests.total} requests from 50 clients in ${result.duration} s while 3 jobs ran, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ` +
        `errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}\n`,
    );
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.requests.total).toBeGreaterThanOrEqual(200);
    expect(seen.has('running')).toBe(true);
    expect(final.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});
