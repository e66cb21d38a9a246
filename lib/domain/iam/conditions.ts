/**
 * Condition operators, per "IAM JSON policy elements: Condition operators" and "Conditions with multiple
 * context keys or values". Only the operators below are implemented; any other is rejected when the policy
 * is parsed, so a template that relies on one fails loudly instead of silently allowing or denying.
 */
import { arnMatcher, globMatcher, Matcher } from './matching';

/** A request context value; `[]` counts as absent. */
export type ContextValue = string | readonly string[] | boolean | number;
export type RequestContextKeys = Readonly<Record<string, ContextValue>>;

interface Operator {
  /** Negated operators (`StringNotEquals`, …) hold when no policy value matches (NOR), and on a missing key. */
  readonly negated: boolean;
  /** Compiles one policy value into a test of one request value; throws on a value the operator cannot take. */
  compile(policyValue: string): Matcher;
}

const numeric = (test: (request: number, policy: number) => boolean) => (policyValue: string) => {
  const policy = Number(policyValue);
  if (policyValue.trim() === '' || Number.isNaN(policy)) throw new Error(`"${policyValue}" is not a number`);
  return (value: string) => value.trim() !== '' && test(Number(value), policy);
};

const boolean = (policyValue: string): Matcher => {
  const policy = policyValue.toLowerCase();
  if (policy !== 'true' && policy !== 'false') throw new Error(`"${policyValue}" is not true or false`);
  return (value) => value.toLowerCase() === policy;
};

const positive = (compile: Operator['compile']): Operator => ({ negated: false, compile });
const negated = (compile: Operator['compile']): Operator => ({ negated: true, compile });

const stringEquals =
  (p: string): Matcher =>
  (v) =>
    v === p;
const stringEqualsIgnoreCase =
  (p: string): Matcher =>
  (v) =>
    v.toLowerCase() === p.toLowerCase();
const stringLike = (p: string): Matcher => globMatcher(p);
const numericEquals = numeric((r, p) => r === p);

const OPERATORS: Readonly<Record<string, Operator>> = {
  StringEquals: positive(stringEquals),
  StringNotEquals: negated(stringEquals),
  StringEqualsIgnoreCase: positive(stringEqualsIgnoreCase),
  StringNotEqualsIgnoreCase: negated(stringEqualsIgnoreCase),
  StringLike: positive(stringLike),
  StringNotLike: negated(stringLike),
  // "The ArnEquals and ArnLike condition operators behave identically."
  ArnEquals: positive(arnMatcher),
  ArnLike: positive(arnMatcher),
  ArnNotEquals: negated(arnMatcher),
  ArnNotLike: negated(arnMatcher),
  NumericEquals: positive(numericEquals),
  NumericNotEquals: negated(numericEquals),
  NumericLessThan: positive(numeric((r, p) => r < p)),
  NumericLessThanEquals: positive(numeric((r, p) => r <= p)),
  NumericGreaterThan: positive(numeric((r, p) => r > p)),
  NumericGreaterThanEquals: positive(numeric((r, p) => r >= p)),
  Bool: positive(boolean),
};

export type SetQualifier = 'ForAllValues' | 'ForAnyValue';

/** One `operator: { key: values }` pair of a Condition block, compiled. */
export interface Condition {
  readonly key: string;
  holds(context: RequestContextKeys): boolean;
}

interface OperatorName {
  readonly qualifier?: SetQualifier;
  readonly base: string;
  readonly ifExists: boolean;
}

function splitOperator(operator: string): OperatorName {
  const [first, ...rest] = operator.split(':');
  const qualified = first === 'ForAllValues' || first === 'ForAnyValue';
  const name = qualified ? rest.join(':') : operator;
  const ifExists = name.endsWith('IfExists');
  const base = ifExists ? name.slice(0, -'IfExists'.length) : name;
  return { qualifier: qualified ? (first as SetQualifier) : undefined, base, ifExists };
}

/** Request values of a key; context key names are not case-sensitive (IAM JSON policy elements: Condition). */
function lookup(context: RequestContextKeys, key: string): readonly string[] | undefined {
  const name = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  const value = name === undefined ? undefined : context[name];
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? (value as readonly string[]) : [String(value)];
  return values.length === 0 ? undefined : values;
}

/** `Null`: `true` holds when the key is absent, `false` when it is present. */
function nullCondition(key: string, values: readonly string[]): Condition['holds'] {
  const expected = values.map(boolean);
  return (context) => {
    const absent = String(lookup(context, key) === undefined);
    return expected.some((matches) => matches(absent));
  };
}

/** Compiles one operator/key/values triple; throws a plain message that the caller prefixes with its place. */
export function compileCondition(operator: string, key: string, values: readonly string[]): Condition {
  const name = splitOperator(operator);
  if (name.base === 'Null') {
    if (name.qualifier || name.ifExists) throw new Error(`condition operator "${operator}" is not supported`);
    return { key, holds: nullCondition(key, values) };
  }
  const op = OPERATORS[name.base];
  if (!op) throw new Error(`condition operator "${operator}" is not supported`);
  const matchers = values.map((v) => op.compile(v));
  const holdsFor = (value: string) => matchers.some((m) => m(value)) !== op.negated;
  const holds = (context: RequestContextKeys): boolean => {
    const request = lookup(context, key);
    if (request === undefined) {
      // IfExists: "If the key is not present, evaluate the condition element as true."
      // ForAllValues "also returns true if there are no context keys in the request"; ForAnyValue needs one.
      if (name.ifExists || name.qualifier === 'ForAllValues') return true;
      if (name.qualifier === 'ForAnyValue') return false;
      return op.negated;
    }
    if (name.qualifier === 'ForAnyValue') return request.some(holdsFor);
    // ForAllValues: every request value must hold. Without a qualifier a multivalued key is read the same
    // way for negated operators (no value may match) and as "any value matches" for the others.
    return name.qualifier === 'ForAllValues' || op.negated ? request.every(holdsFor) : request.some(holdsFor);
  };
  return { key, holds };
}

/** The request's value of a key, for explanations (`aws:SecureTransport = false`). */
export function describeKey(context: RequestContextKeys, key: string): string {
  const values = lookup(context, key);
  return values === undefined ? `${key} absent` : `${key} = ${values.join(', ')}`;
}
