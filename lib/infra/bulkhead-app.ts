import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

import type { Fleet } from '../config/types';
import { cellStackName, ROUTER_STACK } from '../contracts/names';

import { CellStack } from './cell/cell-stack';
import { RouterStack } from './router/router-stack';

/** Thrown when `-c cells=...` names a cell the fleet does not have. */
export class CellSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CellSelectionError';
  }
}

export interface BulkheadAppOptions {
  readonly fleet: Fleet;
  /** Cell ids to build; the router is always built. @default - every cell */
  readonly selectedCells?: readonly string[];
  /** Release label the cells report. */
  readonly release: string;
  /** Run the cdk-nag AwsSolutions checks on every stack. @default true */
  readonly nag?: boolean;
}

export interface BulkheadStacks {
  readonly router: RouterStack;
  readonly cells: readonly CellStack[];
}

/** Picks the cells to build, refusing unknown ids with the list of known ones. */
export function selectCells(fleet: Fleet, selected?: readonly string[]): Fleet['cells'] {
  if (!selected) return fleet.cells;
  const known = new Set(fleet.cells.map((c) => c.id));
  const unknown = selected.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new CellSelectionError(
      `-c cells: unknown cell${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the fleet has ${[...known].join(', ')}`,
    );
  }
  return fleet.cells.filter((c) => selected.includes(c.id));
}

/**
 * Adds the router stack and one stack per (selected) cell. Only selected cells are constructed, so
 * synthesizing one cell costs the same in a fleet of 3 or 300.
 */
export function addBulkheadStacks(app: App, options: BulkheadAppOptions): BulkheadStacks {
  const { fleet } = options;
  const cells = selectCells(fleet, options.selectedCells);
  const router = new RouterStack(app, ROUTER_STACK, {
    env: fleet.router,
    fleet,
    description: 'Bulkhead router: routing table, cell registry, and the public entry',
  });
  const cellStacks = cells.map((cell) => {
    const stack = new CellStack(app, cellStackName(cell.id), {
      env: { account: cell.account, region: cell.region },
      cell,
      router: fleet.router,
      release: options.release,
      description: `Bulkhead cell ${cell.id} (wave ${cell.wave})`,
    });
    stack.addStackDependency(router, 'cells register their endpoint in the router’s registry');
    return stack;
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { router, cells: cellStacks };
}
