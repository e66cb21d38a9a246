import type { BreakerState } from './circuit-breaker';

export type StatusColour = 'green' | 'orange' | 'red';

export interface IntegrationFacts {
  /** Orders waiting to sync. */
  readonly pending: number;
  /** Epoch ms of the last successful call to the state system, if any. */
  readonly lastSuccessAt?: number;
  /** Epoch ms since the oldest pending order has waited. */
  readonly oldestPendingSince?: number;
  readonly breaker: BreakerState;
  readonly enabled: boolean;
  /** Epoch ms at which the oldest synced order not yet seen by a reconciliation was recorded. */
  readonly oldestUnverifiedAt?: number;
}

export interface ColourThresholds {
  /** No successful call for this long with work waiting: red. */
  readonly redAfterMs: number;
  /** Work waiting this long (the reconciler's grace): orange. */
  readonly orangeAfterMs: number;
  /**
   * Synced work no reconciliation has confirmed for this long: orange (reconciliation is behind).
   * @default Infinity (not judged)
   */
  readonly reconcileStaleMs?: number;
}

/** No successful call for this long with work pending is red (the Metrc-outage playbook's threshold). */
export const RED_AFTER_MS = 20 * 60 * 1000;
/** Work pending for this long without being red yet is orange. */
export const ORANGE_AFTER_MS = 60 * 1000;

/**
 * Green: synced and reconciled recently (nothing waits, or it is flowing). Orange: behind (the breaker
 * is not closed, the integration is switched off, the oldest order has waited past the grace, or synced
 * work waits for a reconciliation). Red: work waits and no call has succeeded for 20 minutes.
 */
export function integrationColour(
  f: IntegrationFacts,
  now: number,
  thresholds: ColourThresholds = { redAfterMs: RED_AFTER_MS, orangeAfterMs: ORANGE_AFTER_MS },
): StatusColour {
  const staleMs = thresholds.reconcileStaleMs ?? Infinity;
  const unreconciled = f.oldestUnverifiedAt !== undefined && now - f.oldestUnverifiedAt >= staleMs;
  if (f.pending === 0) return unreconciled ? 'orange' : 'green';
  const waitingSince = f.oldestPendingSince ?? now;
  const quietSince = Math.max(f.lastSuccessAt ?? 0, waitingSince);
  if (now - quietSince >= thresholds.redAfterMs) return 'red';
  const behind = now - waitingSince >= thresholds.orangeAfterMs;
  if (!f.enabled || f.breaker !== 'closed' || behind || unreconciled) return 'orange';
  return 'green';
}
