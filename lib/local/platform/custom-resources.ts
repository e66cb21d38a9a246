/**
 * Deploy-time custom resources, run at start-up as CloudFormation would run them when a stack is created:
 * an `AwsCustomResource` (`Custom::AWS`) makes one SDK call from its provider function, as the provider's
 * role, after assuming `assumedRoleArn` when it names one. With IAM enforced the assumption is authorized
 * (the caller's identity policy and the role's trust policy, `aws:PrincipalArn` included) and the call goes
 * through the target stack's AWS endpoint with the assumed session's credentials, KMS rights and all. A
 * failure stops the start, naming the resource, the call and the reason — the stack would roll back.
 */
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

import type { LocalCustomResource } from '../assembly/model';
import type { LocalIam } from '../iam/local-iam';
import type { Session } from '../iam/sessions';

import { LOCAL_CREDENTIALS, type StackRuntime } from './cell-runtime';

/** The `Create` of an `AwsCustomResource`, as its provider reads it. */
interface AwsSdkCall {
  readonly service: string;
  readonly action: string;
  readonly region?: string;
  readonly assumedRoleArn?: string;
  readonly physicalResourceId?: { readonly id?: string };
  readonly parameters?: Record<string, unknown>;
}

/** The DynamoDB item calls a custom resource may make locally. */
const DYNAMODB_CALLS: Readonly<Record<string, (client: DynamoDBClient, input: never) => Promise<unknown>>> = {
  UpdateItem: (client, input) => client.send(new UpdateItemCommand(input)),
  PutItem: (client, input) => client.send(new PutItemCommand(input)),
  DeleteItem: (client, input) => client.send(new DeleteItemCommand(input)),
};

const CALL_TIMEOUT_MS = 30_000;

export class CustomResourceError extends Error {
  constructor(
    readonly stackName: string,
    readonly logicalId: string,
    message: string,
  ) {
    super(`${stackName}/${logicalId} (Custom::AWS) failed: ${message}`);
    this.name = 'CustomResourceError';
  }
}

interface Run {
  readonly runtime: StackRuntime;
  readonly resource: LocalCustomResource;
  readonly call: AwsSdkCall;
  readonly fail: (message: string) => never;
}

/** The provider's session, and the assumed role's when the call names one (refused: the resource fails). */
function sessionOf(run: Run, iam: LocalIam): Session {
  const { stack } = run.runtime;
  const providerName = stack.iam.functionArns[run.resource.providerLogicalId].split(':').pop()!;
  const provider = iam.functionSession(stack, {
    logicalId: run.resource.providerLogicalId,
    name: providerName,
  });
  const { assumedRoleArn } = run.call;
  if (!assumedRoleArn) return provider;
  const sessionName = `${Date.now()}-${run.call.physicalResourceId?.id ?? run.resource.logicalId}`.slice(
    0,
    64,
  );
  const assumed = iam.assumeRole(provider, assumedRoleArn, sessionName);
  if ('explanation' in assumed)
    run.fail(`sts:AssumeRole of ${assumedRoleArn} was refused: ${assumed.explanation}`);
  return assumed;
}

/** The stack the call lands in: the table's account (the assumed role's) and the call's region. */
function targetOf(run: Run, runtimes: readonly StackRuntime[]): StackRuntime {
  const account = run.call.assumedRoleArn?.split(':')[4] ?? run.runtime.stack.iam.account;
  const region = run.call.region ?? run.runtime.stack.iam.region;
  const table = String(run.call.parameters?.TableName ?? '');
  const target = runtimes.find(
    (r) =>
      r.stack.iam.account === account &&
      r.stack.iam.region === region &&
      r.stack.tables.some((t) => t.tableName === table),
  );
  return target ?? run.fail(`no stack of the fleet in account ${account}, ${region} has the table ${table}`);
}

async function runOne(run: Run, runtimes: readonly StackRuntime[], iam: LocalIam | undefined): Promise<void> {
  const { call } = run;
  const send = DYNAMODB_CALLS[call.action];
  if (call.service !== 'DynamoDB' || !send)
    run.fail(`${call.service}.${call.action} is not a call the local platform runs`);
  const target = targetOf(run, runtimes);
  const region = call.region ?? target.stack.iam.region;
  const session = iam && sessionOf(run, iam);
  const config = iam && session && iam.clientConfig(session, region, target.awsEndpointUrl!);
  const client = new DynamoDBClient(
    config
      ? // A call that never answers fails the resource, as CloudFormation's wait for it would.
        { ...config, requestHandler: { ...config.requestHandler, requestTimeout: CALL_TIMEOUT_MS } }
      : {
          region,
          endpoint: target.dynamo.endpoint,
          credentials: {
            accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
            secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
          },
        },
  );
  try {
    await send(client, call.parameters as never);
  } catch (error) {
    const as = session ? ` as ${session.principal.sessionArn}` : '';
    run.fail(
      `${call.service}.${call.action}${as} in ${target.stack.stackName}: ${(error as Error).name}: ${(error as Error).message}`,
    );
  } finally {
    client.destroy();
  }
}

/**
 * Runs every stack's custom resources, in stack order; the first failure throws. A first start creates
 * the stacks (`Create`); a start on the data of an earlier run is a redeploy of them (`Update`).
 */
export async function runCustomResources(
  runtimes: readonly StackRuntime[],
  iam: LocalIam | undefined,
  redeploy = false,
): Promise<void> {
  for (const runtime of runtimes) {
    for (const resource of runtime.stack.customResources) {
      const fail = (message: string): never => {
        throw new CustomResourceError(runtime.stack.stackName, resource.logicalId, message);
      };
      const [what, value] =
        redeploy && resource.update ? ['Update', resource.update] : ['Create', resource.create];
      let call: AwsSdkCall;
      try {
        call = JSON.parse(runtime.resolveValue(value, `${resource.logicalId}.${what}`)) as AwsSdkCall;
      } catch (error) {
        return fail(`its ${what} call cannot be read: ${(error as Error).message}`);
      }
      await runOne({ runtime, resource, call, fail }, runtimes, iam);
    }
  }
}
