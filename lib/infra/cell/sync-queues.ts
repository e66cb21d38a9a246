import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { SQS_MESSAGE_MAX_BYTES } from '../../contracts/aws-limits';
import { acknowledge } from '../nag';

export interface SyncQueuesProps {
  /** The cell's key: encrypts both queues. */
  readonly key: kms.IKey;
  /** Receives before a message moves to the DLQ. @default 8 */
  readonly maxReceiveCount?: number;
  /** Must be at least six times the worker's timeout, as Lambda's SQS event source asks. @default 3 minutes */
  readonly visibilityTimeout?: Duration;
}

/**
 * The sync queue and its dead-letter queue: KMS-encrypted, TLS-only, with a redrive policy. The
 * queue only carries work; the cell table stays the source of truth for what is still unsynced,
 * so retention here bounds nothing that matters.
 */
export class SyncQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SyncQueuesProps) {
    super(scope, id);
    // SQS takes messages of up to 1 MiB since 2025, but a new queue's default MaximumMessageSize may
    // still be 256 KiB: set, so AWS and the local fauxqs (1 MiB by default) hold a queue to the same size.
    const maxMessageSizeBytes = SQS_MESSAGE_MAX_BYTES;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      maxMessageSizeBytes,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.deadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the sync queue.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      maxMessageSizeBytes,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(3),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 8 },
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
