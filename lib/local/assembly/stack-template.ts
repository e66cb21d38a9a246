/**
 * One stack's template as the modellers read it: its resources, which of them have no local
 * counterpart, the intrinsic functions they reference each other with, and a reader per resource
 * whose failures name the stack, the resource and the property.
 */
import { UnsupportedResourceError } from './model';
import { type CfnProperties, PropertyReader, type PropertyRules } from './property-reader';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: CfnProperties;
  readonly UpdatePolicy?: CfnProperties;
  readonly Condition?: unknown;
  readonly Metadata?: CfnProperties;
  readonly [attribute: string]: unknown;
}

export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnResource>>;
  readonly Parameters?: Readonly<Record<string, unknown>>;
  readonly Transform?: unknown;
}

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{ Ref: X }` → X. */
export function refOf(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  return Object.keys(value).length === 1 && typeof value.Ref === 'string' ? value.Ref : undefined;
}

/** `{ 'Fn::GetAtt': [X, A] }` (or `'X.A'`) → [X, A]. */
export function getAttOf(value: unknown): [string, string] | undefined {
  if (!isObject(value) || Object.keys(value).length !== 1) return undefined;
  const args = value['Fn::GetAtt'];
  if (
    Array.isArray(args) &&
    args.length === 2 &&
    typeof args[0] === 'string' &&
    typeof args[1] === 'string'
  ) {
    return [args[0], args[1]];
  }
  if (typeof args === 'string' && args.includes('.')) {
    const dot = args.indexOf('.');
    return [args.slice(0, dot), args.slice(dot + 1)];
  }
  return undefined;
}

/** The one intrinsic function of an object like `{ 'Fn::Join': [...] }`: its name and argument. */
export function intrinsicOf(value: unknown): [string, unknown] | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !(keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return undefined;
  return [keys[0], value[keys[0]]];
}

/** Literal strings of a value, through `Fn::Join`: to recognise a call by its text. */
export function literalText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = intrinsicOf(value);
  if (join?.[0] === 'Fn::Join' && Array.isArray(join[1]) && Array.isArray(join[1][1])) {
    return (join[1][1] as unknown[]).map(literalText).join('');
  }
  return '';
}

export class StackTemplate {
  readonly resources: Readonly<Record<string, CfnResource>>;
  private readonly parameters: Readonly<Record<string, unknown>>;

  constructor(
    readonly stackName: string,
    template: CfnTemplate,
    /** Resources with no local counterpart (ignored, with a reason, by the stack model). */
    private readonly ignoredIds: ReadonlySet<string>,
  ) {
    this.resources = template.Resources ?? {};
    this.parameters = template.Parameters ?? {};
  }

  /** The modelled resources of a type, in template order. */
  ids(type: string): string[] {
    return Object.keys(this.resources).filter((id) => this.isModelled(id, type));
  }

  isModelled(logicalId: string, type: string): boolean {
    return this.resources[logicalId]?.Type === type && !this.ignoredIds.has(logicalId);
  }

  /** Whether a reference to `logicalId` can stand for something local. */
  hasLocalCounterpart(logicalId: string): boolean {
    return logicalId in this.resources && !this.ignoredIds.has(logicalId);
  }

  reader(logicalId: string): PropertyReader {
    const type = this.resources[logicalId].Type;
    return new PropertyReader((property, problem) => {
      throw new UnsupportedResourceError(this.stackName, logicalId, type, property, problem);
    });
  }

  props(logicalId: string): CfnProperties {
    return this.resources[logicalId].Properties ?? {};
  }

  /** Models every resource of `type`: its properties checked against `rules`, then read by `model`. */
  modelEach<T>(
    type: string,
    rules: PropertyRules | undefined,
    model: (r: PropertyReader, props: CfnProperties, logicalId: string) => T,
  ): T[] {
    return this.ids(type).map((logicalId) => {
      const r = this.reader(logicalId);
      const props = this.props(logicalId);
      if (rules) r.onlyKnown(props, '', rules);
      return model(r, props, logicalId);
    });
  }

  /** What a reference to `target` is, for error messages. */
  describe(target: string): string {
    if (target in this.parameters) return `the template parameter ${target}, which has no local value`;
    if (!(target in this.resources)) return `${target}, which is not a resource of this stack`;
    const type = this.resources[target].Type;
    if (this.ignoredIds.has(target)) return `${target} (${type}), which has no local counterpart`;
    return `${target} (${type})`;
  }

  /** `{Ref: fn}` or `{Fn::GetAtt: [fn, 'Arn']}` of a modelled function → its logical id. */
  functionOf(value: unknown): string | undefined {
    const ref = refOf(value);
    if (ref !== undefined) return this.isModelled(ref, 'AWS::Lambda::Function') ? ref : undefined;
    const att = getAttOf(value);
    return att && att[1] === 'Arn' && this.isModelled(att[0], 'AWS::Lambda::Function') ? att[0] : undefined;
  }

  /** `FunctionName` of a version or an alias: a function of this stack. */
  requiredFunction(r: PropertyReader, props: CfnProperties): string {
    const fn = this.functionOf(r.required(props, 'FunctionName'));
    if (!fn) r.fail('FunctionName', 'must reference a function of this stack');
    return fn;
  }
}
