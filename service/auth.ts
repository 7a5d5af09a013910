/**
 * Bearer API keys with a scope ('write' may create and delete jobs, 'read' may only look) and a
 * per-key rate limit (a token bucket: `perMinute` requests a minute, bursts up to the same number).
 * Without keys the API is open and the limit is per client address.
 */
import { createHash } from 'node:crypto';
import { VoxshiftError } from '../volumes/errors.ts';

export type KeyScope = 'read' | 'write';
export interface ApiKey {
  key: string;
  scope: KeyScope;
  /** Shown in logs instead of the key. */
  name?: string;
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex');

export class Authenticator {
  private readonly keys = new Map<string, { scope: KeyScope; name: string }>();
  constructor(keys: readonly ApiKey[]) {
    for (const [i, k] of keys.entries()) {
      if (k.key.length < 8) throw new VoxshiftError('INVALID_ARGUMENT', `API key ${k.name ?? i + 1} is shorter than 8 characters`, { param: 'apiKeys' });
      this.keys.set(hash(k.key), { scope: k.scope, name: k.name ?? `key${i + 1}` });
    }
  }

  get enabled(): boolean {
    return this.keys.size > 0;
  }

  /** The caller's identity for `authorization` (a header value); throws UNAUTHORIZED or FORBIDDEN. */
  check(authorization: string | undefined, needs: KeyScope): { name: string; scope: KeyScope } | undefined {
    if (!this.enabled) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new VoxshiftError('UNAUTHORIZED', 'missing API key: send the header "Authorization: Bearer <key>"', { param: 'authorization' });
    // Keys are compared by their SHA-256, so the lookup time does not depend on the key's characters.
    const found = this.keys.get(hash(m[1]));
    if (!found) throw new VoxshiftError('UNAUTHORIZED', 'unknown API key', { param: 'authorization' });
    if (needs === 'write' && found.scope !== 'write') {
      throw new VoxshiftError('FORBIDDEN', `API key ${found.name} is read-only; this request needs a key with the write scope`, { param: 'authorization' });
    }
    return found;
  }
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perMinute > 0)) throw new VoxshiftError('INVALID_ARGUMENT', `rate limit must be positive, got ${perMinute}`, { param: 'rateLimit' });
  }

  /** Takes one token for `who`; throws RATE_LIMITED (with retryAfterS) when there is none. */
  take(who: string): void {
    const t = this.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(who) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * rate);
    b.at = t;
    this.buckets.set(who, b);
    if (b.tokens < 1) {
      const retryAfterS = Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
      throw new VoxshiftError('RATE_LIMITED', `more than ${this.perMinute} requests a minute; retry in ${retryAfterS} s`, { details: { limitPerMinute: this.perMinute, retryAfterS } });
    }
    b.tokens -= 1;
    if (this.buckets.size > 10_000) {
      for (const [k, v] of this.buckets) if (v.tokens >= this.perMinute - 1) this.buckets.delete(k);
    }
  }
}
