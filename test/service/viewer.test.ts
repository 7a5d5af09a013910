/**
 * The viewer: its pages and scripts over inject(), and in Debian chromium (playwright-core, headless,
 * WebGL2 through Chromium's software fallback with the flags of .tmp/common.md — no extra flags were
 * needed): a finished translate job (validated) opened on a loopback server, NiiVue's three canvases
 * checked for drawn, non-uniform pixels in a screenshot.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../service/app.ts';
import { multipartBody, phantomMrFile, tempDir, waitForJob } from './helpers.ts';

const WRITE = 'write-key-123456';
const READ = 'read-key-1234567';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir: string;
let app: FastifyInstance;
let url: string;
let jobId: string;

beforeAll(async () => {
  dir = await tempDir('viewer');
  app = await buildApp({ dataDir: join(dir, 'data'), apiKeys: [{ key: WRITE, scope: 'write' }, { key: READ, scope: 'read' }] });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  const mr = await phantomMrFile(dir, [48, 48, 8]);
  const mp = multipartBody([
    { name: 'kind', value: 'translate' },
    { name: 'model', value: 'phantom-mr2ct-pix2pix-2d' },
    { name: 'params', value: '{"validate":true}' },
    { name: 'file', value: mr.bytes, filename: 'mr.nii.gz' },
  ]);
  const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: mp.body, headers: { 'content-type': mp.contentType, authorization: `Bearer ${WRITE}` } });
  jobId = r.json().id;
  const done = await waitForJob(async () => (await app.inject({ url: `/v1/jobs/${jobId}`, headers: { authorization: `Bearer ${READ}` } })).json());
  expect(done.state).toBe('succeeded');
}, 60_000);
afterAll(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('viewer routes', () => {
  it('serves the pages and scripts without a key (they hold no data), outside the OpenAPI document', async () => {
    const index = await app.inject('/');
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.body).toContain('/viewer/app.js');
    const page = await app.inject(`/jobs/${jobId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('id="views"');
    const bad = await app.inject('/jobs/not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    const js = await app.inject('/viewer/app.js');
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toContain("'Bearer ' + key");
    const nv = await app.inject('/viewer/niivue.js');
    expect(nv.statusCode).toBe(200);
    expect(nv.headers['content-type']).toMatch(/^text\/javascript/);
    expect(nv.body.length).toBeGreaterThan(1_000_000);
    expect(nv.body).toMatch(/export \{[^}]*\bNiivue\b/);
    const doc = (await app.inject('/openapi.json')).json();
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/') && !['/health', '/ready'].includes(p))).toEqual([]);
  });
});

/** Per canvas: distinct grey levels and the standard deviation of the luminance in its screenshot. */
function pixelStats(png: Buffer): { distinct: number; std: number; nonBlack: number } {
  const img = PNG.sync.read(png);
  const seen = new Set<number>();
  let sum = 0;
  let sq = 0;
  let nonBlack = 0;
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    const y = 0.299 * img.data[p * 4] + 0.587 * img.data[p * 4 + 1] + 0.114 * img.data[p * 4 + 2];
    seen.add((img.data[p * 4] << 16) | (img.data[p * 4 + 1] << 8) | img.data[p * 4 + 2]);
    sum += y;
    sq += y * y;
    if (y > 8) nonBlack++;
  }
  const mean = sum / n;
  return { distinct: seen.size, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), nonBlack: nonBlack / n };
}

describe('viewer in headless chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders source, result and difference of a finished job in NiiVue, with the verdict', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // the key goes in the fragment: never sent to the server, kept in sessionStorage for the tab
    await page.goto(`${url}/#key=${READ}`);
    await page.waitForSelector(`a[href="/jobs/${jobId}"]`, { timeout: 15_000 });
    expect(page.url()).toBe(`${url}/`);
    await page.click(`a[href="/jobs/${jobId}"]`);
    await page.waitForSelector('body[data-viewer-ready="true"]', { timeout: 60_000 });
    expect(errors).toEqual([]);
    expect(await page.textContent('#status')).toBe('succeeded');
    expect(await page.textContent('#verdict')).toMatch(/Validation: (pass|fail)/);
    // VIEWER_SHOTS=folder keeps the screenshots for a look
    const out = process.env.VIEWER_SHOTS ?? join(dir, 'shots');
    await mkdir(out, { recursive: true });
    await page.screenshot({ path: join(out, 'job.png'), fullPage: true });
    const canvases = await page.$$('canvas.nv');
    expect(canvases).toHaveLength(3);
    // the result carries the flagged regions as an overlay when the check found any
    const status = (await (await fetch(`${url}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${READ}` } })).json()) as { verdict: { findings: number } };
    const findings = status.verdict.findings;
    expect(await Promise.all(canvases.map((c) => c.getAttribute('data-volumes')))).toEqual(['1', findings > 0 ? '2' : '1', '1']);
    for (const [i, c] of canvases.entries()) {
      const shot = await c.screenshot();
      await writeFile(join(out, `canvas-${i}.png`), shot);
      const s = pixelStats(shot);
      // drawn (not the black background alone) and not uniform: an image is there
      expect(s.nonBlack, `canvas ${i}`).toBeGreaterThan(0.05);
      expect(s.distinct, `canvas ${i}`).toBeGreaterThan(20);
      expect(s.std, `canvas ${i}`).toBeGreaterThan(10);
    }
    expect((await readFile(join(out, 'job.png'))).length).toBeGreaterThan(10_000);
    // without the key the API refuses the page's requests, and the page says so
    const anon = await browser.newPage();
    await anon.goto(`${url}/jobs/${jobId}`);
    await anon.waitForFunction("document.getElementById('status')?.textContent?.includes('UNAUTHORIZED')", undefined, { timeout: 15_000 });
    await anon.close();
    await page.close();
  }, 90_000);
});
