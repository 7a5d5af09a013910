/**
 * The models the service can run: the shipped ones (models/, see models3d/shipped-models.ts) and
 * every checkpoint folder (one holding manifest.json) directly inside a configurable models folder.
 * A model id is the folder name; a models-dir model with a shipped model's name replaces it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readManifest } from '../models3d/checkpoint/checkpoint.ts';
import { SHIPPED_MODELS, shippedModelDir, type ShippedModel } from '../models3d/shipped-models.ts';
import { VoxshiftError } from '../volumes/errors.ts';
import type { ModelInfo } from './schemas.ts';

const MODEL_ID = /^[A-Za-z0-9._-]+$/;

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

  /** Every model whose manifest reads. */
  async list(): Promise<ModelInfo[]> {
    const models: ModelInfo[] = [];
    for (const [id, c] of await this.candidates()) {
      try {
        const manifest = (await readManifest(c.dir)) as unknown as Record<string, unknown>;
        models.push({ id, source: c.source, manifest });
      } catch {
        // not a checkpoint (or a broken one): not offered
      }
    }
    return models.sort((a, b) => (a.id < b.id ? -1 : 1));
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
    const available = (await this.list()).map((m) => m.id);
    throw new VoxshiftError('NOT_FOUND', `unknown model ${JSON.stringify(id)}; available: ${available.join(', ') || 'none'}`, {
      param: 'model',
      details: { available },
    });
  }
}
