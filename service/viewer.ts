/**
 * The viewer: two small HTML pages and their script, no framework, no CDN.
 *
 *   GET /                 jobs, newest first (links to their pages)
 *   GET /jobs/:id         state, progress, the validation verdict with its flagged regions, and
 *                         source | result | difference side by side in NiiVue (findings overlaid on
 *                         the result; a click on a region moves all three crosshairs there)
 *   GET /viewer/app.js    the pages' script; GET /viewer/niivue.js: NiiVue's ESM bundle from node_modules
 *
 * Auth: the pages and scripts hold no data and are served without a key. The script reads an API key
 * from the URL fragment (`/#key=KEY`, never sent to the server, so it is not in access logs or
 * Referer headers), keeps it in sessionStorage (this tab only) and sends it as
 * `Authorization: Bearer KEY` on every JSON API and volume request — a read-only key is enough.
 * Without keys configured the pages work with no key.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { VoxshiftError } from '../volumes/errors.ts';
import { JobIdParams } from './schemas.ts';

/** NiiVue's self-contained ESM bundle, found by walking up from this file to node_modules. */
export function niivueBundlePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'node_modules', '@niivue', 'niivue', 'dist', 'index.js');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new VoxshiftError('FILE_NOT_FOUND', 'the @niivue/niivue package is not installed (node_modules/@niivue/niivue/dist/index.js)', { param: 'viewer' });
    dir = up;
  }
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
.pass{color:#070;font-weight:bold}.fail{color:#b00;font-weight:bold}.err{color:#b00}#views{display:flex;gap:8px;flex-wrap:wrap}
figure{margin:0}figcaption{font-weight:bold;margin:4px 0}canvas.nv{width:360px;height:360px;background:#000;display:block}tr.finding{cursor:pointer}tr.finding:hover{background:#eef}`;

const page = (title: string, body: string): string => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>
<p><a href="/">jobs</a> · <a href="/docs">API</a> · <span id="auth"></span></p>${body}
<script type="module" src="/viewer/app.js"></script></body></html>`;

const INDEX = page('voxshift jobs', `<h1>voxshift jobs</h1><p id="status">loading…</p>
<table id="jobs" hidden><thead><tr><th>job</th><th>kind</th><th>model</th><th>state</th><th>progress</th><th>verdict</th><th>created</th></tr></thead><tbody></tbody></table>`);

const JOB = page('voxshift job', `<h1 id="title">job</h1><p id="status">loading…</p><div id="verdict"></div>
<div id="views"></div><div id="findings"></div><p><a id="download" hidden>download the result</a></p>`);

/** The pages' script (plain ES module, runs in the browser). */
const APP_JS = String.raw`
const KEY_ITEM = 'voxshift-api-key';
const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
if (m) { sessionStorage.setItem(KEY_ITEM, decodeURIComponent(m[1])); history.replaceState(null, '', location.pathname + location.search); }
const key = sessionStorage.getItem(KEY_ITEM);
const headers = key ? { Authorization: 'Bearer ' + key } : {};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const status = (text, err) => { const s = $('status'); s.textContent = text; s.className = err ? 'err' : ''; };
$('auth').innerHTML = key ? 'API key set for this tab · <a href="#" id="forget">forget</a>' : 'no API key (open this page as <code>/#key=YOUR_KEY</code> if the API needs one)';
if ($('forget')) $('forget').onclick = (e) => { e.preventDefault(); sessionStorage.removeItem(KEY_ITEM); location.reload(); };

async function api(path) {
  const r = await fetch(path, { headers });
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new Error((body && body.code ? body.code + ': ' + body.message : 'HTTP ' + r.status));
  return body;
}

async function indexPage() {
  try {
    const { jobs } = await api('/v1/jobs?limit=1000');
    const rows = jobs.reverse().map((j) => '<tr><td><a href="/jobs/' + j.id + '">' + j.id.slice(0, 8) + '</a></td><td>' + esc(j.kind) + '</td><td>' + esc(j.model) +
      '</td><td>' + esc(j.state) + '</td><td>' + Math.round(j.progress * 100) + '%</td><td>' + (j.verdict ? '<span class="' + j.verdict.verdict + '">' + j.verdict.verdict + '</span>' : '') +
      '</td><td>' + esc(j.createdAt) + '</td></tr>');
    document.querySelector('#jobs tbody').innerHTML = rows.join('');
    $('jobs').hidden = jobs.length === 0;
    status(jobs.length + ' job(s)');
  } catch (e) { status(String(e.message || e), true); }
}

async function loadInto(nv, url, name, extra) {
  await nv.loadVolumes([{ url, name, headers, ...(extra || {}) }]);
}

async function jobPage(id) {
  const { Niivue, SLICE_TYPE } = await import('/viewer/niivue.js');
  let job;
  for (;;) {
    try { job = await api('/v1/jobs/' + id); } catch (e) { status(String(e.message || e), true); return; }
    $('title').textContent = job.kind + ' job ' + job.id;
    const d = job.progressDetail;
    status(job.state + (job.state === 'running' ? ' ' + Math.round(job.progress * 100) + '%' + (d ? ' (' + d.stage + (d.total ? ' ' + d.done + '/' + d.total : '') + ')' : '') : '') +
      (job.error ? ' — ' + job.error.code + ': ' + job.error.message : ''), job.state === 'failed');
    if (job.state !== 'queued' && job.state !== 'running') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (job.state !== 'succeeded') return;
  const dl = $('download'); dl.hidden = false; dl.textContent = 'download the result (' + job.result.format + ')';
  dl.onclick = async (e) => { e.preventDefault(); const r = await fetch('/v1/jobs/' + id + '/result', { headers }); const a = document.createElement('a'); a.href = URL.createObjectURL(await r.blob()); a.download = id; a.click(); };
  let report = null;
  if (job.verdict) {
    $('verdict').innerHTML = '<p>Validation: <span class="' + job.verdict.verdict + '">' + job.verdict.verdict + '</span></p><ul>' + job.verdict.reasons.map((r) => '<li>' + esc(r) + '</li>').join('') + '</ul>';
    try { report = await api('/v1/jobs/' + id + '/result?format=json'); } catch (e) { report = null; }
  }
  const names = job.kind === 'validate' ? [['source', 'source'], ['result', 'synthetic']] : job.kind === 'augment' ? [] : [['source', 'source'], ['result', 'result'], ['difference', 'difference']];
  if (names.length === 0) { status('succeeded: the result is a zip of ' + (job.params.count || '') + ' samples'); document.body.dataset.viewerReady = 'true'; return; }
  const viewers = [];
  for (const [name, caption] of names) {
    const fig = document.createElement('figure');
    fig.innerHTML = '<figcaption>' + caption + '</figcaption><canvas class="nv" id="nv-' + name + '" width="360" height="360"></canvas>';
    $('views').appendChild(fig);
    const nv = new Niivue({ show3Dcrosshair: true, backColor: [0, 0, 0, 1], isResizeCanvas: false });
    await nv.attachToCanvas(fig.querySelector('canvas'));
    nv.setSliceType(SLICE_TYPE.AXIAL);
    viewers.push({ name, nv });
  }
  try {
    for (const { name, nv } of viewers) {
      await loadInto(nv, '/v1/jobs/' + id + '/volumes/' + name, name + '.nii.gz', name === 'difference' ? { colormap: 'gray' } : {});
      if (name === 'result' && report && report.findings.length > 0) {
        await nv.addVolumeFromUrl({ url: '/v1/jobs/' + id + '/volumes/findings', name: 'findings.nii.gz', headers, colormap: 'red', opacity: 0.5, cal_min: 0.5, cal_max: 1 });
      }
    }
  } catch (e) { status('could not load the volumes: ' + String(e.message || e), true); return; }
  for (const v of viewers) v.nv.broadcastTo(viewers.filter((o) => o !== v).map((o) => o.nv), { '2d': true, '3d': true });
  if (report) {
    const rows = report.findings.map((f) => '<tr class="finding" data-vox="' + f.centroidVoxel.join(',') + '"><td>' + f.id + '</td><td>' + esc(f.type) + '</td><td>' + esc(f.against) +
      '</td><td>' + esc(f.className) + ' → ' + esc(f.otherClassName) + '</td><td>' + Math.round(f.volumeMm3) + '</td><td>' + f.slice.index + '</td></tr>');
    $('findings').innerHTML = '<h2>Flagged regions (' + report.findings.length + ')</h2>' + (rows.length ? '<table><tr><th>id</th><th>type</th><th>against</th><th>class</th><th>mm³</th><th>slice</th></tr>' + rows.join('') + '</table>' : '<p>none</p>');
    for (const tr of document.querySelectorAll('tr.finding')) {
      tr.onclick = () => {
        const vox = tr.dataset.vox.split(',').map(Number);
        for (const { nv } of viewers) { nv.scene.crosshairPos = nv.vox2frac(vox); nv.drawScene(); }
      };
    }
  }
  for (const { name, nv } of viewers) { nv.drawScene(); $('nv-' + name).dataset.volumes = String(nv.volumes.length); }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  document.body.dataset.viewerReady = 'true';
}

const jm = /^\/jobs\/([0-9a-f-]{36})$/.exec(location.pathname);
if (jm) jobPage(jm[1]); else indexPage();
`;

/** Registers the viewer's routes on `app` (kept out of the OpenAPI document: they are not API routes). */
export function registerViewer(app: FastifyInstance): void {
  let bundle: Promise<Buffer> | undefined;
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(INDEX));
  app.get('/jobs/:id', { schema: { hide: true, params: JobIdParams } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(JOB));
  app.get('/viewer/app.js', { schema: { hide: true } }, async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS));
  app.get('/viewer/niivue.js', { schema: { hide: true } }, async (_request, reply) => {
    bundle ??= readFile(niivueBundlePath());
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(await bundle);
  });
}
