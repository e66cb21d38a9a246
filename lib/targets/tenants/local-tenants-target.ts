/**
 * The local tenants target: the running local platform, as its state file describes it (routing store and
 * each cell's DynamoDB Local and fauxqs endpoints).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { cellIntegrations } from '../../config/integrations';
import type { Fleet } from '../../config/types';
import type { PlatformState } from '../../local/platform/platform-state';

import { DynamoCellData } from './dynamo-cell-data';
import { DynamoRoutingAdmin } from './dynamo-routing-admin';
import { DynamoTenantsTarget } from './dynamo-tenants-target';
import type { CellData } from './tenants-target';

/** The local services check no credentials, but the SDK signs every request and needs some. */
const LOCAL = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface LocalTenantsTargetOptions {
  /**
   * The fleet the platform runs: capacity of cells whose registry item declares none, and which tenants
   * each cell syncs to a compliance API. @default - neither is known
   */
  readonly fleet?: Fleet;
}

export class LocalTenantsTarget extends DynamoTenantsTarget {
  private readonly clients: { destroy(): void }[] = [];

  constructor(
    private readonly state: PlatformState,
    private readonly options: LocalTenantsTargetOptions = {},
  ) {
    const routingClient = new DynamoDBClient({ ...LOCAL, endpoint: state.routingStore.endpoint });
    super(
      `local (routing store at ${state.routingStore.endpoint})`,
      new DynamoRoutingAdmin({
        doc: DynamoDBDocumentClient.from(routingClient, { marshallOptions: { removeUndefinedValues: true } }),
        routesTable: state.routingStore.routesTable,
        registryTable: state.routingStore.registryTable,
        ...(options.fleet && {
          maxTenants: Object.fromEntries(options.fleet.cells.map((c) => [c.id, c.maxTenants])),
        }),
      }),
    );
    this.clients.push(routingClient);
  }

  protected async openCell(cellId: string): Promise<CellData> {
    const cell = this.state.cells[cellId];
    if (!cell) throw new Error(`cell ${cellId} is not part of the running local platform`);
    const ddb = new DynamoDBClient({ ...LOCAL, endpoint: cell.dynamodb });
    // fauxqs's queue URLs name a host that need not resolve: always send to the configured endpoint.
    const sqs = new SQSClient({ ...LOCAL, endpoint: cell.sqs, useQueueUrlAsEndpoint: false });
    this.clients.push(ddb, sqs);
    const fleetCell = this.options.fleet?.cells.find((c) => c.id === cellId);
    return new DynamoCellData({
      ddb,
      sqs,
      tableName: cell.tableName,
      queueUrl: cell.queueUrl,
      ...(fleetCell && {
        integratedTenants: new Set(Object.keys(cellIntegrations(fleetCell))),
      }),
    });
  }

  close(): void {
    for (const client of this.clients) client.destroy();
  }
}
