import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { affineOf, lpsToRasAffine } from '../../volumes/affine.ts';
import { isVoxshiftError } from '../../volumes/errors.ts';
import { axisOrientations, directionForCode, orientationCode, parseOrientationCode } from '../../volumes/orientation.ts';
import { createRng } from '../../volumes/random.ts';
import { IDENTITY_DIRECTION } from '../../volumes/volume.ts';
import { pythonWith, rotation, TILTED } from './synthetic-volume.ts';

const PY_NIBABEL = pythonWith('nibabel');

describe('orientationCode', () => {
  it('names the direction each voxel axis points toward (LPS world)', () => {
    expect(orientationCode({ direction: IDENTITY_DIRECTION })).toBe('LPS');
    expect(orientationCode({ direction: [-1, 0, 0, 0, -1, 0, 0, 0, 1] })).toBe('RAS');
    expect(orientationCode({ direction: TILTED })).toBe('LPS');
    // i → +z (S), j → −x (R), k → +y (P)
    expect(orientationCode({ direction: [0, -1, 0, 0, 0, 1, 1, 0, 0] })).toBe('SRP');
    // Typical axial DICOM read from the top: j runs anterior→posterior, k downwards.
    expect(orientationCode({ direction: [1, 0, 0, 0, 1, 0, 0, 0, -1] })).toBe('LPI');
  });

  it('always gives three different world axes, even at exactly 45°', () => {
    const h = Math.SQRT1_2;
    const code = orientationCode({ direction: [h, -h, 0, h, h, 0, 0, 0, 1] });
    expect(code).toHaveLength(3);
    expect(new Set(axisOrientations([h, -h, 0, h, h, 0, 0, 0, 1]).map((a) => a.worldAxis)).size).toBe(3);
    expect(code[2]).toBe('S');
  });

  it('round-trips through directionForCode for all 48 codes', () => {
    const pairs = ['LR', 'PA', 'SI'];
    const codes: string[] = [];
    for (const perm of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
      for (let s = 0; s < 8; s++) codes.push(perm.map((p, a) => pairs[p][(s >> a) & 1]).join(''));
    expect(new Set(codes).size).toBe(48);
    for (const c of codes) expect(orientationCode({ direction: directionForCode(c) })).toBe(c);
    expect(directionForCode('ras')).toEqual([-1, 0, 0, 0, -1, 0, 0, 0, 1]);
  });

  it('rejects malformed codes with INVALID_ARGUMENT', () => {
    for (const bad of ['LPX', 'LLS', 'LP', 'LPSR', '', 'RLS']) {
      try {
        parseOrientationCode(bad, 'target');
        expect.unreachable(bad);
      } catch (e) {
        expect(isVoxshiftError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect((e as { param?: string }).param).toBe('target');
      }
    }
  });

  it.skipIf(PY_NIBABEL === null)('agrees with nibabel aff2axcodes on random rotated affines', () => {
    const rng = createRng(11);
    const affines: number[][] = [];
    const ours: string[] = [];
    let distinct = 0;
    for (let t = 0; t < 80; t++) {
      const d = [...rotation((rng() - 0.5) * 6, (rng() - 0.5) * 6, (rng() - 0.5) * 6)];
      // random axis flips and permutations on top of the rotation
      const perm = [[0, 1, 2], [2, 0, 1], [1, 2, 0]][t % 3];
      const dir = new Array<number>(9);
      const flips = [0, 1, 2].map(() => (rng() < 0.5 ? -1 : 1));
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) dir[r * 3 + c] = d[r * 3 + perm[c]] * flips[c];
      // nibabel works on the RAS affine; the letters name the same anatomical directions.
      const geometry = { spacing: [0.5 + rng(), 0.5 + rng(), 1 + 2 * rng()] as const, origin: [1, 2, 3] as const, direction: dir as never };
      affines.push(lpsToRasAffine(affineOf(geometry)));
      // nibabel takes columns in order; the two rules agree when the column maxima are on different rows.
      const argmax = [0, 1, 2].map((c) => [0, 1, 2].reduce((b, r) => (Math.abs(dir[r * 3 + c]) > Math.abs(dir[b * 3 + c]) ? r : b), 0));
      if (new Set(argmax).size === 3) {
        distinct++;
        ours.push(orientationCode({ direction: dir }));
      } else {
        affines.pop();
      }
    }
    expect(distinct).toBeGreaterThan(15);
    const script = `import json,sys,numpy as np,nibabel as nib
a=json.load(sys.stdin)
print(json.dumps([''.join(nib.aff2axcodes(np.array(x).reshape(4,4))) for x in a]))`;
    const out = JSON.parse(execFileSync(PY_NIBABEL as string, ['-c', script], { input: JSON.stringify(affines) }).toString()) as string[];
    expect(ours).toEqual(out);
  });
});
