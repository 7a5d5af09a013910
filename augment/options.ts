/**
 * Option checking shared by the transform constructors and the JSON pipeline, so a bad value gets
 * the same message either way, naming the key: `pipeline[2].rotationDeg: expected [min, max]
 * numbers with min <= max, got "x"`. Unknown keys are refused (a typo must not silently do nothing).
 */
import { VoxshiftError } from '../volumes/errors.ts';

export type Range = [number, number];
export type Vec3 = [number, number, number];

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export class OptionReader {
  private readonly o: Record<string, unknown>;

  constructor(
    readonly where: string,
    options: unknown,
    allowed: readonly string[],
  ) {
    if (options === undefined) options = {};
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new VoxshiftError('INVALID_ARGUMENT', `${where}: expected an object of options, got ${show(options)}`, { param: where });
    }
    this.o = options as Record<string, unknown>;
    for (const key of Object.keys(this.o)) {
      if (!allowed.includes(key)) {
        this.fail(key, `unknown option (expected one of ${allowed.join(', ')})`, this.o[key]);
      }
    }
  }

  fail(key: string, expected: string, got: unknown): never {
    const param = `${this.where}.${key}`;
    throw new VoxshiftError('INVALID_ARGUMENT', `${param}: ${expected}, got ${show(got)}`, { param, details: { value: got } });
  }

  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.o[key];
  }

  number(key: string, def: number | undefined, lo = -Infinity, hi = Infinity, integer = false): number {
    const v = this.o[key] ?? def;
    if (!isNum(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      const what = integer ? 'an integer' : 'a number';
      this.fail(key, `expected ${what}${lo > -Infinity ? ` >= ${lo}` : ''}${hi < Infinity ? ` <= ${hi}` : ''}`, v);
    }
    return v;
  }

  prob(key: string, def: number): number {
    return this.number(key, def, 0, 1);
  }

  /** `[min, max]` with lo <= min <= max <= hi. */
  range(key: string, def: Range | undefined, lo = -Infinity, hi = Infinity): Range {
    const v = this.o[key] ?? def;
    if (!Array.isArray(v) || v.length !== 2 || !v.every(isNum) || v[0] > v[1] || v[0] < lo || v[1] > hi) {
      const bounds = lo > -Infinity || hi < Infinity ? ` within [${lo}, ${hi}]` : '';
      this.fail(key, `expected [min, max] numbers with min <= max${bounds}`, v);
    }
    return [v[0], v[1]];
  }

  /** `[min, max]` for every axis, or three of them (one per axis). */
  ranges3(key: string, def: Range, lo = -Infinity, hi = Infinity): [Range, Range, Range] {
    const v = this.o[key] ?? def;
    const ok = (r: unknown): r is Range =>
      Array.isArray(r) && r.length === 2 && r.every(isNum) && r[0] <= r[1] && r[0] >= lo && r[1] <= hi;
    if (ok(v)) return [[v[0], v[1]], [v[0], v[1]], [v[0], v[1]]];
    if (Array.isArray(v) && v.length === 3 && v.every(ok)) return [[...v[0]], [...v[1]], [...v[2]]] as [Range, Range, Range];
    const bounds = lo > -Infinity || hi < Infinity ? ` within [${lo}, ${hi}]` : '';
    this.fail(key, `expected [min, max] numbers with min <= max${bounds}, or three such pairs (one per axis)`, v);
  }

  vec3(key: string, def: Vec3 | undefined, lo = -Infinity, hi = Infinity): Vec3 {
    const v = this.o[key] ?? def;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => isNum(x) && x >= lo && x <= hi)) {
      this.fail(key, `expected 3 numbers${lo > -Infinity ? ` >= ${lo}` : ''}${hi < Infinity ? ` <= ${hi}` : ''}`, v);
    }
    return [v[0], v[1], v[2]];
  }

  int3(key: string, def: Vec3 | undefined, lo: number): Vec3 {
    const v = this.o[key] ?? def;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isInteger(x) && x >= lo)) {
      this.fail(key, `expected 3 integers >= ${lo}`, v);
    }
    return [v[0], v[1], v[2]];
  }

  /** A number for all three axes, or three numbers. */
  perAxis(key: string, def: number | Vec3, lo: number, integer = false): Vec3 {
    const v = this.o[key] ?? def;
    const arr = typeof v === 'number' ? [v, v, v] : v;
    if (!Array.isArray(arr) || arr.length !== 3 || !arr.every((x) => isNum(x) && x >= lo && (!integer || Number.isInteger(x)))) {
      this.fail(key, `expected a${integer ? 'n integer' : ' number'} >= ${lo} or 3 of them`, v);
    }
    return [arr[0], arr[1], arr[2]];
  }

  /** Distinct voxel axes among 0, 1, 2. */
  axes(key: string, def: number[]): number[] {
    const v = this.o[key] ?? def;
    if (!Array.isArray(v) || !v.every((a) => a === 0 || a === 1 || a === 2) || new Set(v).size !== v.length) {
      this.fail(key, 'expected distinct axes among 0, 1, 2', v);
    }
    return [...v];
  }

  axis(key: string, def: number | undefined): number {
    return this.number(key, def, 0, 2, true);
  }

  numbers(key: string, def: number[] | undefined, length?: number): number[] {
    const v = this.o[key] ?? def;
    if (!Array.isArray(v) || !v.every(isNum) || (length !== undefined && v.length !== length)) {
      this.fail(key, `expected ${length ?? 'an array of'} finite numbers`, v);
    }
    return [...v];
  }

  choice<T extends string>(key: string, def: T, values: readonly T[]): T {
    const v = this.o[key] ?? def;
    if (typeof v !== 'string' || !values.includes(v as T)) this.fail(key, `expected one of ${values.map((x) => `'${x}'`).join(', ')}`, v);
    return v as T;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.o[key] ?? def;
    if (typeof v !== 'boolean') this.fail(key, 'expected true or false', v);
    return v;
  }

  /** `include`: the names of the images an intensity transform touches (TorchIO's include); undefined = all. */
  include(): string[] | undefined {
    const v = this.o.include;
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0) || new Set(v).size !== v.length) {
      this.fail('include', 'expected a non-empty array of distinct volume names', v);
    }
    return [...v];
  }

  /** A uint32 seed. */
  seed(key: string): number {
    return this.number(key, undefined, 0, 4294967295, true);
  }
}
