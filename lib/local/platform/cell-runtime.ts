import * as fs from 'node:fs';
import * as path from 'node:path';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { createQueueFromCfn, createTableFromCfn } from '../assembly/cfn-resources';
import { describeRef, resolveEnvironment, resolveValue } from '../assembly/environment';
import { LOCAL_ACCOUNT } from '../assembly/iam-names';
import type { EnvRef, EnvValue, InvokeTargetModel, LocalFunction, LocalStack } from '../assembly/model';
import { getAttOf, refOf } from '../assembly/stack-template';
import type { AwsEndpoint } from '../iam/aws-endpoint';
import type { LocalIam } from '../iam/local-iam';
import { FunctionUrlServer } from '../lambda/function-url-server';
import { DEFAULT_INSTANCES, LocalFunctionVersion } from '../lambda/function-version';
import { RuntimeAlias } from '../lambda/runtime-alias';
import { Scheduler } from '../lambda/scheduler';
import { SqsEventSource } from '../lambda/sqs-event-source';
import { DynamoDbLocal } from '../services/dynamodb-local';
import { FauxqsServer } from '../services/fauxqs';

export const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' } as const;

/** What the platform adds to every function's environment: where the local services are. */
export interface PlatformEnvironment {
  /** Added to every function of the stack (endpoints, credentials, time-scaled settings). */
  readonly common: Readonly<Record<string, string>>;
  /** Rewrites of a function's resolved environment (e.g. integrations pointed at the simulator). */
  readonly rewrite?: (fn: LocalFunction, env: Record<string, string>) => Record<string, string>;
}

export interface StackRuntimeOptions {
  readonly stack: LocalStack;
  /** Where function output and databases go. */
  readonly dataDir: string;
  readonly timeScale: number;
  readonly log: (line: string) => void;
  /** Port for the stack's Function URL (the API), kept across restarts. @default 0 */
  readonly urlPort?: number;
  /**
   * What the HTTP entry invokes when the stack has no Function URL (the router sits behind an API
   * Gateway HTTP API, which sends the same event shape). @default - the stack's Function URL target
   */
  readonly httpTarget?: InvokeTargetModel;
  /** Told, with what died, when the stack's database or queue process dies while the stack is up. */
  readonly onProcessExit?: (what: string) => void;
  /** IAM enforcement: the stack's calls go through its AWS endpoint, its URL checks SigV4. @default off */
  readonly iam?: LocalIam;
}

const region = (stack: LocalStack) => stack.region ?? 'us-east-1';

/**
 * One synthesized stack, run locally: its own DynamoDB Local and fauxqs processes, its tables and
 * queues created from the template, every function as a local version behind its `live` alias, its
 * event source mappings, schedules and Function URL. `stop()` and `start()` take the whole stack
 * down and bring it back with its data (the database lives on disk; queues are recreated empty,
 * as the table, not the queue, holds the truth).
 */
export class StackRuntime {
  readonly stack: LocalStack;
  readonly dynamo: DynamoDbLocal;
  readonly sqs: FauxqsServer;
  readonly versions = new Map<string, LocalFunctionVersion>();
  readonly aliases = new Map<string, RuntimeAlias>();
  /** Every published version of each function, oldest first (`versions` holds version 1, built at start). */
  readonly published = new Map<string, LocalFunctionVersion[]>();
  /** The highest version number each function ever had, so a number is never given to other code. */
  private readonly highest = new Map<string, number>();
  private readonly queueUrls = new Map<string, string>();
  private eventSources: SqsEventSource[] = [];
  private readonly pollers: SQSClient[] = [];
  private scheduler?: Scheduler;
  private urlServer?: FunctionUrlServer;
  private urlPort: number;
  private ddbClient?: DynamoDBClient;
  private sqsClient?: SQSClient;
  private readonly logStream: fs.WriteStream;
  private environment?: PlatformEnvironment;
  private readonly awsEndpoint?: AwsEndpoint;
  private up = false;

  constructor(private readonly options: StackRuntimeOptions) {
    this.stack = options.stack;
    const name = options.stack.cellId ?? 'router';
    fs.mkdirSync(path.join(options.dataDir, 'db', name), { recursive: true });
    fs.mkdirSync(path.join(options.dataDir, 'logs'), { recursive: true });
    this.dynamo = new DynamoDbLocal({ dbPath: path.join(options.dataDir, 'db', name) });
    this.sqs = new FauxqsServer();
    this.urlPort = options.urlPort ?? 0;
    this.logStream = fs.createWriteStream(path.join(options.dataDir, 'logs', `${name}.log`), { flags: 'a' });
    this.dynamo.onExit(
      (status) => this.up && options.onProcessExit?.(`its DynamoDB Local process died (${status})`),
    );
    this.sqs.onExit(
      (status) => this.up && options.onProcessExit?.(`its fauxqs (SQS) process died (${status})`),
    );
    this.awsEndpoint = options.iam?.endpoint(options.stack, {
      backends: { dynamodb: () => this.dynamo.endpoint, sqs: () => this.sqs.endpoint },
      log: (line) => this.log(line),
    });
  }

  /** A line in the stack's log (`<home>/logs/<cell>.log`). */
  log(line: string): void {
    this.logStream.write(`${line}\n`);
  }

  /** Where the stack's functions send their AWS calls when IAM is enforced (DynamoDB, SQS, Lambda API). */
  get awsEndpointUrl(): string | undefined {
    return this.awsEndpoint?.url;
  }

  get running(): boolean {
    return this.up;
  }

  /** Started, and its database and queue processes are still alive. */
  get healthy(): boolean {
    return this.up && this.dynamo.running && this.sqs.running;
  }

  /** Why the stack is not healthy, or undefined when it is. */
  get problem(): string | undefined {
    if (!this.up) return 'stopped (bulkhead local fault cell-up brings it back)';
    if (!this.dynamo.running) return `its DynamoDB Local process died (${this.dynamo.status})`;
    if (!this.sqs.running) return `its fauxqs (SQS) process died (${this.sqs.status})`;
    return undefined;
  }

  get endpoint(): string {
    if (!this.urlServer) throw new Error(`${this.stack.stackName} serves no Function URL`);
    return this.urlServer.url;
  }

  /** Where the Function URL is (or was, while the stack is down): its port is kept across restarts. */
  get address(): string {
    return `http://127.0.0.1:${this.urlPort}`;
  }

  get hasUrl(): boolean {
    return this.httpTarget !== undefined;
  }

  private get httpTarget(): InvokeTargetModel | undefined {
    return this.options.httpTarget ?? this.stack.urls[0]?.target;
  }

  /** Local resource names, for the platform's state and status page. */
  tableName(): string {
    return this.stack.tables[0]?.tableName ?? '';
  }

  queueUrl(logicalId: string): string {
    const url = this.queueUrls.get(logicalId);
    if (!url) throw new Error(`${this.stack.stackName} has no queue ${logicalId}`);
    return url;
  }

  /** The main queue (the one with a dead-letter queue) and its DLQ. */
  queues(): { queueUrl: string; dlqUrl: string } {
    const main = this.stack.queues.find((q) => q.deadLetterLogicalId);
    if (!main) return { queueUrl: '', dlqUrl: '' };
    return { queueUrl: this.queueUrl(main.logicalId), dlqUrl: this.queueUrl(main.deadLetterLogicalId!) };
  }

  clients(): { dynamo: DynamoDBClient; sqs: SQSClient } {
    if (!this.ddbClient || !this.sqsClient) throw new Error(`${this.stack.stackName} is not running`);
    return { dynamo: this.ddbClient, sqs: this.sqsClient };
  }

  /**
   * Starts the stack's services and resources; the first start also builds and warms its functions,
   * with the environment `environment` gives once the services' endpoints are known.
   */
  async start(environment?: (runtime: StackRuntime) => PlatformEnvironment): Promise<void> {
    await Promise.all([this.dynamo.start(), this.sqs.start(), this.awsEndpoint?.start()]);
    if (environment) this.environment = environment(this);
    const config = {
      region: region(this.stack),
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    this.ddbClient = new DynamoDBClient({ ...config, endpoint: this.dynamo.endpoint });
    this.sqsClient = new SQSClient({ ...config, endpoint: this.sqs.endpoint, useQueueUrlAsEndpoint: false });
    for (const table of this.stack.tables) {
      await createTableFromCfn(this.ddbClient, table.tableName, table.properties);
    }
    // Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    const ordered = [...this.stack.queues].sort(
      (a, b) => Number(!!a.deadLetterLogicalId) - Number(!!b.deadLetterLogicalId),
    );
    for (const queue of ordered) {
      const url = await createQueueFromCfn(this.sqsClient, queue.queueName, queue.properties, (ref) =>
        this.queueArn(this.logicalIdOf(ref)),
      );
      this.queueUrls.set(queue.logicalId, url);
    }
    if (this.versions.size === 0) await this.buildFunctions();
    this.urlServer = this.hasUrl ? await this.serveUrl() : undefined;
    this.startEventSources();
    this.startSchedules();
    this.up = true;
  }

  async stop(): Promise<void> {
    this.up = false;
    await this.urlServer?.stop();
    this.urlServer = undefined;
    await Promise.all(this.eventSources.map((s) => s.stop()));
    this.eventSources = [];
    for (const client of this.pollers.splice(0)) client.destroy();
    await this.scheduler?.stop();
    this.scheduler = undefined;
    this.ddbClient?.destroy();
    this.sqsClient?.destroy();
    await Promise.all([this.dynamo.stop(), this.sqs.stop(), this.awsEndpoint?.stop()]);
  }

  /** Stops everything, functions' workers included (the platform is shutting down). */
  async shutdown(): Promise<void> {
    await this.stop();
    const all = new Set([...this.versions.values(), ...[...this.published.values()].flat()]);
    await Promise.all([...all].map((v) => v.stop()));
    await new Promise<void>((resolve) => this.logStream.end(resolve));
  }

  /** Builds one version of a function from the template (its bundle and resolved environment). */
  newVersion(
    fn: LocalFunction,
    version: string,
    extraEnv: Record<string, string> = {},
  ): LocalFunctionVersion {
    const resolved = resolveEnvironment(fn, (ref) => this.resolve(ref));
    const identity = this.options.iam?.functionEnvironment(this.stack, fn);
    const env = { ...resolved, ...this.environment?.common, ...identity, ...extraEnv };
    return new LocalFunctionVersion({
      name: fn.name,
      version,
      handlerFile: fn.handlerFile,
      handlerExport: fn.handlerExport,
      environment: this.environment?.rewrite ? this.environment.rewrite(fn, env) : env,
      timeoutMs: fn.timeoutSeconds * 1000,
      memoryMb: fn.memoryMb,
      // Reserved concurrency caps the function's environments (locally, invocations past it wait).
      ...(fn.reservedConcurrency !== undefined && {
        instances: Math.min(DEFAULT_INSTANCES, fn.reservedConcurrency),
      }),
      runtime: fn.runtime,
      region: region(this.stack),
      accountId: LOCAL_ACCOUNT,
      log: (line) => this.log(line),
    });
  }

  /**
   * Publishes the next version of a function from a (newer) build of the same stack: its bundle and
   * environment come from `fn`, resolved against this running stack (tables and queues keep their
   * logical ids across builds), plus `extraEnv`. The version is not routed to until an alias shifts to it.
   * `version` publishes a given number again (a restart bringing back what an earlier run published);
   * numbers are never reused for other code.
   */
  publishVersion(
    fn: LocalFunction,
    extraEnv: Record<string, string> = {},
    version?: string,
  ): LocalFunctionVersion {
    this.functionOf(fn.logicalId);
    const history = this.published.get(fn.logicalId) ?? [];
    const highest = Math.max(
      this.highest.get(fn.logicalId) ?? 0,
      ...history.map((v) => Number(v.version) || 0),
    );
    const number = version === undefined ? highest + 1 : Number(version);
    const published = this.newVersion(fn, String(number), extraEnv);
    this.published.set(
      fn.logicalId,
      [...history, published].sort((a, b) => Number(a.version) - Number(b.version)),
    );
    this.highest.set(fn.logicalId, Math.max(highest, number));
    return published;
  }

  /** Numbers up to `highest` were published before (by an earlier run): the next version comes after them. */
  reserveVersions(logicalId: string, highest: number): void {
    this.highest.set(logicalId, Math.max(this.highest.get(logicalId) ?? 0, highest));
  }

  /** A published version of a function, by number. */
  versionOf(logicalId: string, version: string): LocalFunctionVersion | undefined {
    return this.published.get(logicalId)?.find((v) => v.version === version);
  }

  /** The function a logical id names, for the release tooling. */
  functionOf(logicalId: string): LocalFunction {
    const fn = this.stack.functions.find((f) => f.logicalId === logicalId);
    if (!fn) throw new Error(`${this.stack.stackName} has no function ${logicalId}`);
    return fn;
  }

  private async buildFunctions(): Promise<void> {
    for (const fn of this.stack.functions) {
      const version = this.newVersion(fn, '1');
      this.versions.set(fn.logicalId, version);
      this.published.set(fn.logicalId, [version]);
    }
    for (const alias of this.stack.aliases) {
      const local = new RuntimeAlias(alias.name);
      local.point(this.versions.get(alias.functionLogicalId)!);
      this.aliases.set(alias.functionLogicalId, local);
    }
    // Load every handler once now: a missing variable or a broken bundle fails the start, by name.
    const failures: string[] = [];
    await Promise.all(
      [...this.versions.values()].map((v) =>
        v.warm().catch((err: Error) => failures.push(`${this.stack.stackName}/${v.name}: ${err.message}`)),
      ),
    );
    if (failures.length > 0) throw new Error(`functions failed to start: ${failures.join('; ')}`);
  }

  private target(t: InvokeTargetModel): RuntimeAlias | LocalFunctionVersion {
    return (
      (t.alias ? this.aliases.get(t.functionLogicalId) : undefined) ?? this.versions.get(t.functionLogicalId)!
    );
  }

  private async serveUrl(): Promise<FunctionUrlServer> {
    const target = this.target(this.httpTarget!);
    // The stack's own AWS_IAM URL checks its callers; the router's entry (an HTTP API) is public.
    const iamUrl = this.options.httpTarget
      ? undefined
      : this.stack.urls.find((u) => u.authType === 'AWS_IAM');
    const authorize =
      iamUrl && this.options.iam?.urlAuthorizer(this.stack, iamUrl.target, (l) => this.log(l));
    const server = new FunctionUrlServer({
      ...(authorize && { authorize }),
      port: this.urlPort,
      invoke: async (event) => {
        const out = await target.invoke(event);
        if (out.error) throw new Error(`${out.error.errorType}: ${out.error.errorMessage}`);
        return out.result as APIGatewayProxyStructuredResultV2 | string | undefined;
      },
    });
    await server.start();
    this.urlPort = Number(new URL(server.url).port);
    if (iamUrl) this.options.iam?.registerUrl(this.stack, iamUrl.target, server.url);
    return server;
  }

  /**
   * The SQS client an event source polls with: Lambda polls "with the function's execution role", so with
   * IAM enforced its calls go through the stack's endpoint as that role (one client per function).
   */
  private pollerClient(functionLogicalId: string): SQSClient {
    const iam = this.options.iam;
    if (!iam || !this.awsEndpoint) return this.sqsClient!;
    const session = iam.functionSession(this.stack, this.functionOf(functionLogicalId));
    const client = new SQSClient({
      ...iam.clientConfig(session, region(this.stack), this.awsEndpoint.url),
      useQueueUrlAsEndpoint: false,
    });
    this.pollers.push(client);
    return client;
  }

  private startEventSources(): void {
    this.eventSources = this.stack.eventSources
      .filter((e) => e.enabled)
      .map(
        (e) =>
          new SqsEventSource({
            sqs: this.pollerClient(e.target.functionLogicalId),
            queueUrl: this.queueUrl(e.queueLogicalId),
            queueArn: this.queueArn(e.queueLogicalId),
            target: this.target(e.target),
            batchSize: e.batchSize,
            maximumBatchingWindowSeconds: e.maximumBatchingWindowSeconds,
            maximumConcurrency: e.maximumConcurrency,
            reportBatchItemFailures: e.reportBatchItemFailures,
            log: (line) => this.log(line),
          }),
      );
    for (const source of this.eventSources) source.start();
  }

  private startSchedules(): void {
    const schedules = this.stack.schedules.filter((s) => s.enabled);
    if (schedules.length === 0) return;
    this.scheduler = new Scheduler({
      timeScale: this.options.timeScale,
      region: region(this.stack),
      accountId: LOCAL_ACCOUNT,
      log: (line) => this.log(line),
    });
    for (const s of schedules) {
      this.scheduler.add({
        name: `${s.logicalId}/${s.targetId}`,
        expression: s.expression,
        target: this.target(s.target),
      });
    }
  }

  /** A template value of this stack (a custom resource's call) with its references resolved to the local ones. */
  resolveValue(value: EnvValue, what: string): string {
    return resolveValue(
      value,
      (ref) => this.resolve(ref),
      (ref, reason) => {
        throw new Error(
          `${this.stack.stackName}: ${what} references ${describeRef(ref)}, which cannot be resolved locally (${reason})`,
        );
      },
    );
  }

  /** Runs a schedule's target now (drills and tests do not wait for the clock). */
  async runSchedule(): Promise<void> {
    for (const s of this.stack.schedules) await this.scheduler?.runNow(`${s.logicalId}/${s.targetId}`);
  }

  private logicalIdOf(ref: unknown): string {
    const id = getAttOf(ref)?.[0] ?? refOf(ref);
    if (!id) throw new Error(`cannot resolve ${JSON.stringify(ref)} in ${this.stack.stackName}`);
    return id;
  }

  private queueArn(logicalId: string): string {
    const queue = this.stack.queues.find((q) => q.logicalId === logicalId);
    if (!queue) throw new Error(`${this.stack.stackName} has no queue ${logicalId}`);
    return `arn:aws:sqs:${region(this.stack)}:${LOCAL_ACCOUNT}:${queue.queueName}`;
  }

  private functionArn(logicalId: string): string {
    return `arn:aws:lambda:${region(this.stack)}:${LOCAL_ACCOUNT}:function:${this.functionOf(logicalId).name}`;
  }

  private resolve(ref: EnvRef): string | undefined {
    const s = this.stack;
    switch (ref.kind) {
      case 'table':
        return s.tables.find((t) => t.logicalId === ref.logicalId)?.tableName;
      case 'queue-url':
        return this.queueUrls.get(ref.logicalId);
      case 'queue-arn':
        return this.queueArn(ref.logicalId);
      case 'queue-name':
        return s.queues.find((q) => q.logicalId === ref.logicalId)?.queueName;
      case 'function':
        return ref.attribute === 'Arn'
          ? this.functionArn(ref.logicalId)
          : this.functionOf(ref.logicalId).name;
      case 'version': {
        const v = s.versions.find((x) => x.logicalId === ref.logicalId);
        if (!v) return undefined;
        return ref.attribute === 'Version' ? '1' : `${this.functionArn(v.functionLogicalId)}:1`;
      }
      case 'alias': {
        const a = s.aliases.find((x) => x.logicalId === ref.logicalId);
        return a ? `${this.functionArn(a.functionLogicalId)}:${a.name}` : undefined;
      }
      case 'url':
        return this.urlServer?.url;
      case 'stack-attr':
        return (
          {
            'AWS::Region': region(s),
            'AWS::AccountId': LOCAL_ACCOUNT,
            'AWS::Partition': 'aws',
            'AWS::URLSuffix': 'amazonaws.com',
            'AWS::StackName': s.stackName,
          } as Record<string, string>
        )[ref.logicalId];
    }
  }
}
