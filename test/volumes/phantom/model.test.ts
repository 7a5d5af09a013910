import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  applyScannerEffects,
  DEFAULT_SEQUENCES,
  generatePhantom,
  NO_SCANNER_EFFECTS,
  PHANTOM_VERSION,
  SIGNAL_SCALE,
  spinEchoSignal,
  TISSUE,
  TISSUES,
} from '../../../volumes/phantom/index.ts';
import { deriveSeed, NormalStream } from '../../../volumes/phantom/seeds.ts';
import { createVolume } from '../../../volumes/volume.ts';

const sha = (a: ArrayBufferView): string =>
  createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

describe('phantom model', () => {
  it('tissue table: stable ids 0..9, HU defaults inside their ranges, literature-ordered relaxation', () => {
    expect(TISSUES.map((t) => t.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(TISSUES.map((t) => t.name)).toEqual([
      'air', 'air-cavity', 'fat', 'soft-tissue', 'grey-matter', 'white-matter', 'csf', 'cortical-bone', 'trabecular-bone', 'fluid',
    ]);
    for (const t of TISSUES) {
      expect(t.hu).toBeGreaterThanOrEqual(t.huRange[0]);
      expect(t.hu).toBeLessThanOrEqual(t.huRange[1]);
    }
    for (const b of ['1.5T', '3T'] as const) {
      const r = (id: number) => TISSUES[id].mr[b];
      expect(r(TISSUE.CSF).t1).toBeGreaterThan(r(TISSUE.GREY_MATTER).t1);
      expect(r(TISSUE.GREY_MATTER).t1).toBeGreaterThan(r(TISSUE.WHITE_MATTER).t1);
      expect(r(TISSUE.WHITE_MATTER).t1).toBeGreaterThan(r(TISSUE.FAT).t1);
      expect(r(TISSUE.CORTICAL_BONE).t2).toBeLessThan(1);
    }
    // T1 lengthens with field strength.
    expect(TISSUES[TISSUE.WHITE_MATTER].mr['3T'].t1).toBeGreaterThan(TISSUES[TISSUE.WHITE_MATTER].mr['1.5T'].t1);
  });

  it('spin-echo signal follows S = PD (1 - exp(-TR/T1)) exp(-TE/T2)', () => {
    const wm = TISSUES[TISSUE.WHITE_MATTER].mr['3T'];
    const seq = DEFAULT_SEQUENCES['3T'].t1;
    const expected = SIGNAL_SCALE * wm.pd * (1 - Math.exp(-seq.trMs / wm.t1)) * Math.exp(-seq.teMs / wm.t2);
    expect(spinEchoSignal(wm, seq)).toBeCloseTo(expected, 10);
    expect(spinEchoSignal({ t1: 1, t2: 1, pd: 0 }, seq)).toBe(0);
    // The sampled per-subject tissue signals are this model applied to the sampled relaxation.
    const p = generatePhantom({ region: 'head', seed: 1, shape: [8, 8, 8], fieldStrength: '1.5T' });
    for (const t of p.params.tissues) {
      expect(t.signalT2w).toBeCloseTo(spinEchoSignal(t, DEFAULT_SEQUENCES['1.5T'].t2), 2);
    }
  });

  it('Gaussian stream: mean 0, std 1, symmetric tails, deterministic', () => {
    const g = new NormalStream(123);
    const n = 400_000;
    let s = 0;
    let ss = 0;
    let beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const v = g.next();
      s += v;
      ss += v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.sqrt(ss / n)).toBeCloseTo(1, 2);
    expect(beyond2 / n).toBeCloseTo(0.0455, 2);
    const a = new NormalStream(7);
    const b = new NormalStream(7);
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next());
    expect(deriveSeed(5, 'x')).toBe(deriveSeed(5, 'x'));
    expect(deriveSeed(5, 'x')).not.toBe(deriveSeed(5, 'y'));
    expect(deriveSeed(5, 'x')).not.toBe(deriveSeed(2 ** 32 + 5, 'x'));
  });

  it('scanner effects act on each channel with independent noise', () => {
    const n = 10 * 10 * 10;
    const data = new Float32Array(2 * n).fill(500);
    const vol = createVolume({ data, shape: [10, 10, 10], channels: 2, modality: 'MR' });
    const out = applyScannerEffects(vol, { ...NO_SCANNER_EFFECTS, noiseSigma: 0.1 }, 3, { referenceIntensity: 100 });
    expect(out.channels).toBe(2);
    expect(out.data.subarray(0, n)).not.toEqual(out.data.subarray(n));
    for (const c of [0, 1]) {
      const ch = out.data.subarray(c * n, (c + 1) * n);
      const mean = ch.reduce((x, y) => x + y, 0) / n;
      expect(mean).toBeGreaterThan(495);
      expect(mean).toBeLessThan(505);
    }
  });

  it(`pinned output of version ${PHANTOM_VERSION}: if this fails, the same options now give other voxels — bump PHANTOM_VERSION and update the hashes`, () => {
    const head = generatePhantom({ region: 'head', seed: 42, shape: [24, 24, 16] });
    expect([head.labels, head.ct, head.t1, head.t2].map((v) => sha(v.data))).toEqual([
      '6368eac9213d56a7', '051148bfe12f7c77', '7c163eb8bdcea948', 'c43ce481ccac7ffb',
    ]);
    const pelvis = generatePhantom({ region: 'pelvis', seed: 42, shape: [24, 24, 16] });
    expect([pelvis.labels, pelvis.ct, pelvis.t1, pelvis.t2].map((v) => sha(v.data))).toEqual([
      '006b5e7f6c1b7f58', '1a4d90a0cd32c1d5', '205420b2ed6740a8', '19142f0737bc1d1e',
    ]);
  });
});
