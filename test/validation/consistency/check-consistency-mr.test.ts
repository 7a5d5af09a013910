/** checkConsistency with an MR source: a phantom T1w against its own CT, then with a bone fragment added. */
import { describe, expect, it } from 'vitest';
import { voxelToWorld } from '../../../volumes/affine.ts';
import { generatePhantom } from '../../../volumes/phantom/index.ts';
import { deriveVolume } from '../../../volumes/volume.ts';
import { checkConsistency } from '../../../validation/consistency/check-consistency.ts';
import type { ConsistencyReport } from '../../../validation/consistency/check-consistency.ts';
import { mrSegmenter } from '../../../validation/segment/mr-segmenter.ts';

describe('checkConsistency, MR source against CT', () => {
  it('passes a phantom T1w against its own CT and finds a bone fragment hallucinated in the brain', () => {
    const p = generatePhantom({ region: 'head', seed: 2 });
    const mr = mrSegmenter();
    const source = mr.segment(p.t1);
    const clean: ConsistencyReport = checkConsistency({ source: p.t1, synthetic: p.ct, sourceSegmenter: mr, segmentations: { source } });
    expect(clean.verdict).toBe('pass');
    expect(clean.source.mappingRules).toEqual(['A: fluid → soft', 'B: bone → dark', 'B: marrow → ignored']);
    const dark = clean.source.classes.find((c) => c.name === 'dark');
    expect(dark?.dice).toBeGreaterThan(0.75);
    // a 1 cm³ fragment of 1200 HU in the white matter, centred on a voxel well inside the brain
    const [nx, ny] = p.labels.shape;
    let target = -1;
    for (let k = 40; k < 60 && target < 0; k++) {
      for (let j = 40; j < 90 && target < 0; j++) {
        for (let i = 40; i < 90 && target < 0; i++) {
          let ok = true;
          for (let dk = -4; dk <= 4 && ok; dk++) for (let dj = -5; dj <= 5 && ok; dj++) for (let di = -5; di <= 5 && ok; di++) ok = [4, 5].includes(p.labels.data[i + di + nx * (j + dj + ny * (k + dk))]);
          if (ok) target = i + nx * (j + ny * k);
        }
      }
    }
    expect(target).toBeGreaterThan(0);
    const where = voxelToWorld(p.ct, [target % nx, Math.floor(target / nx) % ny, Math.floor(target / (nx * ny))]);
    const r = Math.cbrt((3 * 1000) / (4 * Math.PI));
    const data = Float32Array.from(p.ct.data);
    const [ti, tj, tk] = [target % nx, Math.floor(target / nx) % ny, Math.floor(target / (nx * ny))];
    const [sx, sy, sz] = p.ct.spacing;
    for (let dk = -4; dk <= 4; dk++) {
      for (let dj = -5; dj <= 5; dj++) {
        for (let di = -5; di <= 5; di++) if (Math.hypot(di * sx, dj * sy, dk * sz) <= r) data[ti + di + nx * (tj + dj + ny * (tk + dk))] = 1200;
      }
    }
    const hit = checkConsistency({ source: p.t1, synthetic: deriveVolume<Float32Array>(p.ct, { data }), sourceSegmenter: mr, segmentations: { source } });
    expect(hit.verdict).toBe('fail');
    const f = hit.findings.find((x) => x.type === 'hallucinated' && x.className === 'dark');
    expect(f).toBeDefined();
    expect(Math.hypot(f!.centroidWorld[0] - where[0], f!.centroidWorld[1] - where[1], f!.centroidWorld[2] - where[2])).toBeLessThan(1.5);
    expect(f!.volumeMm3).toBeGreaterThan(800);
    expect(f!.volumeMm3).toBeLessThan(1200);
  });
});
