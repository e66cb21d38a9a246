/**
 * Security checks over the synthesized example fleet (issue 7):
 * - cdk-nag (AwsSolutions) clean: `test/cdk/nag.test.ts` synthesizes every stack with the checks on and
 *   fails on any unacknowledged finding; not repeated here.
 * - no IAM statement allows a `*` action (`*` or `service:*`), nor uses NotAction;
 * - every table and queue is encrypted with its own stack's KMS key;
 * - every queue has a TLS-only policy;
 * - API keys are stored only as hashes (`bulkhead tenants place` against DynamoDB Local; the local
 *   platform's seeding is checked against a running platform by `test/reliability/secrets-at-rest.test.ts`);
 * - no secret in any template.
 * Each check is a function of a template, shown to catch a planted violation.
 */
import * as fs from 'node:fs';

import { ListTablesCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';

import { startLocalAws, type LocalAws } from '../../../harness/local-aws';
import { placeTenant } from '../../../lib/cli/tenants';
import { hashApiKey } from '../../../lib/domain/api-keys';
import { createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import { readAssembly } from '../../../lib/local/assembly/template-model';
import type { PlatformState } from '../../../lib/local/platform/platform-state';
import { LocalTenantsTarget } from '../../../lib/targets/tenants/local-tenants-target';

import { buildFleet } from './fixtures';

jest.setTimeout(120_000);

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}
interface CfnTemplate {
  readonly Resources: Record<string, Resource>;
}

let assemblyDir: string;
let templates: Record<string, CfnTemplate>;

beforeAll(() => {
  const built = buildFleet();
  const assembly = built.app.synth();
  assemblyDir = assembly.directory;
  templates = Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template as CfnTemplate]));
});

afterAll(() => {
  if (assemblyDir) fs.rmSync(assemblyDir, { recursive: true, force: true });
});

const ofType = (t: CfnTemplate, type: string) =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

interface Statement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Principal?: Json;
  readonly Resource?: Json;
  readonly Condition?: Json;
}

/** Every policy statement anywhere in the template (IAM policies, roles, key and queue policies, ...). */
function statements(t: CfnTemplate): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  const walk = (node: Json, where: string) => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}[${i}]`));
    else if (node && typeof node === 'object') {
      const record = node as Record<string, Json>;
      if (Array.isArray(record.Statement)) {
        record.Statement.forEach((s, i) =>
          found.push({ where: `${where}.Statement[${i}]`, statement: s as Statement }),
        );
      }
      for (const [k, v] of Object.entries(record)) if (k !== 'Statement') walk(v, `${where}.${k}`);
    }
  };
  for (const [id, r] of Object.entries(t.Resources)) walk(r.Properties, `${id} (${r.Type})`);
  return found;
}

const WILDCARD_ACTION = /^(\*|[a-z0-9-]+:\*)$/i;

/**
 * The one allowed `kms:*`: CloudFormation's default key policy statement that hands the key's use to
 * IAM in the key's own account (`arn:<partition>:iam::<account>:root`); every grant is then an IAM
 * policy, which this check covers. Anything else with a `*` action is a finding.
 */
function isKeyPolicyRootDelegation(where: string, s: Statement): boolean {
  const principal = JSON.stringify(s.Principal ?? null);
  return (
    where.includes('(AWS::KMS::Key).KeyPolicy') &&
    JSON.stringify(asArray(s.Action)) === '["kms:*"]' &&
    /^\{"AWS":\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":iam::\d{12}:root"\]\]\}\}$/.test(
      principal,
    )
  );
}

/** Allow statements with a `*` action or with NotAction (which allows everything it does not name). */
function wildcardActions(t: CfnTemplate): string[] {
  return statements(t)
    .filter(({ statement: s }) => s.Effect !== 'Deny')
    .filter(({ where, statement: s }) => {
      if (s.NotAction !== undefined) return true;
      return (
        asArray(s.Action).some((a) => typeof a === 'string' && WILDCARD_ACTION.test(a)) &&
        !isKeyPolicyRootDelegation(where, s)
      );
    })
    .map(
      ({ where, statement: s }) =>
        `${where}: ${s.Effect} ${JSON.stringify(s.Action ?? { NotAction: s.NotAction })}`,
    );
}

/** Tables and queues not encrypted with the one KMS key of their own stack. */
function encryptionFindings(t: CfnTemplate): string[] {
  const keys = ofType(t, 'AWS::KMS::Key').map(([id]) => id);
  if (keys.length !== 1) return [`expected one KMS key in the stack, found ${keys.length}`];
  const [key] = keys;
  const isOwnKey = (ref: Json) =>
    JSON.stringify(ref) === JSON.stringify({ 'Fn::GetAtt': [key, 'Arn'] }) ||
    JSON.stringify(ref) === JSON.stringify({ Ref: key });
  const findings: string[] = [];
  for (const [id, r] of ofType(t, 'AWS::DynamoDB::Table')) {
    const sse = (r.Properties?.SSESpecification ?? {}) as Record<string, Json>;
    if (sse.SSEEnabled !== true || sse.SSEType !== 'KMS' || !isOwnKey(sse.KMSMasterKeyId)) {
      findings.push(`table ${id}: SSESpecification ${JSON.stringify(sse)}`);
    }
  }
  for (const [id, r] of ofType(t, 'AWS::SQS::Queue')) {
    if (!isOwnKey(r.Properties?.KmsMasterKeyId)) {
      findings.push(`queue ${id}: KmsMasterKeyId ${JSON.stringify(r.Properties?.KmsMasterKeyId ?? null)}`);
    }
  }
  return findings;
}

/** Queues without a policy that denies every SQS action over plain HTTP. */
function queuesWithoutTlsOnly(t: CfnTemplate): string[] {
  const policies = ofType(t, 'AWS::SQS::QueuePolicy').map(([, r]) => r.Properties ?? {});
  return ofType(t, 'AWS::SQS::Queue')
    .filter(([id]) => {
      const arn = JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
      return !policies.some((p) => {
        const queues = asArray(p.Queues as Json[]).map((q) => JSON.stringify(q));
        if (!queues.includes(JSON.stringify({ Ref: id }))) return false;
        return asArray((p.PolicyDocument as { Statement?: Statement[] })?.Statement).some(
          (s) =>
            s.Effect === 'Deny' &&
            ['*', JSON.stringify({ AWS: '*' })].includes(
              typeof s.Principal === 'string' ? s.Principal : JSON.stringify(s.Principal),
            ) &&
            asArray(s.Action).some((a) => a === 'sqs:*') &&
            JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }) &&
            asArray(s.Resource as Json).some((res) => JSON.stringify(res) === arn),
        );
      });
    })
    .map(([id]) => id);
}

/** Key-like strings: tenant API keys, AWS access keys and secret keys, compliance keys, passwords. */
const SECRET_PATTERNS: readonly [string, RegExp][] = [
  ['tenant API key', /bk_[a-z0-9][a-z0-9-]{1,62}_[A-Za-z0-9_-]{43}/],
  ['AWS access key id', /\b(AKIA|ASIA)[A-Z0-9]{16}\b/],
  [
    'AWS secret access key',
    /(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]*[/+])(?=[A-Za-z0-9/+=]*[0-9])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/,
  ],
  ['compliance API key', /metrc-/i],
  ['password', /password/i],
  ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
];

function secretsIn(text: string): string[] {
  return SECRET_PATTERNS.flatMap(([what, pattern]) => {
    const m = pattern.exec(text);
    return m ? [`${what}: …${text.slice(Math.max(0, m.index - 40), m.index + m[0].length + 10)}…`] : [];
  });
}

/** A copy of a template with `change` applied, for the checks' own tests. */
const planted = (name: string, change: (r: Record<string, Resource>) => void): CfnTemplate => {
  const copy = JSON.parse(JSON.stringify(templates[name])) as CfnTemplate;
  change(copy.Resources as Record<string, Resource>);
  return copy;
};
const cellStack = () => Object.keys(templates).find((n) => n.startsWith('Bulkhead-Cell-'))!;

test('the example fleet synthesizes the router and every cell', () => {
  expect(Object.keys(templates).sort()).toEqual([
    'Bulkhead-Cell-use1-a',
    'Bulkhead-Cell-use1-b',
    'Bulkhead-Cell-usw2-a',
    'Bulkhead-Router',
  ]);
});

describe('no IAM statement allows a * action', () => {
  test.each(['Bulkhead-Router', 'Bulkhead-Cell-use1-a', 'Bulkhead-Cell-use1-b', 'Bulkhead-Cell-usw2-a'])(
    '%s',
    (name) => {
      expect(statements(templates[name]).length).toBeGreaterThan(0);
      expect(wildcardActions(templates[name])).toEqual([]);
    },
  );

  test('the only kms:* is each key policy delegating to IAM in its own account; Deny sqs:* is the TLS guard', () => {
    for (const t of Object.values(templates)) {
      const starred = statements(t).filter(({ statement: s }) =>
        asArray(s.Action).some((a) => typeof a === 'string' && WILDCARD_ACTION.test(a)),
      );
      for (const { where, statement: s } of starred) {
        expect(
          isKeyPolicyRootDelegation(where, s) || (s.Effect === 'Deny' && asArray(s.Action)[0] === 'sqs:*'),
        ).toBe(true);
      }
    }
  });

  test('the check is live: a planted s3:* and a planted NotAction are found', () => {
    const name = cellStack();
    const t = planted(name, (resources) => {
      resources.PlantedPolicy = {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'planted',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['sqs:SendMessage', 's3:*'], Resource: '*' },
              { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' },
            ],
          },
        },
      };
    });
    expect(wildcardActions(t)).toEqual([
      expect.stringContaining('PlantedPolicy (AWS::IAM::Policy)'),
      expect.stringContaining('NotAction'),
    ]);
  });
});

describe('every table and queue is encrypted with its own stack key', () => {
  test.each(['Bulkhead-Router', 'Bulkhead-Cell-use1-a', 'Bulkhead-Cell-use1-b', 'Bulkhead-Cell-usw2-a'])(
    '%s',
    (name) => {
      const t = templates[name];
      expect(ofType(t, 'AWS::DynamoDB::Table').length).toBeGreaterThan(0);
      if (name.startsWith('Bulkhead-Cell-')) expect(ofType(t, 'AWS::SQS::Queue').length).toBe(2);
      expect(encryptionFindings(t)).toEqual([]);
    },
  );

  test('the check is live: an AWS-managed-key table and a queue without a key are found', () => {
    const t = planted(cellStack(), (resources) => {
      const [tableId] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::DynamoDB::Table')!;
      resources[tableId].Properties!.SSESpecification = { SSEEnabled: true };
      const [queueId] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SQS::Queue')!;
      delete resources[queueId].Properties!.KmsMasterKeyId;
    });
    expect(encryptionFindings(t)).toEqual([
      expect.stringMatching(/^table /),
      expect.stringMatching(/^queue /),
    ]);
  });
});

describe('every queue accepts TLS only', () => {
  test.each(['Bulkhead-Cell-use1-a', 'Bulkhead-Cell-use1-b', 'Bulkhead-Cell-usw2-a'])('%s', (name) => {
    expect(ofType(templates[name], 'AWS::SQS::Queue').length).toBeGreaterThan(0);
    expect(queuesWithoutTlsOnly(templates[name])).toEqual([]);
  });

  test('the router stack has no queue (nothing to guard)', () => {
    expect(ofType(templates['Bulkhead-Router'], 'AWS::SQS::Queue')).toEqual([]);
  });

  test('the check is live: a queue whose policy lost its SecureTransport condition is found', () => {
    const t = planted(cellStack(), (resources) => {
      const [, policy] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SQS::QueuePolicy')!;
      const doc = policy.Properties!.PolicyDocument as { Statement: Statement[] };
      doc.Statement = doc.Statement.map((s) => ({ ...s, Condition: undefined }));
    });
    expect(queuesWithoutTlsOnly(t)).toHaveLength(1);
  });
});

describe('no secret in any template', () => {
  test('no key-like string in the router or any cell template', () => {
    for (const [name, t] of Object.entries(templates))
      expect([name, secretsIn(JSON.stringify(t))]).toEqual([name, []]);
  });

  test('no function environment variable names a key, secret, token or password with a literal value', () => {
    const literal: string[] = [];
    for (const [name, t] of Object.entries(templates)) {
      for (const [id, fn] of ofType(t, 'AWS::Lambda::Function')) {
        const vars = ((fn.Properties?.Environment as { Variables?: Record<string, Json> })?.Variables ??
          {}) as Record<string, Json>;
        for (const [k, v] of Object.entries(vars)) {
          if (/KEY|SECRET|TOKEN|PASSWORD|PEPPER/i.test(k) && typeof v === 'string')
            literal.push(`${name}/${id}: ${k}`);
        }
      }
    }
    expect(literal).toEqual([]);
  });

  test('the check is live: each pattern is found when planted', () => {
    const samples = [
      `bk_greenleaf_${'A'.repeat(43)}`,
      'AKIAABCDEFGHIJKLMNOP',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'metrc-0123456789abcdef',
      'Password',
      '-----BEGIN RSA PRIVATE KEY-----',
    ];
    for (const sample of samples) {
      const t = planted(cellStack(), (resources) => {
        resources.Planted = { Type: 'AWS::SSM::Parameter', Properties: { Value: sample } };
      });
      expect([sample, secretsIn(JSON.stringify(t)).length]).toEqual([sample, 1]);
    }
  });
});

describe('API keys are stored only as hashes', () => {
  let aws: LocalAws;
  const io = { lines: [] as string[], out: (l: string) => io.lines.push(l), err: () => undefined };

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(() => aws?.stop());

  /** Every attribute value of every item of every table, as text. */
  async function everythingStored(): Promise<string[]> {
    const values: string[] = [];
    const { TableNames = [] } = await aws.ddbClient.send(new ListTablesCommand({}));
    for (const TableName of TableNames) {
      let start: Record<string, never> | undefined;
      do {
        const out = await aws.ddbClient.send(new ScanCommand({ TableName, ExclusiveStartKey: start }));
        for (const item of out.Items ?? []) values.push(JSON.stringify(item));
        start = out.LastEvaluatedKey as typeof start;
      } while (start);
    }
    return values;
  }

  test('`bulkhead tenants place` stores the key hash, and the key nowhere', async () => {
    // The routing store's tables and a cell's table exactly as synthesized, in DynamoDB Local.
    const assembly = readAssembly(assemblyDir);
    for (const table of assembly.router.tables) {
      await createTableFromCfn(aws.ddbClient, table.tableName, table.properties);
    }
    const cell = assembly.cells.find((c) => c.cellId === 'use1-a')!;
    await createTableFromCfn(aws.ddbClient, cell.tables[0].tableName, cell.tables[0].properties);
    const { QueueUrl } = await aws.sqsClient.send(new CreateQueueCommand({ QueueName: 'security-sync' }));
    const routesTable = assembly.router.tables.find((t) => /route/i.test(t.logicalId))!.tableName;
    const registryTable = assembly.router.tables.find((t) => /registry/i.test(t.logicalId))!.tableName;
    await aws.ddbClient.send(
      new PutItemCommand({
        TableName: registryTable,
        Item: {
          cellId: { S: 'use1-a' },
          endpoint: { S: 'http://127.0.0.1:9' },
          region: { S: 'us-east-1' },
          status: { S: 'active' },
          maxTenants: { N: '20' },
        },
      }),
    );
    const state = {
      routingStore: { endpoint: aws.dynamo.endpoint, routesTable, registryTable },
      cells: {
        'use1-a': {
          dynamodb: aws.dynamo.endpoint,
          tableName: cell.tables[0].tableName,
          sqs: aws.sqs.endpoint,
          queueUrl: QueueUrl!,
        },
      },
    } as unknown as PlatformState;

    const target = new LocalTenantsTarget(state);
    try {
      expect(await placeTenant(target, 'hash-only', { json: true }, io)).toBe(0);
    } finally {
      target.close();
    }
    const { apiKey } = JSON.parse(io.lines.join('\n')) as { apiKey: string };
    // The secret part: after the tenant id (which holds no `_`; the secret may).
    const secret = apiKey.slice(apiKey.indexOf('_', 3) + 1);
    expect(secret).toHaveLength(43);
    const stored = await everythingStored();
    expect(stored.join('\n')).toContain(hashApiKey(apiKey));
    expect(stored.filter((v) => v.includes(secret) || v.includes(apiKey))).toEqual([]);
  });
});
