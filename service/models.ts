/**
 * The models the service can run: the shipped ones (models/, see models3d/shipped-models.ts) and
 * every checkpoint folder (one holding manifest.json) directly inside a configurable models folder.
 * A model id is the folder name; a models-dir model with a shipped model's name replaces it.
 *
 * Harmonizers (for harmonize jobs) live in the same models folder: a saved harmonizer model
 * `ID.json` (`voxshift harmonize fit --out`), or a folder `ID/` holding `harmonizer.json` (a CycleGAN
 * harmonizer with its checkpoints beside it, the paths in the model being relative to the folder).
 * Intensity harmonizers only: a ComBat model works on feature tables, not images, and is not offered.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHarmonizerModel, type HarmonizerModel } from '../harmonize/model.ts';
import { readManifest } from '../models3d/checkpoint/checkpoint.ts';
import { SHIPPED_MODELS, shippedModelDir, type ShippedModel } from '../models3d/shipped-models.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import type { ModelInfo } from './schemas.ts';

const MODEL_ID = /^[A-Za-z0-9._-]+$/;

export type ModelType = ModelInfo['type'];

/** A harmonizer's listing: everything but the (long) fitted parameters. */
function harmonizerSummary(m: HarmonizerModel): Record<string, unknown> {
  const { parameters: _parameters, ...rest } = m;
  return rest;
}

export class ModelRegistry {
  constructor(
    private readonly modelsDir: string | undefined,
    private readonly includeShipped = true,
  ) {}

  private async candidates(): Promise<Map<string, { dir: string; source: ModelInfo['source'] }>> {
    const out = new Map<string, { dir: string; source: ModelInfo['source'] }>();
    if (this.includeShipped) {
      for (const id of Object.keys(SHIPPED_MODELS) as ShippedModel[]) {
        try {
          out.set(id, { dir: shippedModelDir(id), source: 'shipped' });
        } catch {
          // not installed: not listed
        }
      }
    }
    if (this.modelsDir) {
      const entries = await readdir(this.modelsDir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.isDirectory() && MODEL_ID.test(e.name) && !e.name.startsWith('.')) out.set(e.name, { dir: join(this.modelsDir, e.name), source: 'models-dir' });
      }
    }
    return out;
  }

  /** Harmonizer files of the models folder by id (ID.json, or ID/harmonizer.json). */
  private async harmonizerCandidates(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!this.modelsDir) return out;
    const entries = await readdir(this.modelsDir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isFile() && e.name.endsWith('.json') && MODEL_ID.test(e.name.slice(0, -5))) out.set(e.name.slice(0, -5), join(this.modelsDir, e.name));
      else if (e.isDirectory() && MODEL_ID.test(e.name)) {
        const inner = await readdir(join(this.modelsDir, e.name)).catch(() => [] as string[]);
        if (inner.includes('harmonizer.json')) out.set(e.name, join(this.modelsDir, e.name, 'harmonizer.json'));
      }
    }
    return out;
  }

  private async readHarmonizer(path: string): Promise<HarmonizerModel | undefined> {
    try {
      const m = await loadHarmonizerModel(path);
      return m.method === 'combat' ? undefined : m;
    } catch {
      return undefined;
    }
  }

  /** Every model whose manifest reads. */
  async list(): Promise<ModelInfo[]> {
    const models: ModelInfo[] = [];
    for (const [id, c] of await this.candidates()) {
      try {
        const manifest = (await readManifest(c.dir)) as unknown as Record<string, unknown>;
        models.push({ id, type: 'translation', source: c.source, manifest });
      } catch {
        // not a checkpoint (or a broken one): not offered
      }
    }
    for (const [id, path] of await this.harmonizerCandidates()) {
      const m = await this.readHarmonizer(path);
      if (m && !models.some((x) => x.id === id)) models.push({ id, type: 'harmonizer', source: 'models-dir', manifest: harmonizerSummary(m) });
    }
    return models.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The file of harmonizer `id`; NOT_FOUND (param model, with the harmonizers available) when there is none. */
  async resolveHarmonizer(id: string): Promise<string> {
    const path = MODEL_ID.test(id) ? (await this.harmonizerCandidates()).get(id) : undefined;
    if (path && (await this.readHarmonizer(path))) return path;
    const available = (await this.list()).filter((m) => m.type === 'harmonizer').map((m) => m.id);
    throw new VoxshiftError('NOT_FOUND', `unknown harmonizer ${JSON.stringify(id)}; available: ${available.join(', ') || 'none'}`, {
      param: 'model',
      details: { available },
    });
  }

  /** The folder of model `id`; NOT_FOUND (param model, with the ids available) when there is none. */
  async resolve(id: string): Promise<string> {
    const c = MODEL_ID.test(id) ? (await this.candidates()).get(id) : undefined;
    if (c) {
      try {
        await readManifest(c.dir);
        return c.dir;
      } catch {
        // fall through: reported as unknown
      }
    }
    const available = (await this.list()).filter((m) => m.type === 'translation').map((m) => m.id);
    throw new VoxshiftError('NOT_FOUND', `unknown model ${JSON.stringify(id)}; available: ${available.join(', ') || 'none'}`, {
      param: 'model',
      details: { available },
    });
  }
}
