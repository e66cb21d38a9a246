import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Construct } from 'constructs';

import { CELL_TABLE_PROPS, SYNC_DLQ_PROPS, SYNC_QUEUE_PROPS } from '../../../harness/local-aws';
import { resolveFleet } from '../../../lib/config/validate';
import { INTEGRATIONS_FILE } from '../../../lib/contracts/integrations';
import {
  cellApiFunctionName,
  CELL_REGISTRY_TABLE,
  RELEASES_TABLE,
  ROUTER_LIMITS_TABLE,
  ROUTES_TABLE,
} from '../../../lib/contracts/names';
import { addBulkheadStacks } from '../../../lib/infra/bulkhead-app';
import { EnvironmentResolutionError, resolveEnvironment } from '../../../lib/local/assembly/environment';
import {
  UnsupportedResourceError,
  type EnvRef,
  type LocalAssembly,
  type LocalFunction,
  type LocalStack,
} from '../../../lib/local/assembly/model';
import { IGNORED_TYPES } from '../../../lib/local/assembly/stack-model';
import { readAssembly } from '../../../lib/local/assembly/template-model';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Template = { Resources: Record<string, Resource> };

const FLEET = {
  defaults: { account: '111111111111', region: 'us-east-1' },
  cells: [
    {
      id: 'tm-a',
      wave: 0,
      maxTenants: 10,
      tenants: [
        { id: 'leafy', integration: { baseUrl: 'https://metrc.example', ratePerSecond: 5, burst: 2 } },
      ],
    },
    { id: 'tm-b', wave: 1, maxTenants: 10, tenants: ['budding'] },
  ],
};

let tmp: string;
let outdir: string;
let assembly: LocalAssembly;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-template-model-'));
  outdir = path.join(tmp, 'cdk.out');
  const app = new App({ outdir });
  addBulkheadStacks(app, { fleet: resolveFleet(FLEET, 'test fleet'), release: 'v-test', nag: false });
  app.synth();
  assembly = readAssembly(outdir);
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function cell(id: string): LocalStack {
  const found = assembly.cells.find((c) => c.cellId === id);
  if (!found) throw new Error(`no cell ${id}`);
  return found;
}
const byId = <T extends { logicalId: string }>(items: readonly T[], prefix: string): T => {
  const found = items.filter((i) => i.logicalId.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${prefix}, found ${found.length}`);
  return found[0];
};

/** A copy of the assembly (asset folders linked, not copied) with one template edited. */
function editedCopy(stackName: string, edit: (template: Template) => void): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'copy-'));
  for (const entry of fs.readdirSync(outdir, { withFileTypes: true })) {
    const from = path.join(outdir, entry.name);
    if (entry.isDirectory()) fs.symlinkSync(from, path.join(dir, entry.name), 'dir');
    else fs.copyFileSync(from, path.join(dir, entry.name));
  }
  const file = path.join(dir, `${stackName}.template.json`);
  const template = JSON.parse(fs.readFileSync(file, 'utf8')) as Template;
  edit(template);
  fs.writeFileSync(file, JSON.stringify(template));
  return dir;
}
function entryOfType(template: Template, type: string, prefix = ''): [string, Resource] {
  const entry = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === type && id.startsWith(prefix),
  );
  if (!entry) throw new Error(`no ${type} ${prefix}`);
  return entry;
}
function resourceOfType(template: Template, type: string, prefix = ''): Record<string, unknown> {
  return entryOfType(template, type, prefix)[1].Properties!;
}
function synthesizedTemplate(stackName: string): Template {
  return JSON.parse(fs.readFileSync(path.join(outdir, `${stackName}.template.json`), 'utf8')) as Template;
}
/** Resources as CDK synthesizes them (logical ids hashed from their construct path), outside the app. */
function synthesizedResources(define: (scope: Construct) => void): Template['Resources'] {
  const app = new App({ outdir: fs.mkdtempSync(path.join(tmp, 'snippet-')) });
  const stack = new Stack(app, 'Snippet');
  define(new Construct(stack, 'Extra'));
  return (app.synth().getStackByName('Snippet').template as Template).Resources;
}
function unsupported(action: () => unknown): UnsupportedResourceError {
  try {
    action();
  } catch (error) {
    if (error instanceof UnsupportedResourceError) return error;
    throw error;
  }
  throw new Error('expected an UnsupportedResourceError');
}

/** A resolver standing in for the local platform: names every table and queue of the stack. */
function fakeResolver(stack: LocalStack): (ref: EnvRef) => string | undefined {
  return (ref) => {
    const table = stack.tables.find((t) => t.logicalId === ref.logicalId);
    if (ref.kind === 'table' && table) return table.tableName;
    const queue = stack.queues.find((q) => q.logicalId === ref.logicalId);
    if (ref.kind === 'queue-url' && queue) return `http://127.0.0.1:9324/000000000000/${queue.queueName}`;
    if (ref.kind === 'version') return `arn:local:${ref.logicalId}`;
    return undefined;
  };
}

describe('readAssembly', () => {
  it('finds the router and the cells through manifest.json', () => {
    expect(assembly.dir).toBe(outdir);
    expect(assembly.router.stackName).toBe('Bulkhead-Router');
    expect(assembly.router.kind).toBe('router');
    expect(assembly.cells.map((c) => [c.stackName, c.kind, c.cellId])).toEqual([
      ['Bulkhead-Cell-tm-a', 'cell', 'tm-a'],
      ['Bulkhead-Cell-tm-b', 'cell', 'tm-b'],
    ]);
    expect(assembly.stacks).toHaveLength(3);
    expect(cell('tm-a')).toMatchObject({ account: '111111111111', region: 'us-east-1' });
  });

  it.each(['tm-a', 'tm-b'])('models cell %s’s table with its indexes and TTL', (id) => {
    const { tables, stackName } = cell(id);
    expect(tables).toHaveLength(1);
    const [table] = tables;
    expect(table.tableName).toBe(`${stackName}-${table.logicalId}`);
    expect(table.properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    const indexes = (table.properties.GlobalSecondaryIndexes as { IndexName: string }[]).map(
      (i) => i.IndexName,
    );
    expect(indexes).toEqual(['byStatus', 'pending', 'unverified']);
  });

  it.each(['tm-a', 'tm-b'])('models cell %s’s sync queue and its dead-letter queue', (id) => {
    const { queues, stackName } = cell(id);
    expect(queues).toHaveLength(2);
    const dlq = byId(queues, 'SyncDeadLetterQueue');
    const queue = byId(queues, 'SyncQueue');
    expect(queue.deadLetterLogicalId).toBe(dlq.logicalId);
    expect(dlq.deadLetterLogicalId).toBeUndefined();
    expect(queue.queueName).toBe(`${stackName}-${queue.logicalId}`);
    expect(queue.properties).toMatchObject({ VisibilityTimeout: 180 });
  });

  it.each(['tm-a', 'tm-b'])('models cell %s’s four functions with their bundled handlers', (id) => {
    const { functions } = cell(id);
    expect(functions.map((f) => f.logicalId.replace(/[0-9A-F]{8}$/, ''))).toEqual([
      'Api',
      'SyncWorker',
      'Reconciler',
      'PreTrafficHook',
    ]);
    for (const fn of functions) {
      expect(fs.existsSync(fn.handlerFile)).toBe(true);
      expect(fn.handlerFile).toBe(path.join(fn.codeDir, 'index.js'));
      expect(path.dirname(fn.codeDir)).toBe(outdir);
      expect(fn.handlerExport).toBe('handler');
      expect(fn.runtime).toMatch(/^nodejs/);
      expect(fn.memoryMb).toBe(512);
    }
    const api = byId(functions, 'Api');
    expect(api.name).toBe(cellApiFunctionName(id));
    expect(api.timeoutSeconds).toBe(10);
    expect(byId(functions, 'SyncWorker').name).toBe(byId(functions, 'SyncWorker').logicalId);
  });

  it('resolves the API function’s environment to the local resources', () => {
    const stack = cell('tm-a');
    const env = resolveEnvironment(byId(stack.functions, 'Api'), fakeResolver(stack));
    expect(env).toMatchObject({
      CELL_ID: 'tm-a',
      TABLE_NAME: stack.tables[0].tableName,
      QUEUE_URL: `http://127.0.0.1:9324/000000000000/${byId(stack.queues, 'SyncQueue').queueName}`,
      DLQ_URL: `http://127.0.0.1:9324/000000000000/${byId(stack.queues, 'SyncDeadLetterQueue').queueName}`,
      RELEASE: 'v-test',
    });
    expect(env).not.toHaveProperty('INTEGRATIONS');
    // The pre-traffic hook is pointed at the version being released.
    const hook = resolveEnvironment(byId(stack.functions, 'PreTrafficHook'), fakeResolver(stack));
    expect(hook.TARGET_FUNCTION_ARN).toBe(`arn:local:${byId(stack.versions, 'ApiCurrentVersion').logicalId}`);
  });

  it('bundles each cell’s own integrations beside the handlers that read them, never a shared bundle', () => {
    const bundled = (id: string, fn: string) => {
      const file = path.join(byId(cell(id).functions, fn).codeDir, INTEGRATIONS_FILE);
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as unknown) : 'none';
    };
    const leafy = {
      leafy: {
        baseUrl: 'https://metrc.example',
        ratePerSecond: 5,
        burst: 2,
        apiKeySecret: 'bulkhead/compliance/leafy',
        // The fleet's defaults, and the one facility's whole share of the GET limits.
        licenseNumber: 'leafy',
        timeZone: 'UTC',
        vendorKeySecret: 'bulkhead/compliance/vendor',
        batchSize: 10,
        readRatePerSecond: 45,
        readBurst: 10,
      },
    };
    for (const fn of ['Api', 'SyncWorker', 'Reconciler']) {
      expect(bundled('tm-a', fn)).toEqual(leafy);
      expect(bundled('tm-b', fn)).toEqual({});
    }
    expect(bundled('tm-a', 'PreTrafficHook')).toBe('none');
  });

  it('models the `live` aliases, their versions and the pre-traffic hook', () => {
    const { aliases, versions, functions } = cell('tm-a');
    expect(aliases).toHaveLength(3);
    for (const alias of aliases) {
      expect(alias.name).toBe('live');
      expect(alias.deploymentGroup).toBe(true);
      const version = versions.find((v) => v.logicalId === alias.versionLogicalId);
      expect(version?.functionLogicalId).toBe(alias.functionLogicalId);
    }
    const api = byId(functions, 'Api');
    const apiAlias = aliases.find((a) => a.functionLogicalId === api.logicalId);
    expect(apiAlias?.preTrafficHookLogicalId).toBe(byId(functions, 'PreTrafficHook').logicalId);
  });

  it('reads each alias’s latency limit from its deployment group’s p99 alarm, not one limit for all', () => {
    const { aliases, functions } = cell('tm-a');
    const limitOf = (prefix: string) =>
      aliases.find((a) => a.functionLogicalId === byId(functions, prefix).logicalId)?.releaseLimits;
    expect(limitOf('Api')).toEqual({ p99DurationMs: 3000 });
    expect(limitOf('SyncWorker')).toEqual({ p99DurationMs: 24_000 });
    expect(limitOf('Reconciler')).toEqual({ p99DurationMs: 54_000 });
  });

  it('gives no latency limit to a group whose alarms are off, as CodeDeploy then ignores them', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      const group = resourceOfType(t, 'AWS::CodeDeploy::DeploymentGroup', 'ReconcilerRelease');
      (group.AlarmConfiguration as { Enabled: boolean }).Enabled = false;
    });
    const stack = readAssembly(dir).cells.find((c) => c.cellId === 'tm-a')!;
    const reconciler = byId(stack.functions, 'Reconciler').logicalId;
    expect(stack.aliases.find((a) => a.functionLogicalId === reconciler)?.releaseLimits).toEqual({});
  });

  it('models the sync event source on the worker’s alias', () => {
    const { eventSources, queues, functions } = cell('tm-b');
    expect(eventSources).toEqual([
      {
        logicalId: expect.any(String),
        queueLogicalId: byId(queues, 'SyncQueue').logicalId,
        target: { functionLogicalId: byId(functions, 'SyncWorker').logicalId, alias: 'live' },
        enabled: true,
        batchSize: 100,
        maximumBatchingWindowSeconds: 1,
        maximumConcurrency: 5,
        reportBatchItemFailures: true,
      },
    ]);
  });

  it('models the reconciler schedule on the reconciler’s alias', () => {
    const { schedules, functions } = cell('tm-a');
    expect(schedules).toEqual([
      {
        logicalId: expect.stringMatching(/^ReconcileSchedule/),
        targetId: 'Target0',
        expression: 'rate(5 minutes)',
        everyMs: 300_000,
        enabled: true,
        target: { functionLogicalId: byId(functions, 'Reconciler').logicalId, alias: 'live' },
      },
    ]);
  });

  it('models the Function URL on the API’s alias', () => {
    const { urls, functions } = cell('tm-a');
    expect(urls).toEqual([
      {
        logicalId: expect.any(String),
        target: { functionLogicalId: byId(functions, 'Api').logicalId, alias: 'live' },
        authType: 'AWS_IAM',
      },
    ]);
  });

  it('accounts for every resource: modelled, or ignored with a reason', () => {
    for (const stack of assembly.stacks) {
      const template = JSON.parse(fs.readFileSync(stack.templateFile, 'utf8')) as Template;
      const modelled = [
        ...stack.tables,
        ...stack.queues,
        ...stack.functions,
        ...stack.versions,
        ...stack.aliases,
        ...stack.eventSources,
        ...new Set(stack.schedules.map((s) => s.logicalId)).values(),
        ...stack.urls,
      ].map((r) => (typeof r === 'string' ? r : r.logicalId));
      const ignored = stack.ignored.map((i) => i.logicalId);
      expect([...modelled, ...ignored].sort()).toEqual(Object.keys(template.Resources).sort());
      for (const item of stack.ignored) {
        expect(item.type).toBe(template.Resources[item.logicalId].Type);
        expect(item.reason.length).toBeGreaterThan(5);
      }
    }
    const { ignored } = cell('tm-a');
    const types = new Set(ignored.map((i) => i.type));
    for (const type of [
      'AWS::IAM::Role',
      'AWS::KMS::Key',
      'AWS::Logs::LogGroup',
      'AWS::CloudWatch::Alarm',
      'AWS::CodeDeploy::DeploymentGroup',
      'AWS::Backup::BackupPlan',
      'AWS::Lambda::Permission',
      'AWS::SQS::QueuePolicy',
    ]) {
      expect(types).toContain(type);
      expect(ignored.find((i) => i.type === type)?.reason).toBe(IGNORED_TYPES[type]);
    }
    expect(ignored.find((i) => i.type === 'Custom::AWS')?.reason).toMatch(/registr/);
    expect(ignored.find((i) => i.type === 'AWS::Lambda::Function')).toMatchObject({
      logicalId: expect.stringMatching(/^AWS679f53fa/),
      reason: expect.stringMatching(/provider/),
    });
  });

  it('models the router: fixed table names, the router function and its alias, its pre-traffic hook', () => {
    const { router } = assembly;
    expect(router.tables.map((t) => t.tableName).sort()).toEqual(
      [CELL_REGISTRY_TABLE, RELEASES_TABLE, ROUTER_LIMITS_TABLE, ROUTES_TABLE].sort(),
    );
    expect(router.functions.map((f) => f.logicalId)).toEqual([
      expect.stringMatching(/^Router[0-9A-F]{8}$/),
      expect.stringMatching(/^RouterPreTrafficHook/),
    ]);
    const fn = router.functions[0];
    expect(router.aliases).toEqual([
      expect.objectContaining({ functionLogicalId: fn.logicalId, name: 'live' }),
    ]);
    const env = resolveEnvironment(fn, fakeResolver(router));
    expect(env).toMatchObject({
      ROUTES_TABLE,
      REGISTRY_TABLE: CELL_REGISTRY_TABLE,
      LIMITS_TABLE: ROUTER_LIMITS_TABLE,
    });
    expect(fn.reservedConcurrency).toBe(100);
    expect(router.ignored.map((i) => i.type)).toEqual(
      expect.arrayContaining([
        'AWS::ApiGatewayV2::Api',
        'AWS::ApiGatewayV2::Route',
        'AWS::ApiGatewayV2::Stage',
      ]),
    );
    expect(router.queues).toEqual([]);
    expect(router.urls).toEqual([]);
  });

  it('finds stacks by the manifest, not by file name', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-b', () => undefined);
    fs.renameSync(path.join(dir, 'Bulkhead-Cell-tm-b.template.json'), path.join(dir, 'renamed.json'));
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
      artifacts: Record<string, { properties?: { templateFile?: string } }>;
    };
    manifest.artifacts['Bulkhead-Cell-tm-b'].properties!.templateFile = 'renamed.json';
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(readAssembly(dir).cells.map((c) => c.cellId)).toEqual(['tm-a', 'tm-b']);
  });
});

describe('readAssembly on a template the local platform cannot reproduce', () => {
  it('names an unsupported resource type', () => {
    const extra = synthesizedResources((scope) => new ec2.CfnVPC(scope, 'Vpc', { cidrBlock: '10.0.0.0/16' }));
    const [vpcId] = Object.keys(extra);
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => Object.assign(t.Resources, extra));
    const error = unsupported(() => readAssembly(dir));
    expect(error).toMatchObject({
      stackName: 'Bulkhead-Cell-tm-a',
      logicalId: vpcId,
      resourceType: 'AWS::EC2::VPC',
    });
    expect(error.message).toContain(`Bulkhead-Cell-tm-a/${vpcId} (AWS::EC2::VPC)`);
  });

  it.each([
    ['AWS::Lambda::Function', 'Api', 'Layers', ['arn:aws:lambda:us-east-1:111111111111:layer:x:1']],
    ['AWS::Lambda::Function', 'SyncWorker', 'VpcConfig', { SubnetIds: ['subnet-1'] }],
    ['AWS::Lambda::Function', 'Reconciler', 'FileSystemConfigs', []],
    ['AWS::Lambda::EventSourceMapping', '', 'FilterCriteria', { Filters: [{ Pattern: '{}' }] }],
    ['AWS::Events::Rule', '', 'EventPattern', { source: ['x'] }],
    ['AWS::Lambda::Url', '', 'Cors', { AllowOrigins: ['*'] }],
    ['AWS::DynamoDB::Table', '', 'StreamSpecificationX', {}],
    ['AWS::SQS::Queue', 'SyncQueue', 'ContentBasedDeduplication', true],
  ])('names the unsupported property %s %s.%s', (type, prefix, property, value) => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      resourceOfType(t, type, prefix)[property] = value;
    });
    const error = unsupported(() => readAssembly(dir));
    expect(error.resourceType).toBe(type);
    expect(error.property).toBe(property);
    expect(error.message).toContain(property);
  });

  it('refuses reservations that leave less of the account’s concurrency unreserved than Lambda keeps', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      resourceOfType(t, 'AWS::Lambda::Function', 'Api').ReservedConcurrentExecutions = 801;
    });
    // The router's 100 and this 801, in one account and region: 901 of the default 1,000, 100 kept back.
    expect(() => readAssembly(dir)).toThrow(
      /reserved concurrency in \S+ us-east-1 is 901 \(.*Router[0-9A-F]{8} \(100\), Bulkhead-Cell-tm-a\/Api\S* \(801\)\).*at most 900 may be reserved/,
    );
  });

  it('names an alias whose deployment group is not one of the stack', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      const [, alias] = entryOfType(t, 'AWS::Lambda::Alias', 'ReconcilerRelease');
      const policy = (
        alias as unknown as { UpdatePolicy: { CodeDeployLambdaAliasUpdate: Record<string, unknown> } }
      ).UpdatePolicy.CodeDeployLambdaAliasUpdate;
      policy.DeploymentGroupName = 'a-group-of-another-stack';
    });
    const error = unsupported(() => readAssembly(dir));
    expect(error.property).toBe('UpdatePolicy.CodeDeployLambdaAliasUpdate.DeploymentGroupName');
    expect(error.message).toContain('must reference an AWS::CodeDeploy::DeploymentGroup of this stack');
  });

  it('refuses an AwsCustomResource call other than the cell registration', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      const props = resourceOfType(t, 'Custom::AWS');
      props.Create = JSON.stringify({ service: 'SSM', action: 'putParameter', parameters: { Name: 'x' } });
    });
    expect(unsupported(() => readAssembly(dir)).message).toMatch(/Registration.*Custom::AWS/);
  });

  it('still reads a function whose environment lost a variable (the handler reports it when it loads)', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      const env = resourceOfType(t, 'AWS::Lambda::Function', 'Api').Environment as {
        Variables: Record<string, unknown>;
      };
      delete env.Variables.TABLE_NAME;
    });
    const api = byId(readAssembly(dir).cells[0].functions, 'Api');
    expect(api.environment).not.toHaveProperty('TABLE_NAME');
    expect(api.environment).toHaveProperty('QUEUE_URL');
  });

  it('names the variable and the target of a reference to nothing', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      const env = resourceOfType(t, 'AWS::Lambda::Function', 'Api').Environment as {
        Variables: Record<string, unknown>;
      };
      env.Variables.TABLE_NAME = { Ref: 'Nope' };
    });
    const error = unsupported(() => readAssembly(dir));
    expect(error.property).toBe('Environment.Variables.TABLE_NAME');
    expect(error.message).toContain('Nope');
  });

  it('names a reference to a resource with no local counterpart', () => {
    const [keyId] = entryOfType(synthesizedTemplate('Bulkhead-Cell-tm-a'), 'AWS::KMS::Key');
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      const env = resourceOfType(t, 'AWS::Lambda::Function', 'Api').Environment as {
        Variables: Record<string, unknown>;
      };
      env.Variables.KEY_ARN = { 'Fn::GetAtt': [keyId, 'Arn'] };
    });
    expect(unsupported(() => readAssembly(dir)).message).toContain(
      `Environment.Variables.KEY_ARN: references ${keyId} (AWS::KMS::Key), which has no local counterpart`,
    );
  });

  it('refuses a cron() schedule by name: the local platform runs rate() schedules only', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      resourceOfType(t, 'AWS::Events::Rule').ScheduleExpression = 'cron(0/10 * * * ? *)';
    });
    const error = unsupported(() => readAssembly(dir));
    expect(error).toMatchObject({ resourceType: 'AWS::Events::Rule', property: 'ScheduleExpression' });
    expect(error.message).toContain('unsupported locally: cron(0/10 * * * ? *)');
  });

  it('refuses a schedule expression EventBridge refuses, naming it', () => {
    const dir = editedCopy('Bulkhead-Cell-tm-a', (t) => {
      resourceOfType(t, 'AWS::Events::Rule').ScheduleExpression = 'rate(5 minute)';
    });
    expect(unsupported(() => readAssembly(dir)).message).toMatch(
      /ScheduleExpression: invalid schedule expression 'rate\(5 minute\)': use rate\(5 minutes\)/,
    );
  });
});

describe('resolveEnvironment', () => {
  it('throws naming the variable and the reference the resolver cannot resolve', () => {
    const stack = cell('tm-a');
    const api = byId(stack.functions, 'Api');
    const broken: LocalFunction = {
      ...api,
      environment: { ...api.environment, TABLE_NAME: { ref: { kind: 'table', logicalId: 'Nope' } } },
    };
    expect(() => resolveEnvironment(broken, fakeResolver(stack))).toThrow(EnvironmentResolutionError);
    expect(() => resolveEnvironment(broken, fakeResolver(stack))).toThrow(/TABLE_NAME.*Nope/);
    expect(() =>
      resolveEnvironment(broken, (ref) => {
        if (ref.logicalId === 'Nope') throw new Error('no such table');
        return fakeResolver(stack)(ref);
      }),
    ).toThrow(/TABLE_NAME references table Nope.*no such table/);
  });

  it('resolves joins of references', () => {
    const fn: LocalFunction = {
      ...byId(cell('tm-a').functions, 'Api'),
      environment: {
        ARN: {
          join: {
            delimiter: '',
            parts: ['arn:aws:dynamodb:', { ref: { kind: 'stack-attr', logicalId: 'AWS::Region' } }, ':table'],
          },
        },
      },
    };
    expect(resolveEnvironment(fn, (ref) => (ref.logicalId === 'AWS::Region' ? 'local' : undefined))).toEqual({
      ARN: 'arn:aws:dynamodb:local:table',
    });
  });
});

describe('the shared fixtures of the local AWS tests', () => {
  // harness/local-aws.ts copies the cell's table and queues; a change to the stack must show there too.
  it('match the cell table and sync queues as synthesized (but for tags and the KMS key)', () => {
    const template = synthesizedTemplate('Bulkhead-Cell-tm-a');
    const keyArn = { 'Fn::GetAtt': [entryOfType(template, 'AWS::KMS::Key')[0], 'Arn'] };
    const untagged = (props: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(props).filter(([key]) => key !== 'Tags'));
    expect(untagged(resourceOfType(template, 'AWS::DynamoDB::Table'))).toEqual({
      ...CELL_TABLE_PROPS,
      SSESpecification: { ...CELL_TABLE_PROPS.SSESpecification, KMSMasterKeyId: keyArn },
    });
    const [dlqId, dlq] = entryOfType(template, 'AWS::SQS::Queue', 'SyncDeadLetterQueue');
    expect(untagged(dlq.Properties!)).toEqual({ ...SYNC_DLQ_PROPS, KmsMasterKeyId: keyArn });
    const queue = untagged(resourceOfType(template, 'AWS::SQS::Queue', 'SyncQueue'));
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: expect.any(Number),
    });
    // The fixture lowers maxReceiveCount so a test sees a redrive after two receives.
    expect({ ...queue, RedrivePolicy: undefined }).toEqual({
      ...SYNC_QUEUE_PROPS,
      KmsMasterKeyId: keyArn,
      RedrivePolicy: undefined,
    });
  });
});
