import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

import { LOCAL_CLIENT_CONFIG } from '../../../harness/local-aws';
import { LocalFunctionVersion } from '../../../lib/local/lambda/function-version';
import type { InvokeResult } from '../../../lib/local/lambda/invocation';
import { SqsEventSource } from '../../../lib/local/lambda/sqs-event-source';
import { FauxqsServer } from '../../../lib/local/services/fauxqs';

/** A sync-worker-like bundle: partial batch failures for bodies saying 'fail', a function error for 'boom'. */
const BATCH_HANDLER = `
exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.DELAY_MS || 0)));
  if (event.Records.some((r) => r.body === 'boom')) throw new Error('the whole batch failed');
  if (process.env.BAD_ID) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
  return {
    batchItemFailures: event.Records.filter((r) => r.body === 'fail').map((r) => ({ itemIdentifier: r.messageId })),
  };
};`;

let dir: string;
let handlerFile: string;
let server: FauxqsServer;
let sqs: SQSClient;
let queueCount = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-sqs-'));
  handlerFile = path.join(dir, 'index.js');
  fs.writeFileSync(handlerFile, BATCH_HANDLER);
  server = new FauxqsServer();
  await server.start();
  sqs = new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint: server.endpoint, useQueueUrlAsEndpoint: false });
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Queue {
  readonly url: string;
  readonly arn: string;
}

async function createQueue(attributes: Record<string, string> = {}): Promise<Queue> {
  queueCount += 1;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `q${queueCount}-${Date.now()}`, Attributes: attributes }),
  );
  const url = QueueUrl as string;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: Attributes?.QueueArn as string };
}

async function depth(queue: Queue): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

async function send(queue: Queue, bodies: readonly string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.slice(i, i + 10).map((body, n) => ({ Id: `e${n}`, MessageBody: body })),
      }),
    );
  }
}

/** The batch function, wrapped to record every batch and how many invocations ran at once. */
function recordingTarget(environment: Record<string, string> = {}) {
  const fn = new LocalFunctionVersion({
    name: 'sync',
    version: '1',
    handlerFile,
    environment,
    timeoutMs: 5000,
    instances: 10,
    log: () => undefined,
  });
  cleanups.push(() => fn.stop());
  const seen = {
    batches: [] as SQSRecord[][],
    outcomes: [] as InvokeResult[],
    current: 0,
    max: 0,
    records(): SQSRecord[] {
      return this.batches.flat();
    },
  };
  const target = {
    async invoke(event: SQSEvent): Promise<InvokeResult> {
      seen.batches.push(event.Records);
      seen.current += 1;
      seen.max = Math.max(seen.max, seen.current);
      try {
        const outcome = await fn.invoke(event);
        seen.outcomes.push(outcome);
        return outcome;
      } finally {
        seen.current -= 1;
      }
    },
  };
  return { target, seen };
}

function source(options: ConstructorParameters<typeof SqsEventSource>[0]): SqsEventSource {
  const mapping = new SqsEventSource({ log: () => undefined, ...options });
  cleanups.push(() => mapping.stop());
  return mapping;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('SqsEventSource', () => {
  it('processes 25 messages in batches of at most 10, at most maximumConcurrency at once, and deletes them', async () => {
    const queue = await createQueue();
    const { target, seen } = recordingTarget({ DELAY_MS: '150' });
    const bodies = Array.from({ length: 25 }, (_, i) => `order-${i}`);
    await send(queue, bodies);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'with-attributes',
        MessageAttributes: {
          tenant: { DataType: 'String', StringValue: 't-1' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const mapping = source({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      target,
      batchSize: 10,
      maximumConcurrency: 2,
      reportBatchItemFailures: true,
    });

    mapping.start();
    await waitFor(() => seen.records().length >= 26);
    await mapping.stop();

    const records = seen.records();
    expect(records.map((r) => r.body).sort()).toEqual([...bodies, 'with-attributes'].sort());
    expect(new Set(records.map((r) => r.messageId)).size).toBe(26);
    expect(Math.max(...seen.batches.map((b) => b.length))).toBeLessThanOrEqual(10);
    // Never more than maximumConcurrency, and the pollers did run side by side.
    expect(seen.max).toBe(2);
    expect(mapping.stats()).toMatchObject({ state: 'stopped', received: 26, deleted: 26, failedBatches: 0 });
    expect(mapping.stats().maxInFlight).toBeLessThanOrEqual(2);
    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 0 });

    const record = records.find((r) => r.body === 'with-attributes') as SQSRecord;
    expect(record).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: 'with-attributes',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      },
      messageAttributes: {
        tenant: { stringValue: 't-1', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: {
          binaryValue: Buffer.from('hi').toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
      md5OfBody: createHash('md5').update('with-attributes').digest('hex'),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: queue.arn.split(':')[3],
    });
  });

  it('leaves only the reported failures on the queue, and they come back later', async () => {
    const queue = await createQueue({ VisibilityTimeout: '1' });
    const { target, seen } = recordingTarget();
    await send(queue, ['ok-1', 'ok-2', 'fail', 'ok-3', 'ok-4']);
    const mapping = source({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      target,
      reportBatchItemFailures: true,
    });

    mapping.start();
    await waitFor(() =>
      seen.records().some((r) => r.body === 'fail' && r.attributes.ApproximateReceiveCount === '2'),
    );
    await mapping.stop();

    const okBodies = seen
      .records()
      .filter((r) => r.body !== 'fail')
      .map((r) => r.body);
    expect(okBodies.sort()).toEqual(['ok-1', 'ok-2', 'ok-3', 'ok-4']);
    const { visible, inFlight } = await depth(queue);
    expect(visible + inFlight).toBe(1);
    expect(mapping.stats().partialBatches).toBeGreaterThanOrEqual(1);
  });

  it('ignores batchItemFailures when reportBatchItemFailures is off', async () => {
    const queue = await createQueue({ VisibilityTimeout: '1' });
    const { target, seen } = recordingTarget();
    await send(queue, ['ok', 'fail']);
    const mapping = source({ sqs, queueUrl: queue.url, queueArn: queue.arn, target });

    mapping.start();
    await waitFor(() => seen.outcomes.length >= 1 && mapping.stats().deleted === 2);
    await mapping.stop();

    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('fails the whole batch on an itemIdentifier that is not in it, as Lambda does', async () => {
    const queue = await createQueue({ VisibilityTimeout: '30' });
    const { target, seen } = recordingTarget({ BAD_ID: '1' });
    await send(queue, ['a', 'b']);
    const mapping = source({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      target,
      reportBatchItemFailures: true,
    });

    mapping.start();
    await waitFor(() => seen.records().length >= 2 && mapping.stats().failedBatches >= 1);
    await mapping.stop();

    expect(mapping.stats().deleted).toBe(0);
    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('leaves the whole batch on a function error; the queue redrives it to the DLQ', async () => {
    const dlq = await createQueue();
    const queue = await createQueue({
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    const { target, seen } = recordingTarget();
    await send(queue, ['one', 'boom', 'three']);
    const mapping = source({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      target,
      reportBatchItemFailures: true,
    });

    mapping.start();
    await waitFor(() => seen.outcomes.length >= 1);
    expect(seen.outcomes[0].error).toEqual({
      errorType: 'Error',
      errorMessage: 'the whole batch failed',
    });
    // None deleted: in flight, or back after the 1 s visibility timeout if this machine is slow.
    const left = await depth(queue);
    expect(left.visible + left.inFlight).toBe(3);
    await waitFor(async () => (await depth(dlq)).visible === 3);
    await mapping.stop();

    const receiveCounts = seen.records().map((r) => `${r.body}:${r.attributes.ApproximateReceiveCount}`);
    expect(receiveCounts.sort()).toEqual(['boom:1', 'boom:2', 'one:1', 'one:2', 'three:1', 'three:2']);
    expect(mapping.stats().deleted).toBe(0);
    expect(mapping.stats().failedBatches).toBeGreaterThanOrEqual(2);
    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('pause() stops taking new batches and resume() picks up again', async () => {
    const queue = await createQueue();
    const { target, seen } = recordingTarget();
    const mapping = source({ sqs, queueUrl: queue.url, queueArn: queue.arn, target, waitTimeSeconds: 1 });
    mapping.start();
    mapping.pause();
    expect(mapping.stats().state).toBe('paused');
    // Long polls already waiting when pause() was called end within waitTimeSeconds.
    await new Promise((resolve) => setTimeout(resolve, 1200));

    await send(queue, ['while-paused']);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(seen.batches).toHaveLength(0);

    mapping.resume();
    await waitFor(() => seen.records().length === 1);
    await waitFor(() => mapping.stats().deleted === 1);
    await mapping.stop();
    expect(await depth(queue)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('rejects settings Lambda rejects', () => {
    const base = {
      sqs,
      queueUrl: 'u',
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
      target: { invoke: jest.fn() },
    };
    expect(() => new SqsEventSource({ ...base, maximumConcurrency: 1 })).toThrow(/maximumConcurrency/);
    expect(() => new SqsEventSource({ ...base, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new SqsEventSource({ ...base, waitTimeSeconds: 21 })).toThrow(/waitTimeSeconds/);
    expect(() => new SqsEventSource({ ...base, batchSize: 11 })).toThrow(/maximumBatchingWindowSeconds/);
    expect(() => new SqsEventSource({ ...base, batchSize: 11, maximumBatchingWindowSeconds: 301 })).toThrow(
      /maximumBatchingWindowSeconds/,
    );
  });

  it('with a batching window, gathers more than ten messages into one invocation, and invokes with fewer when the window ends', async () => {
    const queue = await createQueue();
    const { target, seen } = recordingTarget();
    await send(
      queue,
      Array.from({ length: 35 }, (_, i) => `order-${i}`),
    );
    const mapping = source({
      sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      target,
      batchSize: 25,
      maximumBatchingWindowSeconds: 1,
      maximumConcurrency: 2,
    });

    mapping.start();
    await waitFor(() => seen.records().length >= 35);
    await mapping.stop();

    // Every message once; a batch of more than one receive's ten, none over the size.
    expect(new Set(seen.records().map((r) => r.messageId)).size).toBe(35);
    expect(Math.max(...seen.batches.map((b) => b.length))).toBeGreaterThan(10);
    expect(Math.max(...seen.batches.map((b) => b.length))).toBeLessThanOrEqual(25);
    expect(seen.batches.map((b) => b.length).reduce((a, b) => a + b, 0)).toBe(35);
  });
});
