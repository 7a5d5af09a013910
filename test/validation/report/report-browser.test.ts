/**
 * Issue 5, done-when 3: report.html opened from disk (file://) in headless Debian chromium
 * (playwright-core; no network: any request that is not file:// is refused and recorded) shows
 * the flagged region — every <img> loads (naturalWidth > 0), the flagged-region section and its
 * overlay are visible, the overlay's screenshot has the red tint of a hallucinated finding, and
 * the page's screenshot is not blank.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../../volumes/png.ts';
import { validate, writeValidationReport } from '../../../validation/report/index.ts';
import { ON_CI } from '../../helpers/shared-data.ts';
import { phantomPair } from './phantom-pair.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && ON_CI) throw new Error(`${CHROMIUM} is missing (scripts/ensure-reference-tools.sh installs it)`);

describe.runIf(haveChromium)('report.html in headless chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voxshift-report-browser-'));
  let browser: Browser | undefined;
  let findings = 0;
  beforeAll(async () => {
    const pair = phantomPair();
    // CT against CT with the fragment: the CT segmenter is quick
    const run = validate({ source: pair.clean, synthetic: pair.injected });
    expect(run.report.verdict).toBe('fail');
    findings = run.report.findings.length;
    await writeValidationReport(run, dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads every image offline and shows the flagged region', async () => {
    if (!browser) throw new Error('no browser');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const foreign: string[] = [];
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) await route.continue();
      else {
        foreign.push(url);
        await route.abort();
      }
    });
    await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load', timeout: 10_000 });
    const images = await page.$$eval('img', (els) => els.map((e) => ({ src: e.getAttribute('src'), complete: e.complete, naturalWidth: e.naturalWidth })));
    expect(images.length).toBe(findings + 1);
    for (const im of images) {
      expect(im.complete, String(im.src)).toBe(true);
      expect(im.naturalWidth, String(im.src)).toBeGreaterThan(0);
    }
    expect(foreign).toEqual([]);
    const section = page.locator('#findings');
    expect(await section.isVisible()).toBe(true);
    const figure = page.locator('#findings figure.finding[data-type="hallucinated"]').first();
    expect(await figure.isVisible()).toBe(true);
    await figure.scrollIntoViewIfNeeded();
    const box = await figure.boundingBox();
    expect(box?.width).toBeGreaterThan(200);
    expect(box?.height).toBeGreaterThan(200);

    // the overlay as rendered by the browser carries the hallucination's red tint
    const shot = decodePng(await figure.screenshot({ path: join(dir, 'finding-shot.png') }));
    let red = 0;
    for (let p = 0; p < shot.width * shot.height; p++) {
      const [r, g, b] = [shot.rgba[4 * p], shot.rgba[4 * p + 1], shot.rgba[4 * p + 2]];
      if (r - g > 60 && r - b > 60) red++;
    }
    expect(red).toBeGreaterThan(20);

    // the whole page: not blank
    await page.screenshot({ path: join(dir, 'page.png'), fullPage: true });
    const full = decodePng(readFileSync(join(dir, 'page.png')));
    const levels = new Set<number>();
    let dark = 0;
    for (let p = 0; p < full.width * full.height; p++) {
      const [r, g, b] = [full.rgba[4 * p], full.rgba[4 * p + 1], full.rgba[4 * p + 2]];
      levels.add((r << 16) | (g << 8) | b);
      if (r + g + b < 150) dark++;
    }
    expect(full.width).toBe(1280);
    expect(full.height).toBeGreaterThan(900);
    expect(levels.size).toBeGreaterThan(50);
    expect(dark).toBeGreaterThan(1000);
    await page.close();
  }, 20_000);
});
