/**
 * Models one stack of the assembly. Every resource type is either modelled or listed in
 * {@link IGNORED_TYPES} with the reason it has no local effect, and every property of a modelled
 * resource is either understood or listed as ignored with a reason. Anything else fails by name
 * (stack, logical id, type, property), never silently.
 */
import { cellStackName, CELL_REGISTRY_TABLE, ROUTER_STACK, TAG_CELL } from '../../contracts/names';

import { envValueOf } from './environment';
import { type AssetLookup, InvokeTargets, modelAliases, modelFunctions, modelVersions } from './functions';
import { modelIam } from './iam-model';
import {
  AssemblyReadError,
  type IgnoredResource,
  type LocalCustomResource,
  type LocalStack,
  UnsupportedResourceError,
} from './model';
import type { PropertyReader } from './property-reader';
import { type CfnResource, type CfnTemplate, getAttOf, literalText, StackTemplate } from './stack-template';
import { modelQueues, modelTables } from './tables-and-queues';
import { modelEventSources, modelSchedules, modelUrls } from './triggers';

/** Resource types with no local effect, each with why. Any type neither here nor modelled fails. */
export const IGNORED_TYPES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role':
    'no process of its own: read into the stack’s IAM model (iam-model.ts), its sessions sign every call',
  'AWS::IAM::Policy': 'no process of its own: read into the stack’s IAM model, enforced on every local call',
  'AWS::IAM::ManagedPolicy':
    'no process of its own: read into the stack’s IAM model (CDK moves statements here when a role’s inline policy grows too large)',
  'AWS::KMS::Key':
    'encryption at rest is not emulated; its key policy is read into the IAM model and every use of the key is authorized',
  'AWS::KMS::Alias': 'encryption at rest is not emulated locally',
  'AWS::Logs::LogGroup': 'function logs go to the local platform’s output',
  'AWS::CloudWatch::Alarm':
    'CloudWatch metrics and alarms are not emulated; the local release flow checks health itself',
  'AWS::CloudWatch::Dashboard': 'CloudWatch is not emulated; the local status page shows each cell',
  'AWS::SNS::Topic': 'alarm notifications: CloudWatch alarms are not emulated, so nothing would publish',
  'AWS::SNS::TopicPolicy':
    'alarm notifications: CloudWatch alarms are not emulated, so nothing would publish',
  'AWS::SNS::Subscription':
    'alarm notifications: CloudWatch alarms are not emulated, so nothing would publish',
  'AWS::CodeDeploy::Application': 'traffic shifting is done by the local platform on the alias weights',
  'AWS::CodeDeploy::DeploymentConfig': 'traffic shifting is done by the local platform on the alias weights',
  'AWS::CodeDeploy::DeploymentGroup': 'traffic shifting is done by the local platform on the alias weights',
  'AWS::Backup::BackupVault': 'AWS Backup is not emulated; local data lives in the cell’s DynamoDB Local',
  'AWS::Backup::BackupPlan': 'AWS Backup is not emulated; local data lives in the cell’s DynamoDB Local',
  'AWS::Backup::BackupSelection': 'AWS Backup is not emulated; local data lives in the cell’s DynamoDB Local',
  'AWS::Lambda::Permission':
    'read into the IAM model as the function’s resource policy, enforced on its URL and its invokers',
  'AWS::SQS::QueuePolicy': 'read into the IAM model as the queue’s resource policy, enforced on every call',
  'AWS::ApiGatewayV2::Api': 'the local router is served over HTTP directly',
  'AWS::ApiGatewayV2::Stage': 'the local router is served over HTTP directly',
  'AWS::ApiGatewayV2::Route': 'the local router is served over HTTP directly',
  'AWS::ApiGatewayV2::Integration': 'the local router is served over HTTP directly',
  'AWS::CDK::Metadata': 'CDK usage reporting, no runtime effect',
};

const REGISTRATION_REASON =
  'cell registration in the router’s registry: run at start-up (customResources), as its provider’s role, through the role it assumes';
const PROVIDER_REASON =
  'the AwsCustomResource provider of the cell registration: its role makes the registration’s call, its code is not run';

const MODELLED_TYPES: readonly string[] = [
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
  'AWS::Lambda::Version',
  'AWS::Lambda::Alias',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Events::Rule',
  'AWS::Lambda::Url',
];

/** Resource attributes (beside `Type` and `Properties`) with no local effect. */
const IGNORED_RESOURCE_ATTRIBUTES = ['DependsOn', 'Metadata', 'DeletionPolicy', 'UpdateReplacePolicy'];

const CELL_STACK_PREFIX = cellStackName('');

/** What the stack's artifact in the manifest says about it, besides its template. */
export interface StackInput {
  readonly stackName: string;
  /** Absolute path of the template file. */
  readonly templateFile: string;
  readonly template: CfnTemplate;
  readonly assets: AssetLookup;
  readonly stackTags: Readonly<Record<string, string>>;
  readonly account?: string;
  readonly region?: string;
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

/** Sorts every resource into ignored (with why) or modelled; fails on one that is neither. */
function classify(input: StackInput): IgnoredResource[] {
  const resources = input.template.Resources ?? {};
  const unsupported = (logicalId: string, problem: string): never => {
    throw new UnsupportedResourceError(
      input.stackName,
      logicalId,
      resources[logicalId].Type,
      undefined,
      problem,
    );
  };
  const ignored: IgnoredResource[] = [];
  const ignore = (logicalId: string, reason: string): void => {
    ignored.push({ logicalId, type: resources[logicalId].Type, reason });
  };
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (typeof resource?.Type !== 'string') {
      throw new AssemblyReadError(`${input.templateFile}: resource ${logicalId} has no Type`);
    }
    if (resource.Type === 'Custom::AWS') {
      if (!isCellRegistration(resource)) {
        unsupported(
          logicalId,
          'is an AwsCustomResource call other than the cell registration; the local platform cannot run it',
        );
      }
      ignore(logicalId, REGISTRATION_REASON);
      const provider = getAttOf(resource.Properties?.ServiceToken);
      const isProvider = provider && resources[provider[0]]?.Type === 'AWS::Lambda::Function';
      if (isProvider && !ignored.some((i) => i.logicalId === provider[0]))
        ignore(provider[0], PROVIDER_REASON);
    } else if (resource.Type in IGNORED_TYPES) {
      ignore(logicalId, IGNORED_TYPES[resource.Type]);
    } else if (!MODELLED_TYPES.includes(resource.Type)) {
      unsupported(
        logicalId,
        'resource type is not supported by the local platform (neither modelled nor in IGNORED_TYPES)',
      );
    }
  }
  return ignored;
}

/** Fails on a resource attribute of a modelled resource the local platform does not understand. */
function checkAttributes(template: StackTemplate, ignoredIds: ReadonlySet<string>): void {
  for (const [logicalId, resource] of Object.entries(template.resources)) {
    if (ignoredIds.has(logicalId)) continue;
    const r = template.reader(logicalId);
    for (const attribute of Object.keys(resource)) {
      if (['Type', 'Properties', 'UpdatePolicy', ...IGNORED_RESOURCE_ATTRIBUTES].includes(attribute))
        continue;
      r.fail(attribute, 'is not supported by the local platform');
    }
    if (resource.UpdatePolicy !== undefined && resource.Type !== 'AWS::Lambda::Alias') {
      r.fail('UpdatePolicy', 'is not supported by the local platform on this type');
    }
  }
}

/** From the `bulkhead:cell` tag of the stack or of a resource, else from the stack name. */
function cellIdOf(input: StackInput): string | undefined {
  if (input.stackTags[TAG_CELL]) return input.stackTags[TAG_CELL];
  for (const resource of Object.values(input.template.Resources ?? {})) {
    const tags = resource.Properties?.Tags;
    if (!Array.isArray(tags)) continue;
    for (const tag of tags as unknown[]) {
      const { Key, Value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
      if (Key === TAG_CELL && typeof Value === 'string') return Value;
    }
  }
  const { stackName } = input;
  if (stackName.startsWith(CELL_STACK_PREFIX) && stackName.length > CELL_STACK_PREFIX.length) {
    return stackName.slice(CELL_STACK_PREFIX.length);
  }
  return undefined;
}

function kindOf(stackName: string, cellId: string | undefined): LocalStack['kind'] {
  if (stackName === ROUTER_STACK) return 'router';
  if (cellId !== undefined) return 'cell';
  throw new AssemblyReadError(
    `stack ${stackName} is neither the router (${ROUTER_STACK}) nor a cell (no ${TAG_CELL} tag, not named ${CELL_STACK_PREFIX}<id>)`,
  );
}

/** The cell registrations (the one `Custom::AWS` call classify() accepts), with their provider. */
function modelCustomResources(template: StackTemplate): LocalCustomResource[] {
  return Object.entries(template.resources)
    .filter(([, r]) => r.Type === 'Custom::AWS')
    .map(([logicalId, r]) => {
      const reader: PropertyReader = template.reader(logicalId);
      const props = r.Properties ?? {};
      const provider = getAttOf(props.ServiceToken);
      if (!provider || template.resources[provider[0]]?.Type !== 'AWS::Lambda::Function')
        reader.fail('ServiceToken', 'must be the Arn of the provider function of this stack');
      return {
        logicalId,
        providerLogicalId: provider[0],
        create: envValueOf(template, reader, reader.required(props, 'Create'), 'Create'),
        ...(props.Update !== undefined && { update: envValueOf(template, reader, props.Update, 'Update') }),
      };
    });
}

export function modelStack(input: StackInput): LocalStack {
  if (input.template.Transform !== undefined) {
    throw new AssemblyReadError(
      `${input.templateFile}: Transform ${JSON.stringify(input.template.Transform)} is not supported by the local platform`,
    );
  }
  const ignored = classify(input);
  const ignoredIds = new Set(ignored.map((i) => i.logicalId));
  const template = new StackTemplate(input.stackName, input.template, ignoredIds);
  checkAttributes(template, ignoredIds);
  const tables = modelTables(template);
  const queues = modelQueues(template);
  const functions = modelFunctions(template, input.assets);
  const versions = modelVersions(template);
  const aliases = modelAliases(template, versions);
  const targets = new InvokeTargets(template, versions, aliases);
  const eventSources = modelEventSources(template, targets);
  const schedules = modelSchedules(template, targets);
  const urls = modelUrls(template, targets);
  const cellId = cellIdOf(input);
  const kind = kindOf(input.stackName, cellId);
  const iam = modelIam(
    { stackName: input.stackName, tables, queues, functions, account: input.account, region: input.region },
    template.resources,
  );
  return {
    stackName: input.stackName,
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
    iam,
    customResources: modelCustomResources(template),
    ignored,
  };
}
