/**
 * The model of a cloud assembly the local platform runs: per stack its tables, queues, functions with
 * their bundled code and environment, versions, `live` aliases, SQS event sources, schedules and
 * Function URLs, its IAM (roles, policies, resource and key policies, encryption), its deploy-time
 * custom resources, and the resources it ignores with why. Built by `readAssembly` (template-model.ts).
 */
import type { Policy } from '../../domain/iam';

/**
 * What an environment variable refers to. The value the reference stands for, on AWS:
 * - `table`: the table name; with `attribute: 'Arn'` its ARN.
 * - `queue-url` / `queue-arn` / `queue-name`: the queue's URL / ARN / name.
 * - `function`: the function name; with `attribute: 'Arn'` its ARN.
 * - `version`: the version ARN (`Ref`); with `attribute: 'Version'` the version number.
 * - `alias`: the alias ARN.
 * - `url`: a Function URL resource; `attribute` is `FunctionUrl` or `FunctionArn`.
 * - `stack-attr`: a pseudo parameter (`logicalId` is e.g. `AWS::Region`, `AWS::AccountId`).
 */
export interface EnvRef {
  readonly kind:
    | 'table'
    | 'queue-url'
    | 'queue-arn'
    | 'queue-name'
    | 'function'
    | 'version'
    | 'alias'
    | 'url'
    | 'stack-attr';
  readonly logicalId: string;
  readonly attribute?: string;
}

/** An environment variable's value: a plain string, a reference, or a `Fn::Join` of those. */
export type EnvValue =
  | string
  | { readonly ref: EnvRef }
  | { readonly join: { readonly delimiter: string; readonly parts: readonly EnvValue[] } };

export interface LocalFunction {
  readonly logicalId: string;
  /** `FunctionName` if set, else the logical id. */
  readonly name: string;
  /** Absolute path of the bundled asset directory. */
  readonly codeDir: string;
  /** Absolute path of the handler module (e.g. `<codeDir>/index.js`). */
  readonly handlerFile: string;
  /** The exported handler (e.g. `handler`). */
  readonly handlerExport: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, EnvValue>>;
  /** `ReservedConcurrentExecutions`: its own share of the account's concurrency, and its most. @default none */
  readonly reservedConcurrency?: number;
}

export interface LocalTable {
  readonly logicalId: string;
  /** The `TableName` property if set, else `<stack>-<logicalId>`. */
  readonly tableName: string;
  /** Raw CloudFormation properties, for `createTableFromCfn` (already checked to be supported). */
  readonly properties: Readonly<Record<string, unknown>>;
}

export interface LocalQueue {
  readonly logicalId: string;
  /** The `QueueName` property if set, else `<stack>-<logicalId>` (at most 80 characters). */
  readonly queueName: string;
  /** Raw CloudFormation properties, for `createQueueFromCfn` (already checked to be supported). */
  readonly properties: Readonly<Record<string, unknown>>;
  /** The queue its `RedrivePolicy` sends poison messages to. */
  readonly deadLetterLogicalId?: string;
}

/** An `AWS::Lambda::Version` (published by CDK as `CurrentVersion`). */
export interface LocalVersion {
  readonly logicalId: string;
  readonly functionLogicalId: string;
}

/** An `AWS::Lambda::Alias` as the template describes it (the alias that runs is a `RuntimeAlias`). */
export interface AliasModel {
  readonly logicalId: string;
  readonly name: 'live';
  readonly functionLogicalId: string;
  /** The version the template points the alias at. */
  readonly versionLogicalId: string;
  /** Traffic shifting is managed by CodeDeploy (`UpdatePolicy.CodeDeployLambdaAliasUpdate`). */
  readonly deploymentGroup: boolean;
  /** What the alarms of that deployment group stop a deployment at (`release-alarms.ts`). */
  readonly releaseLimits?: ReleaseLimits;
  readonly preTrafficHookLogicalId?: string;
  readonly postTrafficHookLogicalId?: string;
}

/** The limits a deployment group's alarms set on a new version; absent: none stops it for that. */
export interface ReleaseLimits {
  /** The p99 duration (ms) of its `AWS/Lambda` `Duration` alarm. */
  readonly p99DurationMs?: number;
}

/** What an event source, a schedule or a URL invokes: a function, or one of its aliases. */
export interface InvokeTargetModel {
  readonly functionLogicalId: string;
  /** The alias invoked; absent when the unqualified function is invoked. */
  readonly alias?: string;
}

export interface LocalEventSource {
  readonly logicalId: string;
  readonly queueLogicalId: string;
  readonly target: InvokeTargetModel;
  readonly enabled: boolean;
  readonly batchSize: number;
  readonly maximumConcurrency?: number;
  readonly reportBatchItemFailures: boolean;
  readonly maximumBatchingWindowSeconds?: number;
}

export interface LocalSchedule {
  readonly logicalId: string;
  /** The rule's target `Id` (a rule may have several targets; one schedule each). */
  readonly targetId: string;
  /** A `rate(...)` expression (the only kind the local platform runs). */
  readonly expression: string;
  readonly everyMs: number;
  readonly enabled: boolean;
  readonly target: InvokeTargetModel;
  /** The target's constant `Input` (parsed JSON), when it has one; else the scheduled event. */
  readonly input?: unknown;
}

export interface LocalFunctionUrl {
  readonly logicalId: string;
  readonly target: InvokeTargetModel;
  readonly authType: 'AWS_IAM' | 'NONE';
}

export interface IgnoredResource {
  readonly logicalId: string;
  readonly type: string;
  readonly reason: string;
}

/** An identity policy of a role, with where to change it. */
export interface IdentityPolicy {
  readonly policy: Policy;
  /** The construct path of the policy (`Bulkhead-Router/RouterRole/DefaultPolicy`), or the managed policy ARN. */
  readonly source: string;
}

/** An `AWS::IAM::Role` as deployed: its name and ARN, who may assume it, and what it may do. */
export interface LocalRole {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Its `AssumeRolePolicyDocument` (kind `trust`). */
  readonly trust: Policy;
  readonly identity: readonly IdentityPolicy[];
  /** AWS managed policies it attaches that are not carried as data (aws-managed-policies.ts). */
  readonly unknownManagedPolicies: readonly string[];
  /** The construct path of the role. */
  readonly source: string;
}

/**
 * The IAM side of a stack, with every intrinsic resolved to the names and ARNs the local platform runs
 * (tables, queues and functions by their local names, in the stack's account and region).
 */
export interface StackIam {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
  readonly roles: readonly LocalRole[];
  /** The role each function (a provider function included) runs as: function → role logical id. */
  readonly functionRoles: Readonly<Record<string, string>>;
  /** Each function's ARN, by logical id. */
  readonly functionArns: Readonly<Record<string, string>>;
  /** Resource policies by the ARN they protect: functions, aliases (`AWS::Lambda::Permission`s), queues. */
  readonly resourcePolicies: Readonly<Record<string, Policy>>;
  /** Key policies by key ARN. */
  readonly keyPolicies: Readonly<Record<string, Policy>>;
  /** Tables and queues encrypted with a customer managed key: resource ARN → key ARN. */
  readonly encryption: Readonly<Record<string, string>>;
  /** Construct paths of the resources policies protect and of the keys, for what-to-change hints. */
  readonly sources: Readonly<Record<string, string>>;
}

/**
 * An `AwsCustomResource` call (`Custom::AWS`): the SDK call its provider makes when the stack is created,
 * as the provider's role, through the role it assumes.
 */
export interface LocalCustomResource {
  readonly logicalId: string;
  /** The provider function whose role makes the call. */
  readonly providerLogicalId: string;
  /** The `Create` call: its JSON text, with references the platform resolves at start. */
  readonly create: EnvValue;
  /** The `Update` call (a redeploy of the stack), when it differs from `Create`. */
  readonly update?: EnvValue;
}

export interface LocalStack {
  readonly stackName: string;
  readonly kind: 'router' | 'cell';
  /** From the `bulkhead:cell` tag (stack or resources) or the stack name. */
  readonly cellId?: string;
  readonly account?: string;
  readonly region?: string;
  /** Absolute path of the template the stack was read from. */
  readonly templateFile: string;
  readonly tables: readonly LocalTable[];
  readonly queues: readonly LocalQueue[];
  readonly functions: readonly LocalFunction[];
  readonly versions: readonly LocalVersion[];
  readonly aliases: readonly AliasModel[];
  readonly eventSources: readonly LocalEventSource[];
  readonly schedules: readonly LocalSchedule[];
  readonly urls: readonly LocalFunctionUrl[];
  readonly iam: StackIam;
  readonly customResources: readonly LocalCustomResource[];
  readonly ignored: readonly IgnoredResource[];
}

export interface LocalAssembly {
  /** Absolute path of the cloud assembly directory. */
  readonly dir: string;
  readonly stacks: readonly LocalStack[];
  readonly router: LocalStack;
  readonly cells: readonly LocalStack[];
}

/** A resource, or a property of one, the local platform cannot reproduce. */
export class UnsupportedResourceError extends Error {
  constructor(
    readonly stackName: string,
    readonly logicalId: string,
    readonly resourceType: string,
    /** The property path inside `Properties` (or a resource attribute), when the problem is one. */
    readonly property: string | undefined,
    problem: string,
  ) {
    super(`${stackName}/${logicalId} (${resourceType})${property ? ` ${property}` : ''}: ${problem}`);
    this.name = 'UnsupportedResourceError';
  }
}

/** The cloud assembly itself (manifest, template or asset files) is missing or malformed. */
export class AssemblyReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyReadError';
  }
}
