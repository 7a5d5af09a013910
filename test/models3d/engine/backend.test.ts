import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, getTf, initBackend, shutdownBackend } from '../../../models3d/engine/backend.ts';
import { conv2dBackpropFilterConfig } from '../../../models3d/engine/kernels/conv2d-backprop-filter.ts';
import { conv2dBackpropInputConfig } from '../../../models3d/engine/kernels/conv2d-backprop-input.ts';
import { conv2dForwardConfig } from '../../../models3d/engine/kernels/conv2d-forward.ts';
import { VoxshiftError } from '../../../volumes/errors.ts';

const require = createRequire(import.meta.url);
const expectedThreads = Math.min(2, os.cpus().length);

function isInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function hasGit(): boolean {
  return spawnSync('git', ['--version']).status === 0;
}

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function matmulOn(backend: string, n: number): Float32Array {
  tf.setBackend(backend);
  return tf.tidy(() => tf.matMul(tf.tensor2d(values(n * n, 1), [n, n]), tf.tensor2d(values(n * n, 2), [n, n])).dataSync() as Float32Array);
}

async function errorOf(p: Promise<unknown>): Promise<VoxshiftError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(VoxshiftError);
    return error as VoxshiftError;
  }
  throw new Error('expected a VoxshiftError');
}

describe('initBackend', () => {
  it('the patch for Node worker threads is applied to tfjs-backend-wasm', () => {
    const bundle = readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm'), 'utf8');
    expect(bundle).toContain('writeNodeWorkerScript');
    expect(bundle).toContain('2 * require$$4.cpus().length');
  });

  it.skipIf(!hasGit())('the installed bundle is exactly the pristine 4.22.0 plus patches/ (the patch reverses cleanly)', () => {
    const root = path.resolve(new URL('../../..', import.meta.url).pathname);
    const result = spawnSync('git', ['apply', '--check', '--reverse', 'patches/@tensorflow+tfjs-backend-wasm+4.22.0.patch'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('starts wasm with 2 threads whose matmul matches the pure-JS backend', async () => {
    const logs: string[] = [];
    const info = await initBackend('wasm', { threads: 2, log: (m) => logs.push(m) });
    expect(info.backend).toBe('wasm');
    expect(info.threads).toBe(expectedThreads);
    expect(info.description).toContain(`${expectedThreads} thread`);
    expect(logs.join('\n')).toContain('compute backend wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(getTf()).toBe(tf);
    // XNNPACK's pool: the caller plus (threads − 1) worker threads, running.
    const pthread = (tf.backend() as unknown as { wasm: { PThread: { runningWorkers: unknown[] } } }).wasm.PThread;
    expect(pthread.runningWorkers.length).toBe(expectedThreads - 1);

    const wasmResult = matmulOn('wasm', 300);
    await initBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const ref = matmulOn('cpu', 300);
    let maxRef = 0;
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      maxErr = Math.max(maxErr, Math.abs(wasmResult[i] - ref[i]));
    }
    expect(maxErr / maxRef).toBeLessThan(1e-5);
  });

  it('is idempotent and registers the voxshift conv kernels on wasm', async () => {
    const a = await initBackend('wasm', { threads: 2 });
    const backend = tf.backend();
    const b = await initBackend('wasm', { threads: 2 });
    expect(b).toEqual(a);
    expect(tf.backend()).toBe(backend);
    expect(backendInfo()).toEqual(a);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(conv2dBackpropFilterConfig);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(conv2dBackpropInputConfig);
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(conv2dForwardConfig);
    expect(tf.getGradient('Conv2D')).toBeDefined();
  });

  it.skipIf(isInstalled('@tensorflow/tfjs-node-gpu'))('gpu without @tensorflow/tfjs-node-gpu is BACKEND_UNAVAILABLE and says how to install it', async () => {
    const error = await errorOf(initBackend('gpu'));
    expect(error.code).toBe('VOXSHIFT_E_BACKEND_UNAVAILABLE');
    expect(error.param).toBe('backend');
    expect(error.message).toContain('npm install @tensorflow/tfjs-node-gpu@');
    expect(error.message).toContain('not installed');
  });

  it.skipIf(isInstalled('@tensorflow/tfjs-node-gpu') || isInstalled('@tensorflow/tfjs-node'))(
    'auto falls back to wasm when no native package is installed, and says so',
    async () => {
      const logs: string[] = [];
      const info = await initBackend('auto', { log: (m) => logs.push(m) });
      expect(info.backend).toBe('wasm');
      expect(logs.some((l) => l.includes('@tensorflow/tfjs-node-gpu not installed'))).toBe(true);
      expect(logs.some((l) => l.includes('@tensorflow/tfjs-node not installed'))).toBe(true);
    },
  );

  it('rejects an unknown kind or a bad thread count with INVALID_ARGUMENT', async () => {
    expect((await errorOf(initBackend('tpu' as never))).code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    const e = await errorOf(initBackend('wasm', { threads: 0 }));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.param).toBe('threads');
  });

  it('puts wasm convolutions on onnxruntime by default and on XNNPACK when asked; bad engines are refused', async () => {
    const auto = await initBackend('wasm', { threads: 2 });
    expect(auto.convEngine?.engine).toBe('onnxruntime');
    expect(auto.description).toMatch(/convolutions on onnxruntime-node \d+\.\d+\.\d+ CPU kernels( \(2-D on its blocked-channel kernels, block (8|16)\))?, 2 threads$/);
    // MLAS has blocked kernels on every x86-64 with AVX2 (block 8) or AVX-512 (16).
    if (process.arch === 'x64') expect([8, 16]).toContain(auto.convEngine?.nchwcBlock);
    process.env.VOXSHIFT_NCHWC = '0';
    try {
      const generic = await initBackend('wasm', { threads: 2, convEngine: 'auto' });
      expect(generic.convEngine?.nchwcBlock).toBe(0);
      expect(generic.description).not.toMatch(/blocked/);
    } finally {
      delete process.env.VOXSHIFT_NCHWC;
    }
    const wasmOnly = await initBackend('wasm', { threads: 2, convEngine: 'xnnpack' });
    expect(wasmOnly.convEngine?.engine).toBe('xnnpack');
    expect(wasmOnly.description).toMatch(/convolutions on XNNPACK \(asked for\)$/);
    const e = await errorOf(initBackend('wasm', { convEngine: 'mkl' as never }));
    expect(e.code).toBe('VOXSHIFT_E_INVALID_ARGUMENT');
    expect(e.param).toBe('convEngine');
    await initBackend('wasm', { convEngine: 'auto' });
  });

  it('shutdownBackend stops the workers; wasm restarts with 1 thread and no workers', async () => {
    await initBackend('wasm', { threads: 2 });
    shutdownBackend();
    expect(backendInfo()).toBeUndefined();
    const info = await initBackend('wasm', { threads: 1 });
    expect(info.threads).toBe(1);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(conv2dBackpropFilterConfig);
    const one = matmulOn('wasm', 64);
    await initBackend('cpu');
    const ref = matmulOn('cpu', 64);
    for (let i = 0; i < ref.length; i += 97) expect(one[i]).toBeCloseTo(ref[i], 3);
  });

  it('a process that used 2 wasm threads exits on its own', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'voxshift-backend-'));
    try {
      const script = path.join(dir, 'exit.mts');
      const backendUrl = new URL('../../../models3d/engine/backend.ts', import.meta.url).href;
      writeFileSync(
        script,
        `const { initBackend, getTf } = await import(${JSON.stringify(backendUrl)});\n` +
          `const tf = getTf();\n` +
          `const info = await initBackend('wasm', { threads: 2 });\n` +
          `tf.matMul(tf.ones([128, 128]), tf.ones([128, 128])).dataSync();\n` +
          `console.log('threads=' + info.threads);\n`,
      );
      const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
        cwd: path.resolve(new URL('../../..', import.meta.url).pathname),
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`threads=${expectedThreads}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
