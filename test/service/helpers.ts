/**
 * Test helpers for the service: small phantom MR volumes written as files, multipart bodies built by
 * hand (so a test can also cut one short), and polling a job until it is finished.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantom } from '../../volumes/phantom/index.ts';
import { writeVolume } from '../../volumes/io.ts';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `voxshift-${prefix}-`));
}

/** A T1w head phantom of `shape` written as .nii.gz; returns its path and bytes. */
export async function phantomMrFile(dir: string, shape: readonly number[] = [32, 32, 6], seed = 3): Promise<{ path: string; bytes: Buffer }> {
  const { t1 } = generatePhantom({ region: 'head', seed, shape, spacing: [1.6 * (128 / shape[0]), 1.6 * (128 / shape[1]), 2] });
  const path = join(dir, `mr-${shape.join('x')}-${seed}.nii.gz`);
  await writeVolume(t1, path, { overwrite: true });
  return { path, bytes: await readFile(path) };
}

export interface Part {
  name: string;
  value: string | Buffer;
  filename?: string;
}

/** A multipart/form-data body of `parts` and its content-type header. */
export function multipartBody(parts: Part[], boundary = '----voxshift-test-boundary'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    const type = p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disp}\r\n${type}\r\n`));
    chunks.push(typeof p.value === 'string' ? Buffer.from(p.value) : p.value);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `get` until the job's state is final (or `timeoutMs` passes); returns the last record. */
export async function waitForJob<T extends { state: string }>(get: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const j = await get();
    if (['succeeded', 'failed', 'cancelled'].includes(j.state) || Date.now() - t0 > timeoutMs) return j;
    await sleep(100);
  }
}
