/**
 * Wildcard matching as IAM does it: `*` is any run of characters, `?` is exactly one.
 * - Actions: "The prefix and the action name are case insensitive" (IAM JSON policy elements: Action).
 * - Resources and ARN conditions: case-sensitive, matched per colon-delimited ARN segment; a `*` that ends a
 *   segment "can expand to match beyond colon boundaries" (IAM JSON policy elements: Resource).
 */

export type Matcher = (value: string) => boolean;

const escape = (text: string): string => text.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** A whole-string glob; `ignoreCase` for action names and `StringEqualsIgnoreCase`-like uses. */
export function globMatcher(pattern: string, ignoreCase = false): Matcher {
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escape(c))).join('');
  const regex = new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
  return (value) => regex.test(value);
}

/** An action pattern such as `dynamodb:Get*` or `*`. */
export const actionMatcher = (pattern: string): Matcher => globMatcher(pattern, true);

/** Splits an ARN at its first five colons: partition, service, region, account and the resource part. */
function arnSegments(arn: string): string[] {
  const parts = arn.split(':');
  return parts.length <= 6 ? parts : [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/**
 * An ARN pattern, compared segment by segment (ArnLike: "Each of the six colon-delimited components of the
 * ARN is checked separately"). The resource part may itself contain colons (`function:name:alias`), so a
 * `*` there spans them. A pattern with fewer segments whose last character is `*` (`arn:aws:lambda:*`)
 * lets that `*` swallow the rest of the ARN.
 */
export function arnMatcher(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  const patternParts = arnSegments(pattern);
  const matchers = patternParts.map((part) => globMatcher(part));
  const openEnded = patternParts.length < 6 && pattern.endsWith('*');
  return (arn) => {
    const parts = arnSegments(arn);
    if (openEnded) {
      const last = matchers.length - 1;
      const rest = parts.slice(last).join(':');
      return parts.length >= matchers.length && matchers.every((m, i) => m(i === last ? rest : parts[i]));
    }
    return parts.length === matchers.length && matchers.every((m, i) => m(parts[i]));
  };
}

/** The account of an ARN (`arn:aws:kms:us-east-1:111111111111:key/…` → `111111111111`), if it has one. */
export const arnAccount = (arn: string): string | undefined => arnSegments(arn)[4] || undefined;

/** The region of an ARN, if it has one. */
export const arnRegion = (arn: string): string | undefined => arnSegments(arn)[3] || undefined;

/** The last path element of an IAM or STS ARN: a role's name (`…:role/path/name` → `name`). */
export function roleName(arn: string): string {
  const resource = arnSegments(arn)[5] ?? arn;
  const path = resource.split('/');
  return resource.startsWith('assumed-role/') ? path[1] : path[path.length - 1];
}
