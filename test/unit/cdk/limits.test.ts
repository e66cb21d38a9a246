/**
 * The service limits `cdk synth` checks: Lambda's 4 KB environment (every house function), CloudFormation's
 * template sizes (every stack), and a cell at its largest, every tenant integrated, within all of them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { cellIntegrations } from '../../../lib/config/integrations';
import { MAX_TENANTS_PER_CELL, resolveFleet } from '../../../lib/config/validate';
import {
  CFN_TEMPLATE_S3_MAX_BYTES,
  HTTP_API_INTEGRATION_TIMEOUT_MS,
  IAM_MANAGED_POLICY_MAX_CHARS,
  IAM_ROLE_MANAGED_POLICIES_MAX,
  LAMBDA_ENVIRONMENT_MAX_BYTES,
} from '../../../lib/contracts/aws-limits';
import { ROUTER_STACK } from '../../../lib/contracts/names';
import { deployedEnvironmentBytes } from '../../../lib/infra/environment-size';
import { HouseFunction } from '../../../lib/infra/house-function';
import { TemplateSizeCheck } from '../../../lib/infra/template-size';

import { buildFleet } from './fixtures';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-limits-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** An app that bundles nothing (the checks read templates, not bundles). */
const unbundledApp = () =>
  new App({ outdir: fs.mkdtempSync(path.join(scratch, 'app-')), context: { [cxapi.BUNDLING_STACKS]: [] } });

/** What the template size check reported at the last synth of `app`, if anything. */
function sizeReport(app: App): { conclusion: string; violations: { severity: string }[] } | undefined {
  const file = path.join(app.outdir, 'validation-report.json');
  if (!fs.existsSync(file)) return undefined;
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    pluginReports: { pluginName: string; conclusion: string; violations: { severity: string }[] }[];
  };
  const plugin = report.pluginReports.find((r) => r.pluginName === 'bulkhead-template-size');
  return plugin && { conclusion: plugin.conclusion, violations: plugin.violations };
}

/** What the cell stack put in every cell function's environment before the integrations moved out. */
const fortyTenants = () =>
  resolveFleet({
    defaults: { account: '111111111111', region: 'us-east-1' },
    cells: [
      {
        id: 'use1-a',
        wave: 0,
        maxTenants: 40,
        tenants: Array.from({ length: 40 }, (_, i) => ({
          id: `dispensary-${String(i).padStart(2, '0')}`,
          integration: { baseUrl: 'https://sandbox-api-ca.metrc.com', ratePerSecond: 5, burst: 2 },
        })),
      },
    ],
  });

describe('the house function: Lambda environment at most 4 KB once deployed', () => {
  const types: Record<string, string> = {
    T1: 'AWS::DynamoDB::Table',
    Q1: 'AWS::SQS::Queue',
    V1: 'AWS::Lambda::Version',
  };
  const typeOf = (id: string) => types[id];

  test('plain values count as Lambda measures them: the JSON of the variables', () => {
    expect(deployedEnvironmentBytes({ A: 'b', CD: 'é' }, typeOf)).toBe(
      Buffer.byteLength(JSON.stringify({ A: 'b', CD: 'é' })),
    );
  });

  test('each reference counts at the longest value it can resolve to', () => {
    const size = (value: unknown) =>
      deployedEnvironmentBytes({ V: value }, typeOf, 'us-east-1') - '{"V":""}'.length;
    expect(size({ Ref: 'T1' })).toBe(255);
    expect(size({ Ref: 'Q1' })).toBe('https://sqs.us-east-1.amazonaws.com/111111111111/'.length + 80);
    expect(size({ Ref: 'V1' })).toBe(
      'arn:aws-us-gov:lambda:us-east-1:111111111111:function:'.length + 64 + 1 + 128,
    );
    expect(size({ 'Fn::Join': ['-', ['a', { Ref: 'T1' }]] })).toBe(2 + 255);
    expect(size({ Ref: 'Elsewhere' })).toBe(2048);
    expect(size({ 'Fn::Sub': '${T1}' })).toBe(2048);
  });

  test('the INTEGRATIONS variable of a 40-tenant cell, as it was, fails the synth naming the function, its size and the limit', () => {
    const app = unbundledApp();
    const stack = new Stack(app, 'Bulkhead-Cell-use1-a', {
      env: { account: '111111111111', region: 'us-east-1' },
    });
    const table = new dynamodb.Table(stack, 'Data', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    const queue = new sqs.Queue(stack, 'Queue');
    new HouseFunction(stack, 'SyncWorker', {
      entry: 'sync/handler.ts',
      description: 'the sync worker, configured the old way',
      environment: {
        CELL_ID: 'use1-a',
        TABLE_NAME: table.tableName,
        QUEUE_URL: queue.queueUrl,
        INTEGRATIONS: JSON.stringify(cellIntegrations(fortyTenants().cells[0])),
      },
    });
    expect(() => app.synth()).toThrow(
      /\[Bulkhead-Cell-use1-a\/SyncWorker\] the environment of Bulkhead-Cell-use1-a\/SyncWorker would be (\d+) bytes once deployed, over Lambda's 4096-byte \(4 KB\) limit/,
    );
  });
});

describe('every stack: CloudFormation template sizes', () => {
  const withTemplateOf = (bytes: number) => {
    const app = unbundledApp();
    const stack = new Stack(app, 'Bulkhead-Cell-big');
    new CfnResource(stack, 'Blob', { type: 'AWS::CloudFormation::WaitConditionHandle' }).addMetadata(
      'blob',
      'x'.repeat(bytes),
    );
    Validations.of(app).addPlugins(new TemplateSizeCheck());
    return app;
  };

  test('over 1 MB (what CloudFormation reads from S3) fails the synth, with the stack and its size', () => {
    const app = withTemplateOf(CFN_TEMPLATE_S3_MAX_BYTES);
    expect(() => app.synth()).toThrow(
      /ERROR the template of Bulkhead-Cell-big is 10\d{5} bytes, over the 1048576 bytes \(1 MB\) CloudFormation reads from S3/,
    );
    expect(sizeReport(app)).toEqual({
      conclusion: 'failure',
      violations: [expect.objectContaining({ severity: 'error' })],
    });
  });

  test('over 51,200 bytes (a request body) is a warning: the synth goes on', () => {
    const app = withTemplateOf(60_000);
    expect(() => app.synth()).not.toThrow();
    expect(sizeReport(app)).toEqual({
      conclusion: 'success',
      violations: [
        expect.objectContaining({
          severity: 'warning',
          description: expect.stringMatching(/is 60\d{3} bytes without white space, over the 51200 bytes/),
        }),
      ],
    });
  });

  test('the example fleet’s templates are within both limits', () => {
    const built = buildFleet();
    built.app.synth();
    expect(sizeReport(built.app)).toBeUndefined();
  });
});

describe(`a cell at its largest (${MAX_TENANTS_PER_CELL} tenants, every one integrated, the longest ids)`, () => {
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  let bytes: number;
  let app: App;

  beforeAll(() => {
    const fleet = resolveFleet({
      defaults: { account: '111111111111', region: 'ap-southeast-4' },
      cells: [
        {
          id: 'full',
          wave: 0,
          maxTenants: MAX_TENANTS_PER_CELL,
          tenants: Array.from({ length: MAX_TENANTS_PER_CELL }, (_, i) => ({
            id: `t${i}-`.padEnd(63, 'x'),
            integration: { baseUrl: 'https://sandbox-api-ca.metrc.com' },
          })),
        },
      ],
    });
    const built = buildFleet(fleet);
    app = built.app;
    const assembly = app.synth();
    const stack = assembly.getStackByName('Bulkhead-Cell-full');
    template = stack.template as typeof template;
    bytes = fs.statSync(stack.templateFullPath).size;
  }, 120_000);

  test('synthesizes, its template under the 1 MB CloudFormation reads from S3 (over the 51,200 bytes sent inline)', () => {
    expect(bytes).toBeLessThan(CFN_TEMPLATE_S3_MAX_BYTES);
    expect(sizeReport(app)).toEqual({
      conclusion: 'success',
      violations: [expect.objectContaining({ severity: 'warning' })],
    });
  });

  test('no function’s environment grows with its tenants', () => {
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
    for (const [, fn] of functions) {
      const env =
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      const size = deployedEnvironmentBytes(env, (id) => template.Resources[id]?.Type, 'ap-southeast-4');
      expect(size).toBeLessThan(LAMBDA_ENVIRONMENT_MAX_BYTES / 4);
    }
  });

  test('the sync worker may read every tenant’s secret, in managed policies IAM accepts', () => {
    const policies = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::IAM::ManagedPolicy' && JSON.stringify(r.Properties).includes('GetSecretValue'),
    );
    // As IAM counts it: the deployed document, the partition at its longest, no white space.
    const deployed = (doc: unknown) =>
      JSON.stringify(doc).replace(
        /\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":([^"]*)"\]\]\}/g,
        '"arn:aws-us-gov:$1"',
      ).length;
    const arns = policies.flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: { Resource: unknown[] }[] }).Statement[0].Resource,
    );
    // Every tenant's user key, and the integrator's vendor key.
    expect(arns).toHaveLength(MAX_TENANTS_PER_CELL + 1);
    for (const p of policies)
      expect(deployed(p.Properties.PolicyDocument)).toBeLessThanOrEqual(IAM_MANAGED_POLICY_MAX_CHARS);
    // AWSLambdaBasicExecutionRole is the role's other managed policy.
    expect(policies.length + 1).toBeLessThanOrEqual(IAM_ROLE_MANAGED_POLICIES_MAX);
  });
});

describe('the router behind the HTTP API: 30 s integration timeout (not increasable)', () => {
  test('the router function gives up before the HTTP API does, and no integration asks for more', () => {
    const built = buildFleet();
    const router = built.template(ROUTER_STACK);
    const [fn] = Object.values(
      router.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('Bulkhead router') },
      }),
    );
    expect((fn.Properties as { Timeout: number }).Timeout * 1000).toBeLessThan(
      HTTP_API_INTEGRATION_TIMEOUT_MS,
    );
    for (const integration of Object.values(router.findResources('AWS::ApiGatewayV2::Integration'))) {
      const timeout = (integration.Properties as { TimeoutInMillis?: number }).TimeoutInMillis;
      expect(timeout ?? HTTP_API_INTEGRATION_TIMEOUT_MS).toBeLessThanOrEqual(HTTP_API_INTEGRATION_TIMEOUT_MS);
    }
  });
});
