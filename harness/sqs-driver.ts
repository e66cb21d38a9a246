import { randomUUID } from 'node:crypto';

import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

/** A Lambda context good enough for Powertools: names, a request id and a remaining time. */
export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** An SQS event record as Lambda's event source builds it. */
export function sqsRecord(
  body: string,
  options: { messageId?: string; receiptHandle?: string; receiveCount?: number } = {},
): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: options.receiptHandle ?? `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:sync',
    awsRegion: 'us-east-1',
  };
}

function recordOf(message: Message): SQSRecord {
  return sqsRecord(message.Body ?? '', {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
  });
}

export interface SqsDriverOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly handler: SqsHandler;
  /** Pollers running at once, like the event source's maximum concurrency. @default 1 */
  readonly concurrency?: number;
  /** @default 10 */
  readonly batchSize?: number;
  /** Seconds a received message stays hidden: a failed record comes back after this. @default 2 */
  readonly visibilityTimeoutSeconds?: number;
  /** The handler's timeout, as its context reports it. @default 30000 */
  readonly functionTimeoutMs?: number;
}

/**
 * Lambda's SQS event source, locally: pollers receive batches, invoke the handler, delete the
 * records it did not report as failed and leave those to reappear after the visibility timeout.
 */
export class SqsDriver {
  /** Handler invocations, and records deleted (succeeded) or left (failed), so far. */
  readonly stats = { invocations: 0, succeeded: 0, failed: 0 };
  private running = false;
  private pollers: Promise<void>[] = [];
  private readonly errors: unknown[] = [];

  constructor(private readonly options: SqsDriverOptions) {}

  start(): void {
    if (this.running) throw new Error('the SQS driver is already running');
    this.running = true;
    this.pollers = Array.from({ length: this.options.concurrency ?? 1 }, () => this.poll());
  }

  /** Stops after the batches in flight; rethrows the first error a poller hit. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.pollers);
    this.pollers = [];
    if (this.errors.length > 0) throw this.errors[0];
  }

  private async poll(): Promise<void> {
    const { client, queueUrl, handler } = this.options;
    while (this.running) {
      try {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: this.options.batchSize ?? 10,
            // Short, so stop() does not wait long for an idle poller.
            WaitTimeSeconds: 1,
            VisibilityTimeout: this.options.visibilityTimeoutSeconds ?? 2,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        if (Messages.length === 0) continue;
        const event: SQSEvent = { Records: Messages.map(recordOf) };
        this.stats.invocations++;
        let failed: Set<string>;
        try {
          const response = await handler(event, lambdaContext('sync-worker', this.options.functionTimeoutMs));
          failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch {
          // A handler that throws fails the whole batch, as on Lambda.
          failed = new Set(event.Records.map((r) => r.messageId));
        }
        const done = Messages.filter((m) => !failed.has(m.MessageId ?? ''));
        this.stats.succeeded += done.length;
        this.stats.failed += Messages.length - done.length;
        if (done.length > 0) {
          await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      } catch (error) {
        this.errors.push(error);
        this.running = false;
      }
    }
  }
}
