import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

import type { InvokeResult } from './invocation';

/** What the event source invokes: a function version or an alias. */
export interface SqsEventTarget {
  invoke(event: SQSEvent): Promise<InvokeResult>;
}

export interface SqsEventSourceOptions {
  /** A client with an explicit `endpoint` and `useQueueUrlAsEndpoint: false`. */
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly target: SqsEventTarget;
  /** Messages per invocation (Lambda: 1..10000; over 10 only with a batching window). @default 10 */
  readonly batchSize?: number;
  /**
   * `MaximumBatchingWindowInSeconds`: how long records are gathered, from the first one received, before
   * the function is invoked with fewer than `batchSize` (Lambda: 0..300). @default 0 (invoked at once)
   */
  readonly maximumBatchingWindowSeconds?: number;
  /** Concurrent invocations at most (Lambda: 2..1000). @default 5 */
  readonly maximumConcurrency?: number;
  /** `FunctionResponseTypes: ['ReportBatchItemFailures']`. @default false */
  readonly reportBatchItemFailures?: boolean;
  /** Long-poll wait of each receive (Lambda uses 20; locally short, so `stop()` is quick). @default 1 */
  readonly waitTimeSeconds?: number;
  /** Overrides the queue's visibility timeout on receive. */
  readonly visibilityTimeoutSeconds?: number;
  /** @default stderr, prefixed with the queue name */
  readonly log?: (line: string) => void;
}

export interface SqsEventSourceStats {
  readonly state: 'stopped' | 'running' | 'paused';
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly received: number;
  readonly deleted: number;
  readonly batches: number;
  readonly failedBatches: number;
  readonly partialBatches: number;
  readonly receiveErrors: number;
  /** The highest `ApproximateReceiveCount` of a record handed to the target (SQS dead-letters at the redrive policy's `maxReceiveCount`). */
  readonly maxReceiveCount: number;
}

const SQS_MAX_RECEIVE = 10;
/** Within a batching window, how soon an empty short poll is repeated. */
const WINDOW_POLL_MS = 50;
const MAX_BACKOFF_MS = 5000;

/**
 * Lambda's SQS event source mapping: pollers receive batches, invoke the target with the SQS event
 * Lambda builds, and delete what succeeded. A failed invocation leaves the whole batch on the queue
 * (visible again after the visibility timeout, redriven to the DLQ by the queue's RedrivePolicy);
 * with `reportBatchItemFailures`, only the reported messages stay.
 */
export class SqsEventSource {
  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly maximumConcurrency: number;
  private readonly waitTimeSeconds: number;
  private readonly region: string;
  private readonly log: (line: string) => void;
  private running = false;
  private paused = false;
  private pollers: Promise<void>[] = [];
  /** Pollers that sleep (paused, backing off), woken when the state changes. */
  private readonly sleepers = new Set<() => void>();
  private counters = {
    inFlight: 0,
    maxInFlight: 0,
    received: 0,
    deleted: 0,
    batches: 0,
    failedBatches: 0,
    partialBatches: 0,
    receiveErrors: 0,
    maxReceiveCount: 0,
  };

  constructor(private readonly options: SqsEventSourceOptions) {
    this.batchSize = options.batchSize ?? 10;
    const windowSeconds = options.maximumBatchingWindowSeconds ?? 0;
    this.batchingWindowMs = windowSeconds * 1000;
    this.maximumConcurrency = options.maximumConcurrency ?? 5;
    this.waitTimeSeconds = options.waitTimeSeconds ?? 1;
    const queueName = options.queueArn.split(':')[5] ?? options.queueUrl;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000) {
      throw new Error(`${queueName}: batchSize must be an integer within 1..10000, got ${this.batchSize}`);
    }
    if (!(Number.isInteger(windowSeconds) && windowSeconds >= 0 && windowSeconds <= 300)) {
      throw new Error(
        `${queueName}: maximumBatchingWindowSeconds must be an integer within 0..300, got ${windowSeconds}`,
      );
    }
    // Lambda: "When you set BatchSize to a value greater than 10, you must set MaximumBatchingWindowInSeconds to at least 1."
    if (this.batchSize > SQS_MAX_RECEIVE && windowSeconds < 1) {
      throw new Error(`${queueName}: a batchSize over 10 needs maximumBatchingWindowSeconds of at least 1`);
    }
    if (
      !Number.isInteger(this.maximumConcurrency) ||
      this.maximumConcurrency < 2 ||
      this.maximumConcurrency > 1000
    ) {
      throw new Error(
        `${queueName}: maximumConcurrency must be an integer within 2..1000, got ${this.maximumConcurrency}`,
      );
    }
    if (!(this.waitTimeSeconds >= 0 && this.waitTimeSeconds <= 20)) {
      throw new Error(`${queueName}: waitTimeSeconds must be within 0..20, got ${this.waitTimeSeconds}`);
    }
    this.region = options.queueArn.split(':')[3] || 'us-east-1';
    this.log = options.log ?? ((line) => process.stderr.write(`[sqs ${queueName}] ${line}\n`));
  }

  stats(): SqsEventSourceStats {
    const state = !this.running ? 'stopped' : this.paused ? 'paused' : 'running';
    return { state, ...this.counters };
  }

  /** Starts `maximumConcurrency` pollers; no-op if running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.paused = false;
    this.pollers = Array.from({ length: this.maximumConcurrency }, () => this.poll());
  }

  /** Stops polling; resolves once every received batch has been processed (at most one long poll later). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await Promise.all(this.pollers);
    this.pollers = [];
  }

  /** Stops receiving new batches (those in flight finish), as disabling the mapping does. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  private wake(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** Resolves after `ms` (never, if undefined) or when woken. */
  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const sleepers = this.sleepers;
      function done(): void {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      }
      sleepers.add(done);
    });
  }

  private async poll(): Promise<void> {
    let backoffMs = 0;
    while (this.running) {
      if (this.paused) {
        await this.sleep();
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.receive();
        backoffMs = 0;
      } catch (error) {
        this.counters.receiveErrors += 1;
        // Once per outage, not once per poller per retry.
        if (backoffMs === 0) this.log(`receive failed, retrying with backoff: ${describe(error)}`);
        backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(200, backoffMs * 2));
        await this.sleep(backoffMs);
        continue;
      }
      if (messages.length > 0) await this.process(messages);
      else if (this.waitTimeSeconds === 0) await this.sleep(100);
    }
  }

  /**
   * Up to `batchSize` messages: one long poll; then, without a batching window, short receives while the
   * queue keeps giving full batches; with one, receives until the batch is full or the window (counted
   * from the first message) is over.
   */
  private async receive(): Promise<Message[]> {
    const messages: Message[] = [];
    let wait = this.waitTimeSeconds;
    let windowEnds: number | undefined;
    while (messages.length < this.batchSize && this.running) {
      const left = windowEnds === undefined ? undefined : windowEnds - Date.now();
      if (left !== undefined && left <= 0) break;
      const max = Math.min(SQS_MAX_RECEIVE, this.batchSize - messages.length);
      const { Messages = [] } = await this.options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: left === undefined ? wait : Math.min(wait, Math.floor(left / 1000)),
          AttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
          ...(this.options.visibilityTimeoutSeconds !== undefined && {
            VisibilityTimeout: this.options.visibilityTimeoutSeconds,
          }),
        }),
      );
      messages.push(...Messages);
      if (messages.length === 0) break;
      if (this.batchingWindowMs === 0) {
        if (Messages.length < max) break;
        wait = 0;
        continue;
      }
      windowEnds ??= Date.now() + this.batchingWindowMs;
      // A short poll that found nothing: look again shortly, not in a busy loop.
      if (Messages.length === 0) await this.sleep(Math.min(WINDOW_POLL_MS, windowEnds - Date.now()));
    }
    this.counters.received += messages.length;
    for (const m of messages) {
      const count = Number(m.Attributes?.ApproximateReceiveCount ?? 0);
      this.counters.maxReceiveCount = Math.max(this.counters.maxReceiveCount, count);
    }
    return messages;
  }

  private async process(messages: Message[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    this.counters.batches += 1;
    this.counters.inFlight += 1;
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.counters.inFlight);
    let outcome: InvokeResult;
    try {
      outcome = await this.options.target.invoke(event);
    } catch (error) {
      outcome = {
        error: { errorType: 'Local.InvokeFailed', errorMessage: describe(error) },
        durationMs: 0,
        coldStart: false,
      };
    } finally {
      this.counters.inFlight -= 1;
    }
    const done = this.succeeded(messages, outcome);
    if (done.length < messages.length) {
      if (done.length === 0) this.counters.failedBatches += 1;
      else this.counters.partialBatches += 1;
    }
    await this.delete(done);
  }

  /** The messages to delete, by Lambda's rules for a function error and for a batch item failure response. */
  private succeeded(messages: Message[], outcome: InvokeResult): Message[] {
    if (outcome.error) {
      this.log(
        `batch of ${messages.length} failed, left on the queue: ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
      );
      return [];
    }
    const response = outcome.result;
    if (!this.options.reportBatchItemFailures || response === null || typeof response !== 'object')
      return messages;
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) return messages;
    if (!Array.isArray(failures)) return this.invalid(messages, 'batchItemFailures is not a list');
    const ids = new Set(messages.map((m) => m.MessageId));
    const failed = new Set<string>();
    for (const failure of failures as unknown[]) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || id === '' || !ids.has(id)) {
        return this.invalid(messages, `invalid itemIdentifier ${JSON.stringify(id) ?? 'undefined'}`);
      }
      failed.add(id);
    }
    return messages.filter((m) => !failed.has(m.MessageId ?? ''));
  }

  private invalid(messages: Message[], why: string): Message[] {
    this.log(`batch of ${messages.length} failed, left on the queue: ${why} (Lambda fails the whole batch)`);
    return [];
  }

  private async delete(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_MAX_RECEIVE) {
      const chunk = messages.slice(i, i + SQS_MAX_RECEIVE);
      try {
        const { Failed = [] } = await this.options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: chunk.map((m, n) => ({ Id: `m${n}`, ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        this.counters.deleted += chunk.length - Failed.length;
        for (const failed of Failed)
          this.log(`delete failed for ${failed.Id}: ${failed.Code} ${failed.Message ?? ''}`);
      } catch (error) {
        // The messages come back after their visibility timeout: processed twice, as on AWS.
        this.log(`delete of ${chunk.length} messages failed: ${describe(error)}`);
      }
    }
  }

  /** A record exactly as Lambda's event source builds it. */
  private toRecord(message: Message): SQSRecord {
    const record: SQSRecord = {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: { ...message.Attributes } as unknown as SQSRecordAttributes,
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, toAttribute(value)]),
      ),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: this.region,
    };
    if (message.MD5OfMessageAttributes) {
      return { ...record, md5OfMessageAttributes: message.MD5OfMessageAttributes };
    }
    return record;
  }
}

function toAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  return {
    ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
    ...(value.BinaryValue !== undefined && { binaryValue: base64(value.BinaryValue) }),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
