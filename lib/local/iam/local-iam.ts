/**
 * IAM for the running fleet: the policy directory of every stack, the role sessions functions and custom
 * resources sign with, the local operator (the person at the keyboard, an administrator of each account),
 * the certificate of the local AWS endpoints, and each stack's endpoint and URL auth.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';

import {
  type CallerPrincipal,
  globalContextKeys,
  parsePolicy,
  type ServiceResources,
} from '../../domain/iam';
import type { InvokeTargetModel, LocalFunction, LocalRole, LocalStack } from '../assembly/model';
import type { UrlAuthorizer } from '../lambda/function-url-server';

import { AwsEndpoint, type AwsEndpointOptions, type FunctionUrlConfig } from './aws-endpoint';
import { type Denial, IamDirectory } from './directory';
import { functionUrlGate } from './function-url-gate';
import { credentialsEnvironment, roleSession, type Session, Sessions } from './sessions';
import { type LocalCertificate, localCertificate } from './tls-certificate';

/** The role the local operator's calls are made as, in each account: an administrator. */
export const OPERATOR_ROLE = 'bulkhead-local-operator';

/** A role, a function's or a custom resource's, that cannot be used: the platform refuses to start. */
export class RoleError extends Error {}

function operatorRole(account: string): LocalRole {
  const arn = `arn:aws:iam::${account}:role/${OPERATOR_ROLE}`;
  const admin = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  return {
    logicalId: OPERATOR_ROLE,
    name: OPERATOR_ROLE,
    arn,
    trust: parsePolicy(arn, 'trust', {
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRole' }],
    }),
    identity: [
      { policy: parsePolicy('AdministratorAccess', 'identity', admin), source: 'the local operator' },
    ],
    unknownManagedPolicies: [],
    source: 'the local operator (bulkhead local up)',
  };
}

/** The stack's tables and queues as its AWS endpoint resolves requests against them. */
function stackResources(stack: LocalStack, directory: IamDirectory): ServiceResources {
  const { partition, account, region } = stack.iam;
  const tables = new Map(
    stack.tables.map((t) => {
      const arn = `arn:${partition}:dynamodb:${region}:${account}:table/${t.tableName}`;
      const keys = (t.properties.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
      const partitionKey = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
      return [t.tableName, { arn, partitionKey, key: directory.keyOf(arn) }] as const;
    }),
  );
  const queues = new Map(
    stack.queues.map((q) => {
      const arn = `arn:${partition}:sqs:${region}:${account}:${q.queueName}`;
      return [q.queueName, { arn, key: directory.keyOf(arn) }] as const;
    }),
  );
  return { partition, account, table: (name) => tables.get(name), queue: (name) => queues.get(name) };
}

export class LocalIam {
  readonly sessions = new Sessions();
  readonly directory: IamDirectory;
  readonly certificate: LocalCertificate;
  /** The certificate as a file, for `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string;
  private readonly functionSessions = new Map<string, Session>();
  private readonly operators = new Map<string, Session>();
  private readonly urls = new Map<string, FunctionUrlConfig>();
  /** Trusts the endpoints' certificate: what the platform's own clients (event sources, custom resources) use. */
  private readonly agent: https.Agent;

  constructor(
    private readonly stacks: readonly LocalStack[],
    dataDir: string,
  ) {
    this.directory = new IamDirectory(stacks);
    this.certificate = localCertificate();
    this.caFile = path.join(dataDir, 'tls', 'local-aws-ca.pem');
    fs.mkdirSync(path.dirname(this.caFile), { recursive: true });
    fs.writeFileSync(this.caFile, this.certificate.cert);
    this.agent = new https.Agent({ ca: this.certificate.cert, keepAlive: true, maxSockets: 64 });
    for (const account of new Set(stacks.map((s) => s.iam.account))) {
      const role = operatorRole(account);
      this.directory.addRole(role);
      this.operators.set(account, this.sessions.issue(roleSession(role.arn, 'operator')));
    }
  }

  /** The operator's credentials in `account` (status page probes, tests, benchmarks). */
  operator(account: string): Session {
    const session = this.operators.get(account);
    if (!session) throw new Error(`account ${account} has no stack in the running fleet`);
    return session;
  }

  operatorAccounts(): string[] {
    return [...this.operators.keys()];
  }

  private roleOf(stack: LocalStack, functionLogicalId: string): LocalRole {
    const roleId = stack.iam.functionRoles[functionLogicalId];
    const role = stack.iam.roles.find((r) => r.logicalId === roleId);
    if (!role)
      throw new RoleError(`${stack.stackName}/${functionLogicalId}: its Role is not a role of the stack`);
    if (role.unknownManagedPolicies.length > 0)
      throw new RoleError(
        `${stack.stackName}/${role.logicalId} attaches ${role.unknownManagedPolicies.join(', ')}, whose statements the local platform does not carry: add them to lib/local/assembly/aws-managed-policies.ts`,
      );
    return role;
  }

  /**
   * The execution role session of a function, as Lambda starts it: Lambda must be allowed to assume the
   * role ("The role defined for the function cannot be assumed by Lambda" refuses the function otherwise).
   */
  functionSession(stack: LocalStack, fn: Pick<LocalFunction, 'logicalId' | 'name'>): Session {
    const key = `${stack.stackName}/${fn.logicalId}`;
    const known = this.functionSessions.get(key);
    if (known) return known;
    const role = this.roleOf(stack, fn.logicalId);
    const lambda: CallerPrincipal = {
      type: 'service',
      arn: 'lambda.amazonaws.com',
      account: stack.iam.account,
    };
    const assume = {
      principal: lambda,
      action: 'sts:AssumeRole',
      resource: role.arn,
      resourceAccount: stack.iam.account,
    };
    const denial = this.directory.firstDenial([assume]);
    if (denial)
      throw new RoleError(
        `${stack.stackName}/${fn.name}: the role defined for the function cannot be assumed by Lambda: ${denial.explanation}`,
      );
    const session = this.sessions.issue(roleSession(role.arn, fn.name));
    this.functionSessions.set(key, session);
    return session;
  }

  /** What a function's environment gets: its role's credentials, and the endpoints' certificate. */
  functionEnvironment(stack: LocalStack, fn: LocalFunction): Record<string, string> {
    return { ...credentialsEnvironment(this.functionSession(stack, fn)), NODE_EXTRA_CA_CERTS: this.caFile };
  }

  /** SDK client settings for calls the platform makes as `session` (an event source polling as its function). */
  clientConfig(session: Session, region: string, endpoint: string) {
    const { accessKeyId, secretAccessKey, sessionToken } = session;
    return {
      region,
      endpoint,
      credentials: { accessKeyId, secretAccessKey, sessionToken },
      requestHandler: { httpsAgent: this.agent },
    };
  }

  close(): void {
    this.agent.destroy();
  }

  /** `sts:AssumeRole` by `caller`: a session of the role, or why AWS would refuse it. */
  assumeRole(caller: Session, roleArn: string, sessionName: string): Session | Denial {
    const account = roleArn.split(':')[4];
    const context = globalContextKeys(caller.principal, { secureTransport: true, region: 'us-east-1' });
    const request = {
      principal: caller.principal,
      action: 'sts:AssumeRole',
      resource: roleArn,
      resourceAccount: account,
      context,
    };
    return this.directory.firstDenial([request]) ?? this.sessions.issue(roleSession(roleArn, sessionName));
  }

  /** The AWS endpoint of a stack (DynamoDB, SQS and the Lambda API, enforced). */
  endpoint(stack: LocalStack, options: Pick<AwsEndpointOptions, 'backends' | 'log' | 'port'>): AwsEndpoint {
    return new AwsEndpoint({
      ...options,
      name: stack.stackName,
      region: stack.iam.region,
      resources: stackResources(stack, this.directory),
      sessions: this.sessions,
      directory: this.directory,
      certificate: this.certificate,
      functionUrl: (arn) => this.urls.get(arn),
    });
  }

  private functionArnOf(stack: LocalStack, target: InvokeTargetModel): string {
    const arn = stack.iam.functionArns[target.functionLogicalId];
    return target.alias ? `${arn}:${target.alias}` : arn;
  }

  /** The auth of a stack's `AWS_IAM` function URL on `target`. */
  urlAuthorizer(stack: LocalStack, target: InvokeTargetModel, log: (line: string) => void): UrlAuthorizer {
    return functionUrlGate({
      functionArn: this.functionArnOf(stack, target),
      region: stack.iam.region,
      sessions: this.sessions,
      directory: this.directory,
      log,
      name: stack.stackName,
    });
  }

  /** Where a function URL listens, for `GetFunctionUrlConfig` (a URL ends in `/`, as Lambda gives it). */
  registerUrl(stack: LocalStack, target: InvokeTargetModel, url: string): void {
    const functionArn = this.functionArnOf(stack, target);
    this.urls.set(functionArn, { FunctionUrl: `${url}/`, FunctionArn: functionArn, AuthType: 'AWS_IAM' });
  }

  /** The stack whose account and region hold a table of this name (where a custom resource's call lands). */
  stackWithTable(account: string, region: string, tableName: string): LocalStack | undefined {
    return this.stacks.find(
      (s) =>
        s.iam.account === account &&
        s.iam.region === region &&
        s.tables.some((t) => t.tableName === tableName),
    );
  }
}
