/** A resource's `Properties` (or any object inside them), as found in a synthesized template. */
export type CfnProperties = Readonly<Record<string, unknown>>;

/** Properties a reader understands, and those it accepts without effect (each with why). */
export interface PropertyRules {
  readonly accepted: readonly string[];
  readonly ignored?: Readonly<Record<string, string>>;
}

/**
 * Reads template values. Every failure goes to `fail` with the property path (inside `Properties`)
 * and the problem, so the caller's error can name its resource.
 */
export class PropertyReader {
  constructor(private readonly onFailure: (property: string | undefined, problem: string) => never) {}

  fail(property: string | undefined, problem: string): never {
    return this.onFailure(property, problem);
  }

  /** Fails on the first key that is neither accepted nor ignored. */
  onlyKnown(value: CfnProperties, at: string, rules: PropertyRules): void {
    const ignored = rules.ignored ?? {};
    for (const key of Object.keys(value)) {
      if (rules.accepted.includes(key) || key in ignored) continue;
      const known = [...rules.accepted, ...Object.keys(ignored).map((name) => `${name} (ignored)`)];
      this.fail(join(at, key), `is not supported by the local platform (known: ${known.join(', ')})`);
    }
  }

  object(value: unknown, at: string): CfnProperties {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(at, `must be an object, got ${JSON.stringify(value)}`);
    }
    return value as CfnProperties;
  }

  array(value: unknown, at: string): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(at, `must be a list, got ${JSON.stringify(value)}`);
    return value;
  }

  /** Intrinsic functions (`Ref`, `Fn::GetAtt`, ...) land here as objects and fail by name. */
  string(value: unknown, at: string): string {
    if (typeof value !== 'string') this.fail(at, `must be a plain string, got ${JSON.stringify(value)}`);
    return value;
  }

  oneOf<const T extends string>(value: unknown, at: string, allowed: readonly T[]): T {
    const text = this.string(value, at);
    if (!(allowed as readonly string[]).includes(text)) {
      this.fail(at, `must be one of ${allowed.join(', ')}, got "${text}"`);
    }
    return text as T;
  }

  /** CloudFormation accepts numbers as numbers or numeric strings. */
  number(value: unknown, at: string): number {
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      this.fail(at, `must be a number, got ${JSON.stringify(value)}`);
    }
    return number;
  }

  integer(value: unknown, at: string, min: number): number {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
      this.fail(at, `must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  /** CloudFormation accepts booleans as booleans or "true"/"false". */
  boolean(value: unknown, at: string): boolean {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(at, `must be true or false, got ${JSON.stringify(value)}`);
  }

  required(props: CfnProperties, key: string, at = ''): unknown {
    if (props[key] === undefined) this.fail(join(at, key), 'is required');
    return props[key];
  }
}

const join = (at: string, key: string): string => (at ? `${at}.${key}` : key);
