import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Every message body waiting in the queue (received, so hidden from others for the visibility timeout). */
export async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let empty = 0; empty < 2;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) empty += 1;
    bodies.push(...Messages.map((m) => m.Body ?? ''));
  }
  return bodies;
}
