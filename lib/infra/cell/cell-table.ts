import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

import { CELL_TABLE_KEYS as K } from '../../contracts/table-schema';
import { acknowledge } from '../nag';

export interface CellTableProps {
  /** The cell's key: encrypts the table and the backup vault. */
  readonly key: kms.IKey;
  /** @default 35 */
  readonly backupRetentionDays?: number;
  /** The backup vault's name before its creation suffix, e.g. `bulkhead-use1-a` (at most 41 characters). */
  readonly vaultNamePrefix: string;
}

/**
 * The cell's single table (on-demand, point-in-time recovery, customer-managed KMS, deletion
 * protection, retained) and an AWS Backup plan taking a snapshot every six hours.
 */
export class CellTable extends Construct {
  readonly table: dynamodb.Table;
  readonly backupPlan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: CellTableProps) {
    super(scope, id);
    const s = dynamodb.AttributeType.STRING;
    this.table = new dynamodb.Table(this, 'Resource', {
      partitionKey: { name: K.partitionKey, type: s },
      sortKey: { name: K.sortKey, type: s },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      timeToLiveAttribute: K.ttlAttribute,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: K.byStatusIndex,
      partitionKey: { name: K.byStatusPartitionKey, type: s },
      sortKey: { name: K.byStatusSortKey, type: s },
    });
    this.table.addGlobalSecondaryIndex({
      indexName: K.pendingIndex,
      partitionKey: { name: K.pendingPartitionKey, type: s },
      sortKey: { name: K.pendingSortKey, type: s },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: K.unverifiedIndex,
      partitionKey: { name: K.unverifiedPartitionKey, type: s },
      sortKey: { name: K.unverifiedSortKey, type: s },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });

    // The vault outlives its stack (retained), and a vault's name is unique per account and region: a name
    // fixed by the construct path would make creating the cell again fail with AlreadyExists. The first
    // part of the stack's own id (new with every creation) tells this stack's vault apart.
    const stack = Stack.of(this);
    const creation = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', stack.stackId))));
    const vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: `${props.vaultNamePrefix}-${creation}`,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.backupPlan = new backup.BackupPlan(this, 'BackupPlan', { backupVault: vault });
    this.backupPlan.addRule(
      new backup.BackupPlanRule({
        ruleName: 'Every6Hours',
        scheduleExpression: events.Schedule.cron({ minute: '0', hour: '0/6' }),
        deleteAfter: Duration.days(props.backupRetentionDays ?? 35),
      }),
    );
    const selection = this.backupPlan.addSelection('Table', {
      resources: [backup.BackupResource.fromDynamoDbTable(this.table)],
    });
    acknowledge(selection, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: 'The role AWS Backup documents for taking backups; the selection limits it to the cell table.',
    });
  }
}
