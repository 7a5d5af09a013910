/**
 * Listens: builds the app (service/app.ts) and serves it until SIGINT/SIGTERM, then closes it (the
 * worker stops; running jobs are picked up again at the next start).
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type ServiceOptions } from './app.ts';

export interface ListenOptions {
  host?: string;
  port?: number;
}

export async function startServer(opts: ServiceOptions & ListenOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp(opts);
  const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  return { app, url };
}

/** Closes `app` on SIGINT/SIGTERM; resolves when it has closed. */
export function closeOnSignals(app: FastifyInstance): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void app.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
