import type { BreakerState } from './circuit-breaker';

export type StatusColour = 'green' | 'orange' | 'red';

export interface IntegrationFacts {
  /** Orders waiting to sync. */
  readonly pending: number;
  /** Epoch ms of the last successful sync, if any. */
  readonly lastSuccessAt?: number;
  /** Epoch ms since the oldest pending order has waited. */
  readonly oldestPendingSince?: number;
  readonly breaker: BreakerState;
  readonly enabled: boolean;
}

/** No successful sync for this long with work pending is red (the Metrc-outage playbook's threshold). */
export const RED_AFTER_MS = 20 * 60 * 1000;
/** Work pending for this long without being red yet is orange. */
export const ORANGE_AFTER_MS = 60 * 1000;

/**
 * Green: nothing waits, or it is flowing. Orange: work is waiting (the breaker is not closed, the
 * integration is switched off, or the oldest order has waited a minute). Red: work is waiting and
 * nothing has synced for 20 minutes.
 */
export function integrationColour(
  f: IntegrationFacts,
  now: number,
  thresholds: { redAfterMs: number; orangeAfterMs: number } = {
    redAfterMs: RED_AFTER_MS,
    orangeAfterMs: ORANGE_AFTER_MS,
  },
): StatusColour {
  if (f.pending === 0) return 'green';
  const waitingSince = f.oldestPendingSince ?? now;
  const quietSince = Math.max(f.lastSuccessAt ?? 0, waitingSince);
  if (now - quietSince >= thresholds.redAfterMs) return 'red';
  if (!f.enabled || f.breaker !== 'closed' || now - waitingSince >= thresholds.orangeAfterMs) return 'orange';
  return 'green';
}
