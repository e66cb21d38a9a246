/**
 * Tables and queues, checked with the same converters that create them when the platform starts, so a
 * property they cannot reproduce fails when the assembly is read, naming the resource.
 */
import * as crypto from 'node:crypto';

import { queueInputFromCfn, tableInputFromCfn } from './cfn-resources';
import type { LocalQueue, LocalTable } from './model';
import type { CfnProperties, PropertyReader } from './property-reader';
import { getAttOf, type StackTemplate } from './stack-template';

/** Deterministic local name: `<stack>-<logicalId>`, cut to `max` with a hash so it stays unique. */
function localName(stackName: string, logicalId: string, max: number, suffix = ''): string {
  const name = `${stackName}-${logicalId}`;
  if (name.length + suffix.length <= max) return name + suffix;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

export function modelTables(template: StackTemplate): LocalTable[] {
  return template.modelEach(
    'AWS::DynamoDB::Table',
    undefined,
    (r: PropertyReader, properties: CfnProperties, logicalId: string) => {
      const tableName =
        properties.TableName === undefined
          ? localName(template.stackName, logicalId, 255)
          : r.string(properties.TableName, 'TableName');
      tableInputFromCfn(tableName, properties, r);
      return { logicalId, tableName, properties };
    },
  );
}

export function modelQueues(template: StackTemplate): LocalQueue[] {
  return template.modelEach(
    'AWS::SQS::Queue',
    undefined,
    (r: PropertyReader, properties: CfnProperties, logicalId: string) => {
      const fifo = properties.FifoQueue === true || properties.FifoQueue === 'true';
      const queueName =
        properties.QueueName === undefined
          ? localName(template.stackName, logicalId, 80, fifo ? '.fifo' : '')
          : r.string(properties.QueueName, 'QueueName');
      let deadLetterLogicalId: string | undefined;
      const resolveDeadLetterArn = (ref: unknown): string => {
        const att = getAttOf(ref);
        if (!att || att[1] !== 'Arn' || !template.isModelled(att[0], 'AWS::SQS::Queue')) {
          return r.fail(
            'RedrivePolicy.deadLetterTargetArn',
            `must be the Arn of a queue of this stack, got ${JSON.stringify(ref)}`,
          );
        }
        deadLetterLogicalId = att[0];
        return `arn:local:sqs:${att[0]}`;
      };
      queueInputFromCfn(queueName, properties, resolveDeadLetterArn, r);
      return { logicalId, queueName, properties, ...(deadLetterLogicalId && { deadLetterLogicalId }) };
    },
  );
}
