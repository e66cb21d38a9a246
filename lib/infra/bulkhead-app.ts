import { App, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';

import { type Fleet, operatorAccountOf } from '../config/types';
import { cellStackName, ROUTER_STACK } from '../contracts/names';

import { CellStack } from './cell/cell-stack';
import { fleetIntegratorFacilities } from './cell/integration-settings';
import { AlarmNotifications } from './observability/alarm-notifications';
import { addCellDashboard, addFleetDashboard } from './observability/dashboards';
import { RouterStack } from './router/router-stack';
import { TemplateSizeCheck } from './template-size';

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
  /** `-c deployId=`: set by the release CLI per `cdk deploy` (see CellStackProps.deployId). */
  readonly deployId?: string;
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
    terminationProtection: true,
    description: 'Bulkhead router: routing table, cell registry, and the public entry',
  });
  // Every facility on the same state API and vendor key shares one GET limit, whichever cell it is in.
  const integratorFacilities = fleetIntegratorFacilities(fleet);
  const cellStacks = cells.map((cell) => {
    const stack = new CellStack(app, cellStackName(cell.id), {
      env: { account: cell.account, region: cell.region },
      terminationProtection: true,
      cell,
      router: fleet.router,
      operatorAccount: operatorAccountOf(fleet),
      release: options.release,
      ...(options.deployId && { deployId: options.deployId }),
      integratorFacilities,
      description: `Bulkhead cell ${cell.id} (wave ${cell.wave})`,
    });
    stack.addStackDependency(router, 'cells register their endpoint in the router’s registry');
    addCellDashboard(stack, cell);
    return stack;
  });
  Validations.of(app).addPlugins(new TemplateSizeCheck());
  addFleetDashboard(router, fleet);
  // Each stack's own key (`Key`) encrypts its alarm topic too.
  for (const stack of [router, ...cellStacks])
    new AlarmNotifications(stack, stack.node.findChild('Key') as kms.IKey, fleet.alarms);
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { router, cells: cellStacks };
}
