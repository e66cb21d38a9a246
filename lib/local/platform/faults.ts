/** The drills of `bulkhead local fault`: take a piece of the running fleet down, or bring it back. */
import type { ComplianceSimulator } from '../compliance/compliance-simulator';

import type { StackRuntime } from './cell-runtime';

export const FAULTS = [
  'cell-down',
  'cell-up',
  'integration-down',
  'integration-flaky',
  'integration-up',
  'routing-store-down',
  'routing-store-up',
] as const;
export type Fault = (typeof FAULTS)[number];

/** The share of writes whose answer `integration-flaky` loses. */
export const FLAKY_SHARE = 0.5;

/** The pieces a fault acts on. */
export interface FaultTargets {
  readonly cells: ReadonlyMap<string, StackRuntime>;
  readonly router: StackRuntime;
  readonly simulator: ComplianceSimulator;
}

export async function applyFault(targets: FaultTargets, fault: Fault, cellId?: string): Promise<void> {
  switch (fault) {
    case 'cell-down':
    case 'cell-up': {
      const cell = cellId ? targets.cells.get(cellId) : undefined;
      if (!cell)
        throw new Error(`unknown cell '${cellId ?? ''}'; cells: ${[...targets.cells.keys()].join(', ')}`);
      if (fault === 'cell-down') await cell.stop();
      else if (!cell.healthy) {
        // Also after a process died on its own (a killed database): stop what is left, start it all again.
        await cell.stop();
        await cell.start();
      }
      return;
    }
    case 'integration-down':
      return targets.simulator.setFault('down');
    // Half the writes are committed, then their answer is lost: a retry that does not look first duplicates.
    case 'integration-flaky':
      return targets.simulator.setFault('flaky', { share: FLAKY_SHARE });
    case 'integration-up':
      return targets.simulator.setFault('none');
    case 'routing-store-down':
      return targets.router.dynamo.stop();
    case 'routing-store-up':
      if (!targets.router.dynamo.running) await targets.router.dynamo.start();
  }
}
