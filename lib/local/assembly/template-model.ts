/**
 * Reads a `cdk synth` output directory (a cloud assembly) and builds the model the local platform
 * runs: tables, queues, functions with their bundled code and environment, versions, `live` aliases,
 * SQS event sources, schedules and Function URLs. What runs locally is exactly what deploys: every
 * resource type is either modelled here or listed in {@link IGNORED_TYPES} with the reason it has no
 * local effect, and every property of a modelled resource is either understood or listed as ignored
 * with a reason. Anything else fails by name (stack, logical id, type, property), never silently.
 *
 * Pure: reads files, starts nothing, calls no AWS API.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { cellStackName, CELL_REGISTRY_TABLE, ROUTER_STACK, TAG_CELL } from '../../contracts/names';

import { queueInputFromCfn, tableInputFromCfn, UnsupportedCfnPropertyError } from './cfn-resources';

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

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

export interface LocalAlias {
  readonly logicalId: string;
  readonly name: 'live';
  readonly functionLogicalId: string;
  /** The version the template points the alias at. */
  readonly versionLogicalId: string;
  /** Traffic shifting is managed by CodeDeploy (`UpdatePolicy.CodeDeployLambdaAliasUpdate`). */
  readonly deploymentGroup: boolean;
  readonly preTrafficHookLogicalId?: string;
  readonly postTrafficHookLogicalId?: string;
}

export interface LocalTarget {
  readonly functionLogicalId: string;
  /** The alias invoked; absent when the unqualified function is invoked. */
  readonly alias?: string;
}

export interface LocalEventSource {
  readonly logicalId: string;
  readonly queueLogicalId: string;
  readonly target: LocalTarget;
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
  readonly expression: string;
  /** For `rate(...)`; a `cron(...)` is left as its expression. */
  readonly everyMs?: number;
  readonly enabled: boolean;
  readonly target: LocalTarget;
  /** The target's constant `Input` (parsed JSON), when it has one; else the scheduled event. */
  readonly input?: unknown;
}

export interface LocalFunctionUrl {
  readonly logicalId: string;
  readonly target: LocalTarget;
  readonly authType: 'AWS_IAM' | 'NONE';
}

export interface IgnoredResource {
  readonly logicalId: string;
  readonly type: string;
  readonly reason: string;
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
  readonly aliases: readonly LocalAlias[];
  readonly eventSources: readonly LocalEventSource[];
  readonly schedules: readonly LocalSchedule[];
  readonly urls: readonly LocalFunctionUrl[];
  readonly ignored: readonly IgnoredResource[];
}

export interface LocalAssembly {
  /** Absolute path of the cloud assembly directory. */
  readonly dir: string;
  readonly stacks: readonly LocalStack[];
  readonly router: LocalStack;
  readonly cells: readonly LocalStack[];
}

// ---------------------------------------------------------------------------------------------
// What is modelled and what is ignored
// ---------------------------------------------------------------------------------------------

/** Resource types with no local effect, each with why. Any type neither here nor modelled fails. */
export const IGNORED_TYPES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'IAM is not emulated locally: every local function may call every local resource',
  'AWS::IAM::Policy': 'IAM is not emulated locally: every local function may call every local resource',
  'AWS::IAM::ManagedPolicy':
    'IAM is not emulated locally (CDK moves statements here when a role’s inline policy grows too large)',
  'AWS::KMS::Key': 'encryption at rest is not emulated locally',
  'AWS::KMS::Alias': 'encryption at rest is not emulated locally',
  'AWS::Logs::LogGroup': 'function logs go to the local platform’s output',
  'AWS::CloudWatch::Alarm':
    'CloudWatch metrics and alarms are not emulated; the local release flow checks health itself',
  'AWS::CodeDeploy::Application': 'traffic shifting is done by the local platform on the alias weights',
  'AWS::CodeDeploy::DeploymentConfig': 'traffic shifting is done by the local platform on the alias weights',
  'AWS::CodeDeploy::DeploymentGroup': 'traffic shifting is done by the local platform on the alias weights',
  'AWS::Backup::BackupVault': 'AWS Backup is not emulated; local data lives in the cell’s DynamoDB Local',
  'AWS::Backup::BackupPlan': 'AWS Backup is not emulated; local data lives in the cell’s DynamoDB Local',
  'AWS::Backup::BackupSelection': 'AWS Backup is not emulated; local data lives in the cell’s DynamoDB Local',
  'AWS::Lambda::Permission':
    'invoke permissions are IAM; the local platform wires callers to functions directly',
  'AWS::SQS::QueuePolicy':
    'the TLS-only policy is a network policy; local queues are on the loopback interface',
  'AWS::ApiGatewayV2::Api': 'the local router is served over HTTP directly',
  'AWS::ApiGatewayV2::Stage': 'the local router is served over HTTP directly',
  'AWS::ApiGatewayV2::Route': 'the local router is served over HTTP directly',
  'AWS::ApiGatewayV2::Integration': 'the local router is served over HTTP directly',
  'AWS::CDK::Metadata': 'CDK usage reporting, no runtime effect',
};

const REGISTRATION_REASON =
  'cell registration in the router’s registry: the local platform writes the registry itself';
const PROVIDER_REASON = 'the AwsCustomResource provider of the cell registration, which is not run locally';

const MODELLED_TYPES = [
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
  'AWS::Lambda::Version',
  'AWS::Lambda::Alias',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Events::Rule',
  'AWS::Lambda::Url',
] as const;

/** Accepted properties (understood) and ignored ones (with why), per modelled type. */
interface PropertyRules {
  readonly accepted: readonly string[];
  readonly ignored: Readonly<Record<string, string>>;
}

export const FUNCTION_PROPERTIES: PropertyRules = {
  accepted: ['Code', 'Handler', 'Runtime', 'Timeout', 'MemorySize', 'Environment', 'FunctionName'],
  ignored: {
    Description: 'documentation',
    Role: 'IAM is not emulated locally',
    Architectures: 'the bundle is JavaScript and runs on the local Node.js whatever the CPU',
    TracingConfig: 'X-Ray tracing is not emulated',
    LoggingConfig: 'logs go to the local platform’s output',
    Tags: 'metadata',
  },
};
export const VERSION_PROPERTIES: PropertyRules = {
  accepted: ['FunctionName'],
  ignored: { Description: 'documentation', CodeSha256: 'the local version is the asset itself' },
};
export const ALIAS_PROPERTIES: PropertyRules = {
  accepted: ['FunctionName', 'FunctionVersion', 'Name'],
  ignored: { Description: 'documentation' },
};
export const EVENT_SOURCE_PROPERTIES: PropertyRules = {
  accepted: [
    'EventSourceArn',
    'FunctionName',
    'BatchSize',
    'Enabled',
    'FunctionResponseTypes',
    'ScalingConfig',
    'MaximumBatchingWindowInSeconds',
  ],
  ignored: { Tags: 'metadata' },
};
export const RULE_PROPERTIES: PropertyRules = {
  accepted: ['ScheduleExpression', 'State', 'Targets'],
  ignored: {
    Description: 'documentation',
    Name: 'the local schedule is named by its logical id',
    Tags: 'metadata',
  },
};
export const URL_PROPERTIES: PropertyRules = {
  accepted: ['TargetFunctionArn', 'Qualifier', 'AuthType', 'InvokeMode'],
  ignored: {},
};
/** Resource attributes (beside `Type` and `Properties`) with no local effect. */
const IGNORED_RESOURCE_ATTRIBUTES = ['DependsOn', 'Metadata', 'DeletionPolicy', 'UpdateReplacePolicy'];

const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::Region',
  'AWS::Partition',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::URLSuffix',
];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

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

/** An environment variable whose reference the resolver could not turn into a value. */
export class EnvironmentResolutionError extends Error {
  constructor(
    readonly functionName: string,
    readonly variable: string,
    readonly ref: EnvRef,
    reason: string,
  ) {
    super(
      `function ${functionName}: environment variable ${variable} references ${describeRef(ref)}, which cannot be resolved locally (${reason})`,
    );
    this.name = 'EnvironmentResolutionError';
  }
}

export function describeRef(ref: EnvRef): string {
  return `${ref.kind} ${ref.logicalId}${ref.attribute ? `.${ref.attribute}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Reading the assembly
// ---------------------------------------------------------------------------------------------

interface ManifestArtifact {
  readonly type?: string;
  readonly environment?: string;
  readonly properties?: {
    readonly templateFile?: string;
    readonly stackName?: string;
    readonly file?: string;
    readonly tags?: Readonly<Record<string, string>>;
  };
  readonly dependencies?: readonly string[];
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly UpdatePolicy?: Readonly<Record<string, unknown>>;
  readonly Condition?: unknown;
  readonly Metadata?: Readonly<Record<string, unknown>>;
  readonly [attribute: string]: unknown;
}

interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, CfnResource>>;
  readonly Parameters?: Readonly<Record<string, unknown>>;
  readonly Transform?: unknown;
}

interface FileAsset {
  readonly path: string;
  readonly packaging?: string;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new AssemblyReadError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AssemblyReadError(`${what} ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads the cloud assembly in `cdkOutDir`: finds the stacks and their templates through
 * `manifest.json`, and models each. Throws {@link UnsupportedResourceError} on the first resource or
 * property the local platform cannot reproduce.
 */
export function readAssembly(cdkOutDir: string): LocalAssembly {
  const dir = path.resolve(cdkOutDir);
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = readJson(manifestFile, 'cloud assembly manifest') as {
    artifacts?: Readonly<Record<string, ManifestArtifact>>;
  };
  const artifacts = manifest.artifacts ?? {};
  const stacks: LocalStack[] = [];
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly') {
      throw new AssemblyReadError(
        `${manifestFile}: nested cloud assembly ${id} (a CDK Stage) is not supported by the local platform`,
      );
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = artifact.properties?.templateFile;
    if (!templateFile) throw new AssemblyReadError(`${manifestFile}: stack ${id} has no templateFile`);
    const assets = new Map<string, FileAsset>();
    for (const dependency of artifact.dependencies ?? []) {
      const dep = artifacts[dependency];
      if (dep?.type !== 'cdk:asset-manifest' || !dep.properties?.file) continue;
      const assetManifest = readJson(path.join(dir, dep.properties.file), 'asset manifest') as {
        files?: Readonly<Record<string, { source?: FileAsset }>>;
      };
      for (const [hash, entry] of Object.entries(assetManifest.files ?? {})) {
        if (entry.source?.path) assets.set(hash, entry.source);
      }
    }
    const [account, region] = parseEnvironment(artifact.environment);
    const templatePath = path.join(dir, templateFile);
    stacks.push(
      modelStack({
        dir,
        stackName: artifact.properties?.stackName ?? id,
        templateFile: templatePath,
        template: readJson(templatePath, 'template') as CfnTemplate,
        assets,
        stackTags: artifact.properties?.tags ?? {},
        account,
        region,
      }),
    );
  }
  const routers = stacks.filter((s) => s.kind === 'router');
  if (routers.length !== 1) {
    throw new AssemblyReadError(
      `${manifestFile}: expected one ${ROUTER_STACK} stack, found ${routers.length}`,
    );
  }
  const cells = stacks.filter((s) => s.kind === 'cell');
  const seen = new Set<string>();
  for (const cell of cells) {
    if (seen.has(cell.cellId!)) {
      throw new AssemblyReadError(`${manifestFile}: two stacks are tagged as cell ${cell.cellId}`);
    }
    seen.add(cell.cellId!);
  }
  return { dir, stacks, router: routers[0], cells };
}

/** `aws://111111111111/us-east-1` → account and region; CDK's `unknown-*` placeholders → undefined. */
function parseEnvironment(environment: string | undefined): [string | undefined, string | undefined] {
  const match = /^aws:\/\/([^/]+)\/(.+)$/.exec(environment ?? '');
  if (!match) return [undefined, undefined];
  const known = (value: string): string | undefined => (value.startsWith('unknown-') ? undefined : value);
  return [known(match[1]), known(match[2])];
}

// ---------------------------------------------------------------------------------------------
// Modelling one stack
// ---------------------------------------------------------------------------------------------

interface StackInput {
  readonly dir: string;
  readonly stackName: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  readonly assets: ReadonlyMap<string, FileAsset>;
  readonly stackTags: Readonly<Record<string, string>>;
  readonly account?: string;
  readonly region?: string;
}

type Props = Readonly<Record<string, unknown>>;

/** Reads one resource's properties; every failure names the stack, the resource and the property. */
class ResourceReader {
  constructor(
    readonly stackName: string,
    readonly logicalId: string,
    readonly type: string,
  ) {}

  fail(property: string | undefined, problem: string): never {
    throw new UnsupportedResourceError(this.stackName, this.logicalId, this.type, property, problem);
  }

  onlyKnown(props: Props, at: string, rules: PropertyRules): void {
    for (const key of Object.keys(props)) {
      if (rules.accepted.includes(key) || key in rules.ignored) continue;
      const known = [...rules.accepted, ...Object.keys(rules.ignored).map((k) => `${k} (ignored)`)].join(
        ', ',
      );
      this.fail(at ? `${at}.${key}` : key, `is not supported by the local platform (known: ${known})`);
    }
  }

  object(value: unknown, at: string): Props {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(at, `must be an object, got ${JSON.stringify(value)}`);
    }
    return value as Props;
  }

  array(value: unknown, at: string): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(at, `must be a list, got ${JSON.stringify(value)}`);
    return value;
  }

  string(value: unknown, at: string): string {
    if (typeof value !== 'string') this.fail(at, `must be a plain string, got ${JSON.stringify(value)}`);
    return value;
  }

  /** CloudFormation accepts numbers as numbers or numeric strings. */
  integer(value: unknown, at: string, min: number): number {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
      this.fail(at, `must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  boolean(value: unknown, at: string): boolean {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(at, `must be true or false, got ${JSON.stringify(value)}`);
  }

  required(props: Props, key: string, at = ''): unknown {
    if (props[key] === undefined) this.fail(at ? `${at}.${key}` : key, 'is required');
    return props[key];
  }
}

/** `{ Ref: X }` → X. */
function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const ref = (value as { Ref?: unknown }).Ref;
  return keys.length === 1 && typeof ref === 'string' ? ref : undefined;
}

/** `{ 'Fn::GetAtt': [X, A] }` (or `'X.A'`) → [X, A]. */
function getAttOf(value: unknown): [string, string] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (Object.keys(value).length !== 1) return undefined;
  const args = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  if (
    Array.isArray(args) &&
    args.length === 2 &&
    typeof args[0] === 'string' &&
    typeof args[1] === 'string'
  ) {
    return [args[0], args[1]];
  }
  if (typeof args === 'string' && args.includes('.')) {
    const dot = args.indexOf('.');
    return [args.slice(0, dot), args.slice(dot + 1)];
  }
  return undefined;
}

/** The one intrinsic function of an object like `{ 'Fn::Join': [...] }`. */
function intrinsicOf(value: unknown): [string, unknown] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || !(keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return undefined;
  return [keys[0], (value as Record<string, unknown>)[keys[0]]];
}

/** Literal strings of a value, through `Fn::Join`: to recognise a registration call by its text. */
function literalText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = intrinsicOf(value);
  if (join?.[0] === 'Fn::Join' && Array.isArray(join[1]) && Array.isArray(join[1][1])) {
    return (join[1][1] as unknown[]).map(literalText).join('');
  }
  return '';
}

/** A `Custom::AWS` call that registers the cell in the router's registry, and nothing else. */
function isCellRegistration(resource: CfnResource): boolean {
  const props = resource.Properties ?? {};
  return ['Create', 'Update', 'Delete'].every((phase) => {
    if (props[phase] === undefined) return true;
    const text = literalText(props[phase]).replace(/\s/g, '');
    return (
      text.includes('"service":"DynamoDB"') &&
      text.includes('"action":"UpdateItem"') &&
      text.includes(`"TableName":"${CELL_REGISTRY_TABLE}"`)
    );
  });
}

/** Deterministic local name: `<stack>-<logicalId>`, cut to `max` with a hash so it stays unique. */
function localName(stackName: string, logicalId: string, max: number, suffix = ''): string {
  const name = `${stackName}-${logicalId}`;
  if (name.length + suffix.length <= max) return name + suffix;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

const CELL_STACK_PREFIX = cellStackName('');

function cellIdOf(input: StackInput, resources: Readonly<Record<string, CfnResource>>): string | undefined {
  if (input.stackTags[TAG_CELL]) return input.stackTags[TAG_CELL];
  for (const resource of Object.values(resources)) {
    const tags = resource.Properties?.Tags;
    if (!Array.isArray(tags)) continue;
    for (const tag of tags as unknown[]) {
      const { Key, Value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
      if (Key === TAG_CELL && typeof Value === 'string') return Value;
    }
  }
  if (input.stackName.startsWith(CELL_STACK_PREFIX) && input.stackName.length > CELL_STACK_PREFIX.length) {
    return input.stackName.slice(CELL_STACK_PREFIX.length);
  }
  return undefined;
}

function modelStack(input: StackInput): LocalStack {
  const { stackName, template } = input;
  if (template.Transform !== undefined) {
    throw new AssemblyReadError(
      `${input.templateFile}: Transform ${JSON.stringify(template.Transform)} is not supported by the local platform`,
    );
  }
  const resources = template.Resources ?? {};
  const parameters = template.Parameters ?? {};
  const reader = (logicalId: string): ResourceReader =>
    new ResourceReader(stackName, logicalId, resources[logicalId].Type);

  // 1. Classify every resource: ignored (with why), modelled, or unsupported.
  const ignored: IgnoredResource[] = [];
  const ignoredIds = new Set<string>();
  const ignore = (logicalId: string, reason: string): void => {
    ignored.push({ logicalId, type: resources[logicalId].Type, reason });
    ignoredIds.add(logicalId);
  };
  const byType = new Map<string, string[]>(MODELLED_TYPES.map((t) => [t, []]));
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (typeof resource?.Type !== 'string') {
      throw new AssemblyReadError(`${input.templateFile}: resource ${logicalId} has no Type`);
    }
    if (resource.Type === 'Custom::AWS') {
      if (!isCellRegistration(resource)) {
        reader(logicalId).fail(
          undefined,
          'is an AwsCustomResource call other than the cell registration; the local platform cannot run it',
        );
      }
      ignore(logicalId, REGISTRATION_REASON);
      const provider = getAttOf(resource.Properties?.ServiceToken);
      if (
        provider &&
        resources[provider[0]]?.Type === 'AWS::Lambda::Function' &&
        !ignoredIds.has(provider[0])
      ) {
        ignore(provider[0], PROVIDER_REASON);
      }
    } else if (resource.Type in IGNORED_TYPES) {
      ignore(logicalId, IGNORED_TYPES[resource.Type]);
    } else if (!byType.has(resource.Type)) {
      reader(logicalId).fail(
        undefined,
        'resource type is not supported by the local platform (neither modelled nor in IGNORED_TYPES)',
      );
    }
  }
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (ignoredIds.has(logicalId)) continue;
    byType.get(resource.Type)?.push(logicalId);
    for (const attribute of Object.keys(resource)) {
      if (['Type', 'Properties', 'UpdatePolicy', ...IGNORED_RESOURCE_ATTRIBUTES].includes(attribute))
        continue;
      reader(logicalId).fail(attribute, 'is not supported by the local platform');
    }
    if (resource.UpdatePolicy !== undefined && resource.Type !== 'AWS::Lambda::Alias') {
      reader(logicalId).fail('UpdatePolicy', 'is not supported by the local platform on this type');
    }
  }
  const ids = (type: (typeof MODELLED_TYPES)[number]): string[] => byType.get(type) ?? [];
  const isModelled = (logicalId: string, type: string): boolean =>
    resources[logicalId]?.Type === type && !ignoredIds.has(logicalId);
  const propsOf = (logicalId: string): Props => resources[logicalId].Properties ?? {};

  /** Why a reference to `target` cannot be used, for error messages. */
  const unknownTarget = (target: string): string => {
    if (target in parameters) return `the template parameter ${target}, which has no local value`;
    if (!(target in resources)) return `${target}, which is not a resource of this stack`;
    if (ignoredIds.has(target))
      return `${target} (${resources[target].Type}), which has no local counterpart`;
    return `${target} (${resources[target].Type})`;
  };

  // 2. Tables and queues: checked with the converters that create them later.
  const wrapCfn = <T>(r: ResourceReader, action: () => T): T => {
    try {
      return action();
    } catch (error) {
      if (error instanceof UnsupportedCfnPropertyError) {
        const problem = error.message.slice(
          `${error.resourceType} ${error.resourceName}: ${error.property} `.length,
        );
        return r.fail(error.property, problem);
      }
      throw error;
    }
  };
  const tables: LocalTable[] = ids('AWS::DynamoDB::Table').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const properties = propsOf(logicalId);
    const tableName =
      properties.TableName === undefined
        ? localName(stackName, logicalId, 255)
        : r.string(properties.TableName, 'TableName');
    wrapCfn(r, () => tableInputFromCfn(tableName, properties));
    return { logicalId, tableName, properties };
  });
  const queues: LocalQueue[] = ids('AWS::SQS::Queue').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const properties = propsOf(logicalId);
    const fifo = properties.FifoQueue === true || properties.FifoQueue === 'true';
    const queueName =
      properties.QueueName === undefined
        ? localName(stackName, logicalId, 80, fifo ? '.fifo' : '')
        : r.string(properties.QueueName, 'QueueName');
    let deadLetterLogicalId: string | undefined;
    wrapCfn(r, () =>
      queueInputFromCfn(queueName, properties, (ref) => {
        const att = getAttOf(ref);
        if (!att || att[1] !== 'Arn' || !isModelled(att[0], 'AWS::SQS::Queue')) {
          return r.fail(
            'RedrivePolicy.deadLetterTargetArn',
            `must be the Arn of a queue of this stack, got ${JSON.stringify(ref)}`,
          );
        }
        deadLetterLogicalId = att[0];
        return `arn:local:sqs:${att[0]}`;
      }),
    );
    return { logicalId, queueName, properties, ...(deadLetterLogicalId && { deadLetterLogicalId }) };
  });

  // 3. Functions.
  const envValue = (r: ResourceReader, value: unknown, at: string): EnvValue => {
    if (typeof value === 'string') return value;
    const ref = refOf(value);
    if (ref !== undefined) {
      if (PSEUDO_PARAMETERS.includes(ref)) return { ref: { kind: 'stack-attr', logicalId: ref } };
      const type = resources[ref]?.Type;
      if (type !== undefined && !ignoredIds.has(ref)) {
        const kind = {
          'AWS::DynamoDB::Table': 'table',
          'AWS::SQS::Queue': 'queue-url',
          'AWS::Lambda::Function': 'function',
          'AWS::Lambda::Version': 'version',
          'AWS::Lambda::Alias': 'alias',
        }[type] as EnvRef['kind'] | undefined;
        if (kind) return { ref: { kind, logicalId: ref } };
      }
      return r.fail(at, `references ${unknownTarget(ref)}`);
    }
    const att = getAttOf(value);
    if (att) {
      const [target, attribute] = att;
      const type = resources[target]?.Type;
      if (type === undefined || ignoredIds.has(target))
        return r.fail(at, `references ${unknownTarget(target)}`);
      const allowed: Record<string, Record<string, EnvRef>> = {
        'AWS::DynamoDB::Table': { Arn: { kind: 'table', logicalId: target, attribute: 'Arn' } },
        'AWS::SQS::Queue': {
          Arn: { kind: 'queue-arn', logicalId: target },
          QueueUrl: { kind: 'queue-url', logicalId: target },
          QueueName: { kind: 'queue-name', logicalId: target },
        },
        'AWS::Lambda::Function': { Arn: { kind: 'function', logicalId: target, attribute: 'Arn' } },
        'AWS::Lambda::Version': { Version: { kind: 'version', logicalId: target, attribute: 'Version' } },
        'AWS::Lambda::Url': {
          FunctionUrl: { kind: 'url', logicalId: target, attribute: 'FunctionUrl' },
          FunctionArn: { kind: 'url', logicalId: target, attribute: 'FunctionArn' },
        },
      };
      const found = allowed[type]?.[attribute];
      if (!found)
        return r.fail(at, `references ${target}.${attribute} (${type}), which has no local counterpart`);
      return { ref: found };
    }
    const intrinsic = intrinsicOf(value);
    if (intrinsic?.[0] === 'Fn::Join') {
      const args = r.array(intrinsic[1], `${at}.Fn::Join`);
      if (args.length !== 2) r.fail(`${at}.Fn::Join`, 'must have a delimiter and a list');
      return {
        join: {
          delimiter: r.string(args[0], `${at}.Fn::Join[0]`),
          parts: r
            .array(args[1], `${at}.Fn::Join[1]`)
            .map((part, i) => envValue(r, part, `${at}.Fn::Join[1][${i}]`)),
        },
      };
    }
    if (intrinsic) return r.fail(at, `uses ${intrinsic[0]}, which the local platform does not evaluate`);
    return r.fail(at, `must be a string or a reference, got ${JSON.stringify(value)}`);
  };

  const functions: LocalFunction[] = ids('AWS::Lambda::Function').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const props = propsOf(logicalId);
    r.onlyKnown(props, '', FUNCTION_PROPERTIES);

    const runtime = r.string(r.required(props, 'Runtime'), 'Runtime');
    if (!/^nodejs\d+\.x$/.test(runtime)) r.fail('Runtime', `${runtime} is not a Node.js runtime`);

    const code = r.object(r.required(props, 'Code'), 'Code');
    r.onlyKnown(code, 'Code', {
      accepted: ['S3Key'],
      ignored: { S3Bucket: 'the asset is read from cdk.out' },
    });
    const s3Key = r.string(r.required(code, 'S3Key', 'Code'), 'Code.S3Key');
    const hash = s3Key.replace(/\.zip$/, '');
    const metadataPath = resources[logicalId].Metadata?.['aws:asset:path'];
    const asset: FileAsset | undefined =
      input.assets.get(hash) ?? (typeof metadataPath === 'string' ? { path: metadataPath } : undefined);
    if (!asset) r.fail('Code.S3Key', `${s3Key} is not an asset of this stack’s asset manifest`);
    if (asset.packaging !== undefined && asset.packaging !== 'zip') {
      r.fail('Code.S3Key', `asset ${hash} is packaged as ${asset.packaging}, not a directory`);
    }
    const codeDir = path.resolve(input.dir, asset.path);
    if (!fs.statSync(codeDir, { throwIfNoEntry: false })?.isDirectory()) {
      r.fail('Code.S3Key', `asset directory ${codeDir} does not exist`);
    }

    const handler = r.string(r.required(props, 'Handler'), 'Handler');
    const dot = handler.lastIndexOf('.');
    if (dot <= 0 || dot === handler.length - 1) r.fail('Handler', `"${handler}" is not <file>.<export>`);
    const handlerExport = handler.slice(dot + 1);
    const base = path.resolve(codeDir, handler.slice(0, dot));
    const handlerFile = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
    if (!handlerFile)
      r.fail('Handler', `"${handler}": no ${path.relative(input.dir, base)}.js (.mjs, .cjs) in the asset`);

    const environment: Record<string, EnvValue> = {};
    if (props.Environment !== undefined) {
      const env = r.object(props.Environment, 'Environment');
      r.onlyKnown(env, 'Environment', { accepted: ['Variables'], ignored: {} });
      const variables = r.object(env.Variables ?? {}, 'Environment.Variables');
      for (const [name, value] of Object.entries(variables)) {
        environment[name] = envValue(r, value, `Environment.Variables.${name}`);
      }
    }
    return {
      logicalId,
      name: props.FunctionName === undefined ? logicalId : r.string(props.FunctionName, 'FunctionName'),
      codeDir,
      handlerFile,
      handlerExport,
      runtime,
      timeoutSeconds: props.Timeout === undefined ? 3 : r.integer(props.Timeout, 'Timeout', 1),
      memoryMb: props.MemorySize === undefined ? 128 : r.integer(props.MemorySize, 'MemorySize', 128),
      environment,
    };
  });

  /** `{Ref: fn}` or `{Fn::GetAtt: [fn, 'Arn']}` of a modelled function → its logical id. */
  const functionOf = (value: unknown): string | undefined => {
    const ref = refOf(value);
    if (ref !== undefined) return isModelled(ref, 'AWS::Lambda::Function') ? ref : undefined;
    const att = getAttOf(value);
    return att && att[1] === 'Arn' && isModelled(att[0], 'AWS::Lambda::Function') ? att[0] : undefined;
  };

  // 4. Versions and aliases.
  const versions: LocalVersion[] = ids('AWS::Lambda::Version').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const props = propsOf(logicalId);
    r.onlyKnown(props, '', VERSION_PROPERTIES);
    const functionLogicalId = functionOf(r.required(props, 'FunctionName'));
    if (!functionLogicalId) r.fail('FunctionName', 'must reference a function of this stack');
    return { logicalId, functionLogicalId };
  });
  const aliases: LocalAlias[] = ids('AWS::Lambda::Alias').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const props = propsOf(logicalId);
    r.onlyKnown(props, '', ALIAS_PROPERTIES);
    const functionLogicalId = functionOf(r.required(props, 'FunctionName'));
    if (!functionLogicalId) r.fail('FunctionName', 'must reference a function of this stack');
    const name = r.string(r.required(props, 'Name'), 'Name');
    if (name !== 'live') r.fail('Name', `"${name}": the local platform runs the "live" alias only`);
    const version = getAttOf(r.required(props, 'FunctionVersion'));
    const versionLogicalId =
      version && version[1] === 'Version' ? versions.find((v) => v.logicalId === version[0]) : undefined;
    if (!versionLogicalId || versionLogicalId.functionLogicalId !== functionLogicalId) {
      r.fail('FunctionVersion', `must be the Version of a published version of ${functionLogicalId}`);
    }
    const policy = resources[logicalId].UpdatePolicy;
    let hooks: { preTrafficHookLogicalId?: string; postTrafficHookLogicalId?: string } = {};
    if (policy !== undefined) {
      const p = r.object(policy, 'UpdatePolicy');
      r.onlyKnown(p, 'UpdatePolicy', { accepted: ['CodeDeployLambdaAliasUpdate'], ignored: {} });
      const update = r.object(p.CodeDeployLambdaAliasUpdate, 'UpdatePolicy.CodeDeployLambdaAliasUpdate');
      const at = 'UpdatePolicy.CodeDeployLambdaAliasUpdate';
      r.onlyKnown(update, at, {
        accepted: ['BeforeAllowTrafficHook', 'AfterAllowTrafficHook'],
        ignored: { ApplicationName: 'CodeDeploy', DeploymentGroupName: 'CodeDeploy' },
      });
      const hook = (key: string): string | undefined => {
        if (update[key] === undefined) return undefined;
        const fn = functionOf(update[key]);
        if (!fn) r.fail(`${at}.${key}`, 'must reference a function of this stack');
        return fn;
      };
      const pre = hook('BeforeAllowTrafficHook');
      const post = hook('AfterAllowTrafficHook');
      hooks = {
        ...(pre && { preTrafficHookLogicalId: pre }),
        ...(post && { postTrafficHookLogicalId: post }),
      };
    }
    return {
      logicalId,
      name,
      functionLogicalId,
      versionLogicalId: versionLogicalId.logicalId,
      deploymentGroup: policy !== undefined,
      ...hooks,
    };
  });

  /** The alias `qualifier` of `functionLogicalId`, as a target; fails when there is none. */
  const qualified = (
    r: ResourceReader,
    at: string,
    functionLogicalId: string,
    qualifier: string,
  ): LocalTarget => {
    const alias = aliases.find((a) => a.functionLogicalId === functionLogicalId && a.name === qualifier);
    if (!alias) r.fail(at, `qualifier "${qualifier}" is not an alias of ${functionLogicalId}`);
    return { functionLogicalId, alias: alias.name };
  };
  /** An expression standing for a function's name: `Ref fn`, or `Select(6, Split(':', <ARN>))`. */
  const functionNameOf = (value: unknown): string | undefined => {
    const ref = refOf(value);
    if (ref !== undefined) return isModelled(ref, 'AWS::Lambda::Function') ? ref : undefined;
    const select = intrinsicOf(value);
    if (select?.[0] !== 'Fn::Select' || !Array.isArray(select[1]) || Number(select[1][0]) !== 6)
      return undefined;
    const split = intrinsicOf(select[1][1]);
    if (split?.[0] !== 'Fn::Split' || !Array.isArray(split[1]) || split[1][0] !== ':') return undefined;
    const arn = split[1][1];
    const aliasRef = refOf(arn);
    const alias = aliases.find((a) => a.logicalId === aliasRef);
    if (alias) return alias.functionLogicalId;
    const version = versions.find((v) => v.logicalId === aliasRef);
    if (version) return version.functionLogicalId;
    return functionOf(arn);
  };
  /** What a `FunctionName`/`Arn`/`TargetFunctionArn` invokes: a function or one of its aliases. */
  const targetOf = (r: ResourceReader, value: unknown, at: string): LocalTarget => {
    const fn = functionOf(value);
    if (fn) return { functionLogicalId: fn };
    const ref = refOf(value);
    const alias = aliases.find((a) => a.logicalId === ref);
    if (alias) return { functionLogicalId: alias.functionLogicalId, alias: alias.name };
    const join = intrinsicOf(value);
    if (
      join?.[0] === 'Fn::Join' &&
      Array.isArray(join[1]) &&
      join[1][0] === '' &&
      Array.isArray(join[1][1])
    ) {
      const [first, ...rest] = join[1][1] as unknown[];
      const name = functionNameOf(first);
      const tail = rest.every((p) => typeof p === 'string') ? rest.join('') : undefined;
      if (name && tail?.startsWith(':')) return qualified(r, at, name, tail.slice(1));
    }
    if (ref !== undefined && !isModelled(ref, 'AWS::Lambda::Function')) {
      return r.fail(at, `references ${unknownTarget(ref)}; it must be a function or an alias of this stack`);
    }
    return r.fail(at, `must reference a function or an alias of this stack, got ${JSON.stringify(value)}`);
  };

  // 5. Event sources, schedules, Function URLs.
  const eventSources: LocalEventSource[] = ids('AWS::Lambda::EventSourceMapping').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const props = propsOf(logicalId);
    r.onlyKnown(props, '', EVENT_SOURCE_PROPERTIES);
    const source = getAttOf(r.required(props, 'EventSourceArn'));
    if (!source || source[1] !== 'Arn' || !isModelled(source[0], 'AWS::SQS::Queue')) {
      r.fail(
        'EventSourceArn',
        'must be the Arn of an SQS queue of this stack (other event sources are not supported)',
      );
    }
    const target = targetOf(r, r.required(props, 'FunctionName'), 'FunctionName');
    const responseTypes =
      props.FunctionResponseTypes === undefined
        ? []
        : r.array(props.FunctionResponseTypes, 'FunctionResponseTypes').map((t, i) => {
            const type = r.string(t, `FunctionResponseTypes[${i}]`);
            if (type !== 'ReportBatchItemFailures')
              r.fail(`FunctionResponseTypes[${i}]`, `"${type}" is not supported`);
            return type;
          });
    let maximumConcurrency: number | undefined;
    if (props.ScalingConfig !== undefined) {
      const scaling = r.object(props.ScalingConfig, 'ScalingConfig');
      r.onlyKnown(scaling, 'ScalingConfig', { accepted: ['MaximumConcurrency'], ignored: {} });
      if (scaling.MaximumConcurrency !== undefined) {
        maximumConcurrency = r.integer(scaling.MaximumConcurrency, 'ScalingConfig.MaximumConcurrency', 2);
      }
    }
    return {
      logicalId,
      queueLogicalId: source[0],
      target,
      enabled: props.Enabled === undefined ? true : r.boolean(props.Enabled, 'Enabled'),
      batchSize: props.BatchSize === undefined ? 10 : r.integer(props.BatchSize, 'BatchSize', 1),
      ...(maximumConcurrency !== undefined && { maximumConcurrency }),
      reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
      ...(props.MaximumBatchingWindowInSeconds !== undefined && {
        maximumBatchingWindowSeconds: r.integer(
          props.MaximumBatchingWindowInSeconds,
          'MaximumBatchingWindowInSeconds',
          0,
        ),
      }),
    };
  });

  const schedules: LocalSchedule[] = ids('AWS::Events::Rule').flatMap((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const props = propsOf(logicalId);
    r.onlyKnown(props, '', RULE_PROPERTIES);
    const expression = r.string(r.required(props, 'ScheduleExpression'), 'ScheduleExpression');
    let everyMs: number | undefined;
    try {
      everyMs = parseScheduleExpression(expression);
    } catch (error) {
      r.fail('ScheduleExpression', (error as Error).message);
    }
    const state = props.State === undefined ? 'ENABLED' : r.string(props.State, 'State');
    if (state !== 'ENABLED' && state !== 'DISABLED') r.fail('State', `"${state}" is not supported`);
    const targets = r.array(r.required(props, 'Targets'), 'Targets');
    if (targets.length === 0) r.fail('Targets', 'must have a target');
    return targets.map((item, i): LocalSchedule => {
      const at = `Targets[${i}]`;
      const t = r.object(item, at);
      r.onlyKnown(t, at, { accepted: ['Arn', 'Id', 'Input'], ignored: {} });
      let input: unknown;
      if (t.Input !== undefined) {
        try {
          input = JSON.parse(r.string(t.Input, `${at}.Input`));
        } catch {
          r.fail(`${at}.Input`, 'must be a JSON string');
        }
      }
      return {
        logicalId,
        targetId: r.string(r.required(t, 'Id', at), `${at}.Id`),
        expression,
        ...(everyMs !== undefined && { everyMs }),
        enabled: state === 'ENABLED',
        target: targetOf(r, r.required(t, 'Arn', at), `${at}.Arn`),
        ...(t.Input !== undefined && { input }),
      };
    });
  });

  const urls: LocalFunctionUrl[] = ids('AWS::Lambda::Url').map((logicalId) => {
    const r: ResourceReader = reader(logicalId);
    const props = propsOf(logicalId);
    r.onlyKnown(props, '', URL_PROPERTIES);
    let target = targetOf(r, r.required(props, 'TargetFunctionArn'), 'TargetFunctionArn');
    if (props.Qualifier !== undefined) {
      const qualifier = r.string(props.Qualifier, 'Qualifier');
      if (target.alias !== undefined && target.alias !== qualifier) {
        r.fail('Qualifier', `"${qualifier}" contradicts TargetFunctionArn’s alias "${target.alias}"`);
      }
      target = qualified(r, 'Qualifier', target.functionLogicalId, qualifier);
    }
    const authType = r.string(r.required(props, 'AuthType'), 'AuthType');
    if (authType !== 'AWS_IAM' && authType !== 'NONE') r.fail('AuthType', `"${authType}" is not supported`);
    if (props.InvokeMode !== undefined && props.InvokeMode !== 'BUFFERED') {
      r.fail('InvokeMode', `${JSON.stringify(props.InvokeMode)} is not supported (only BUFFERED)`);
    }
    return { logicalId, target, authType };
  });

  const cellId = cellIdOf(input, resources);
  const kind = stackName === ROUTER_STACK ? 'router' : cellId !== undefined ? 'cell' : undefined;
  if (!kind) {
    throw new AssemblyReadError(
      `stack ${stackName} is neither the router (${ROUTER_STACK}) nor a cell (no ${TAG_CELL} tag, not named ${CELL_STACK_PREFIX}<id>)`,
    );
  }
  return {
    stackName,
    kind,
    ...(kind === 'cell' && { cellId }),
    ...(input.account && { account: input.account }),
    ...(input.region && { region: input.region }),
    templateFile: input.templateFile,
    tables,
    queues,
    functions,
    versions,
    aliases,
    eventSources,
    schedules,
    urls,
    ignored,
  };
}

// ---------------------------------------------------------------------------------------------
// Schedules and environments
// ---------------------------------------------------------------------------------------------

const RATE_UNITS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * The period of a `rate(...)` expression in milliseconds; `undefined` for a valid `cron(...)`.
 * Throws on anything EventBridge would refuse (e.g. `rate(1 minutes)`, `rate(5 minute)`).
 */
export function parseScheduleExpression(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2].replace(/s$/, '');
    if (value < 1) throw new Error(`"${expression}": the rate must be at least 1`);
    if ((value === 1) !== (rate[2] === unit)) {
      throw new Error(`"${expression}": use "${unit}" for 1 and "${unit}s" otherwise`);
    }
    return value * RATE_UNITS[unit];
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron && cron[1].trim().split(/\s+/).length === 6) return undefined;
  throw new Error(`"${expression}" is neither rate(<n> <unit>) nor cron(<6 fields>)`);
}

/** Resolves a reference to its local value; `undefined` (or a throw) when it cannot. */
export type EnvResolver = (ref: EnvRef) => string | undefined;

/**
 * The function's environment with every reference resolved to the local resources. Throws
 * {@link EnvironmentResolutionError}, naming the variable and the reference, on the first one the
 * resolver cannot resolve.
 */
export function resolveEnvironment(fn: LocalFunction, resolver: EnvResolver): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [variable, value] of Object.entries(fn.environment)) {
    const resolve = (v: EnvValue): string => {
      if (typeof v === 'string') return v;
      if ('join' in v) return v.join.parts.map(resolve).join(v.join.delimiter);
      let result: string | undefined;
      try {
        result = resolver(v.ref);
      } catch (error) {
        throw new EnvironmentResolutionError(fn.name, variable, v.ref, (error as Error).message);
      }
      if (typeof result !== 'string') {
        throw new EnvironmentResolutionError(fn.name, variable, v.ref, 'the resolver has no value for it');
      }
      return result;
    };
    resolved[variable] = resolve(value);
  }
  return resolved;
}
