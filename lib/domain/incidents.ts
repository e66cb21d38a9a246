/**
 * The incident list of the status page: what went wrong, where, from when to when. Each observation of
 * the fleet says which conditions hold now; a condition that starts holding opens an incident, one that
 * stops holding ends it. A rollback is an incident of its own, over when it is logged.
 */

export type IncidentKind = 'cell-down' | 'integration-red' | 'fail-static' | 'rollback';

export interface Incident {
  readonly kind: IncidentKind;
  /** What it is about: a cell, `cell/tenant` for an integration, `router` for fail-static. */
  readonly subject: string;
  /** Epoch ms. */
  readonly startedAt: number;
  /** Epoch ms; absent while it lasts. */
  readonly endedAt?: number;
  readonly detail?: string;
}

/** One condition that holds at the time of an observation. */
export interface Condition {
  readonly kind: Exclude<IncidentKind, 'rollback'>;
  readonly subject: string;
  readonly detail?: string;
}

const keyOf = (i: { kind: string; subject: string }) => `${i.kind} ${i.subject}`;

/**
 * The incidents after observing `conditions` at `at`: open ones that no longer hold end at `at`, new ones
 * start at `at`. The newest `keep` incidents are kept (open ones always).
 */
export function observe(
  incidents: readonly Incident[],
  conditions: readonly Condition[],
  at: number,
  keep = 50,
): Incident[] {
  const holding = new Map(conditions.map((c) => [keyOf(c), c]));
  const open = new Set<string>();
  const next = incidents.map((i) => {
    if (i.endedAt !== undefined || i.kind === 'rollback') return i;
    if (holding.has(keyOf(i))) {
      open.add(keyOf(i));
      return i;
    }
    return { ...i, endedAt: at };
  });
  for (const [key, c] of holding) {
    if (!open.has(key)) next.push({ ...c, startedAt: at });
  }
  return trim(next, keep);
}

/** Adds a rollback (logged at `at`) once: the same rollback seen again is not added twice. */
export function withRollback(
  incidents: readonly Incident[],
  rollback: { readonly subject: string; readonly at: number; readonly detail?: string },
  keep = 50,
): Incident[] {
  const seen = incidents.some(
    (i) => i.kind === 'rollback' && i.subject === rollback.subject && i.startedAt === rollback.at,
  );
  if (seen) return [...incidents];
  const incident: Incident = {
    kind: 'rollback',
    subject: rollback.subject,
    startedAt: rollback.at,
    endedAt: rollback.at,
    ...(rollback.detail !== undefined && { detail: rollback.detail }),
  };
  return trim([...incidents, incident], keep);
}

function trim(incidents: Incident[], keep: number): Incident[] {
  const sorted = incidents.sort((a, b) => a.startedAt - b.startedAt);
  const ended = sorted.filter((i) => i.endedAt !== undefined);
  const drop = new Set(ended.slice(0, Math.max(0, sorted.length - keep)));
  return sorted.filter((i) => !drop.has(i));
}
