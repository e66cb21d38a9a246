/**
 * The evaluator against the policies the CDK app actually synthesizes (issue #11): what the router and
 * the cell functions may and may not do on AWS, read from real templates.
 */
import type { Fleet } from '../../../../lib/config/types';
import {
  accessDeniedMessage,
  authorize,
  AuthorizationRequest,
  CallerPrincipal,
  functionUrlRequests,
  impliedKmsRequests,
  parsePolicy,
  Policy,
} from '../../../../lib/domain/iam';
import { buildFleet, exampleFleet } from '../../cdk/fixtures';

import { TemplatePolicies } from './template-policies';

jest.setTimeout(180_000);

const ACCOUNT = '111111111111';
const CELL_ACCOUNT = '222222222222';

const roleOf = (stack: TemplatePolicies, logicalId: string): CallerPrincipal => {
  const arn = stack.arn(logicalId);
  const name = arn.split('/').pop()!;
  return {
    type: 'role',
    arn,
    account: stack.account,
    sessionArn: `arn:aws:sts::${stack.account}:assumed-role/${name}/s`,
  };
};

let router: TemplatePolicies;
let cell: TemplatePolicies;
let routerRole: CallerPrincipal;
let routerPolicies: Policy[];
let apiAlias: string;

beforeAll(() => {
  const built = buildFleet(exampleFleet(), ['use1-a']);
  router = new TemplatePolicies(built, 'Bulkhead-Router');
  cell = new TemplatePolicies(built, 'Bulkhead-Cell-use1-a');
  const roleId = router.logicalId('AWS::IAM::Role', 'RouterRole');
  routerRole = roleOf(router, roleId);
  routerPolicies = router.identityPolicies(roleId);
  apiAlias = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:bulkhead-use1-a-api:live`;
});

describe('the router calling a cell’s function URL', () => {
  it('is allowed lambda:InvokeFunctionUrl on the cell API’s live alias', () => {
    expect(routerRole.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/bulkhead-router`);
    const [invokeUrl] = functionUrlRequests(routerRole, apiAlias);
    const result = authorize(invokeUrl, {
      identity: routerPolicies,
      resource: cell.functionPolicy(apiAlias),
    });
    expect(result.decision).toBe('allow');
  });

  it('is allowed lambda:InvokeFunction through the URL, which URL calls also need since October 2025 (issue #11)', () => {
    const [, invoke] = functionUrlRequests(routerRole, apiAlias);
    const result = authorize(invoke, { identity: routerPolicies, resource: cell.functionPolicy(apiAlias) });
    expect(result.decision).toBe('allow');
  });

  it('is not allowed lambda:InvokeFunction other than through the URL, by either policy', () => {
    const [, invoke] = functionUrlRequests(routerRole, apiAlias);
    const direct = { ...invoke, context: { 'lambda:InvokedViaFunctionUrl': false } };
    const result = authorize(direct, { identity: routerPolicies, resource: cell.functionPolicy(apiAlias) });
    expect(result).toEqual({
      decision: 'implicit-deny',
      deniedBy: 'identity-based',
      reasons: [
        `no identity-based policy of role bulkhead-router allows lambda:InvokeFunction on ${apiAlias}`,
        `the resource policy of ${apiAlias} does not allow role bulkhead-router either`,
      ],
    });
    expect(accessDeniedMessage(direct, result)).toMatch(
      /^User: arn:aws:sts::111111111111:assumed-role\/bulkhead-router\/s is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:bulkhead-use1-a-api:live because no identity-based policy allows/,
    );
  });

  it('the cell grants the URL only when its auth type is AWS_IAM', () => {
    const [invokeUrl] = functionUrlRequests(routerRole, apiAlias);
    const asNone = { ...invokeUrl, context: { 'lambda:FunctionUrlAuthType': 'NONE' } };
    expect(authorize(asNone, { identity: [], resource: cell.functionPolicy(apiAlias) }).decision).toBe(
      'implicit-deny',
    );
    expect(authorize(invokeUrl, { identity: [], resource: cell.functionPolicy(apiAlias) }).decision).toBe(
      'allow',
    );
  });
});

describe('a cell in another account than the router', () => {
  let crossCell: TemplatePolicies;
  let crossRouterPolicies: Policy[];
  const crossAlias = `arn:aws:lambda:us-west-2:${CELL_ACCOUNT}:function:bulkhead-usw2-a-api:live`;

  beforeAll(() => {
    const base = exampleFleet();
    const fleet: Fleet = {
      ...base,
      cells: base.cells.map((c) => (c.id === 'usw2-a' ? { ...c, account: CELL_ACCOUNT } : c)),
    };
    const built = buildFleet(fleet, ['usw2-a']);
    crossCell = new TemplatePolicies(built, 'Bulkhead-Cell-usw2-a');
    const crossRouter = new TemplatePolicies(built, 'Bulkhead-Router');
    crossRouterPolicies = crossRouter.identityPolicies(crossRouter.logicalId('AWS::IAM::Role', 'RouterRole'));
  });

  const call = (action: string, context = {}): AuthorizationRequest => ({
    principal: routerRole,
    action,
    resource: crossAlias,
    resourceAccount: CELL_ACCOUNT,
    context,
  });

  it('the router may invoke its function URL: both the router’s role policy and the cell’s permission allow', () => {
    const result = authorize(call('lambda:InvokeFunctionUrl', { 'lambda:FunctionUrlAuthType': 'AWS_IAM' }), {
      identity: crossRouterPolicies,
      resource: crossCell.functionPolicy(crossAlias),
    });
    expect(result.decision).toBe('allow');
    expect(result.reasons).toHaveLength(2);
  });

  it('the router may invoke the function through its URL: both sides allow lambda:InvokeFunction via the URL', () => {
    const viaUrl = call('lambda:InvokeFunction', { 'lambda:InvokedViaFunctionUrl': true });
    const policies = { identity: crossRouterPolicies, resource: crossCell.functionPolicy(crossAlias) };
    expect(authorize(viaUrl, policies).decision).toBe('allow');
    expect(authorize(viaUrl, policies).reasons).toHaveLength(2);
    const direct = call('lambda:InvokeFunction', { 'lambda:InvokedViaFunctionUrl': false });
    expect(authorize(direct, policies).decision).toBe('implicit-deny');
  });

  it('the router’s store-down fallback, GetFunctionUrlConfig, is allowed by both sides: the cell grants it', () => {
    const result = authorize(call('lambda:GetFunctionUrlConfig'), {
      identity: crossRouterPolicies,
      resource: crossCell.functionPolicy(crossAlias),
    });
    expect(result.decision).toBe('allow');
    expect(result.reasons).toHaveLength(2);
  });

  it('another role of the router’s account may not read the cell’s URL: the grant names the router role', () => {
    const other: CallerPrincipal = {
      type: 'role',
      arn: `arn:aws:iam::${ACCOUNT}:role/someone-else`,
      account: ACCOUNT,
      sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/someone-else/s`,
    };
    const result = authorize(
      { ...call('lambda:GetFunctionUrlConfig'), principal: other },
      { identity: crossRouterPolicies, resource: crossCell.functionPolicy(crossAlias) },
    );
    expect(result.decision).toBe('implicit-deny');
    expect(result.deniedBy).toBe('resource-based');
  });
});

describe('a cell’s queues', () => {
  const send = (secure: boolean): AuthorizationRequest => ({
    principal: roleOf(cell, cell.logicalId('AWS::IAM::Role', 'ApiServiceRole')),
    action: 'sqs:SendMessage',
    resource: cell.arn(cell.logicalId('AWS::SQS::Queue', 'SyncQueue')),
    resourceAccount: ACCOUNT,
    context: { 'aws:SecureTransport': secure },
  });
  const policiesFor = (request: AuthorizationRequest) => ({
    identity: cell.identityPolicies(cell.logicalId('AWS::IAM::Role', 'ApiServiceRole')),
    resource: cell.queuePolicy(cell.logicalId('AWS::SQS::Queue', 'SyncQueue')),
    request,
  });

  it('the API may send to the sync queue over TLS', () => {
    const { identity, resource, request } = policiesFor(send(true));
    expect(authorize(request, { identity, resource }).decision).toBe('allow');
  });

  it('the queue policy denies anything without TLS, whatever the role may do', () => {
    const { identity, resource, request } = policiesFor(send(false));
    const result = authorize(request, { identity, resource });
    expect(result.decision).toBe('explicit-deny');
    expect(result.reasons).toEqual([
      `explicitly denied by statement #0 of the resource policy of ${request.resource} (condition aws:SecureTransport = false)`,
    ]);
  });

  it('sending also needs kms:GenerateDataKey and kms:Decrypt on the cell key, which the API’s role has', () => {
    const key = cell.keyPolicy(cell.logicalId('AWS::KMS::Key', 'Key'));
    const identity = cell.identityPolicies(cell.logicalId('AWS::IAM::Role', 'ApiServiceRole'));
    const kms = impliedKmsRequests(send(true), cell.arn(cell.logicalId('AWS::KMS::Key', 'Key')));
    expect(kms.map((r) => r.action)).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    for (const request of kms) expect(authorize(request, { identity, resource: key }).decision).toBe('allow');
  });
});

describe('keys, tables and secrets', () => {
  it('the cell key delegates to IAM, so a role without a KMS allow (the router) is denied', () => {
    const keyArn = cell.arn(cell.logicalId('AWS::KMS::Key', 'Key'));
    const decrypt = {
      principal: routerRole,
      action: 'kms:Decrypt',
      resource: keyArn,
      resourceAccount: ACCOUNT,
    };
    const result = authorize(decrypt, {
      identity: routerPolicies,
      resource: cell.keyPolicy(cell.logicalId('AWS::KMS::Key', 'Key')),
    });
    expect(result.reasons).toEqual([
      `the key policy of ${keyArn} delegates to IAM, but no identity-based policy of role bulkhead-router allows kms:Decrypt on ${keyArn}`,
    ]);
  });

  it('the router reads its routing table but may not write it', () => {
    const table = router.arn(router.logicalId('AWS::DynamoDB::Table', 'Routes'));
    const on = (action: string) => ({
      principal: routerRole,
      action,
      resource: table,
      resourceAccount: ACCOUNT,
    });
    expect(authorize(on('dynamodb:GetItem'), { identity: routerPolicies }).decision).toBe('allow');
    expect(authorize(on('dynamodb:PutItem'), { identity: routerPolicies }).reasons).toEqual([
      `no identity-based policy of role bulkhead-router allows dynamodb:PutItem on ${table}`,
      `${table} has no resource-based policy`,
    ]);
    const key = router.logicalId('AWS::KMS::Key', 'Key');
    const [decrypt] = impliedKmsRequests(on('dynamodb:GetItem'), router.arn(key));
    expect(authorize(decrypt, { identity: routerPolicies, resource: router.keyPolicy(key) }).decision).toBe(
      'allow',
    );
  });

  describe('registration: each cell writes its own registry row and no other', () => {
    const registrar = (cellId: string) =>
      router.logicalId('AWS::IAM::Role', `CellRegistrarRole${cellId.replace(/-/g, '')}`);
    const registry = () => router.arn(router.logicalId('AWS::DynamoDB::Table', 'CellRegistry'));
    const assume = (principal: CallerPrincipal, cellId: string): AuthorizationRequest => ({
      principal,
      action: 'sts:AssumeRole',
      resource: router.arn(registrar(cellId)),
      resourceAccount: ACCOUNT,
      context: { 'aws:PrincipalArn': principal.arn },
    });
    const update = (cellId: string, row: string): AuthorizationRequest => ({
      principal: roleOf(router, registrar(cellId)),
      action: 'dynamodb:UpdateItem',
      resource: registry(),
      resourceAccount: ACCOUNT,
      context: { 'dynamodb:LeadingKeys': [row] },
    });

    it('the cell’s registration role may assume its own cell’s registrar, by both policies', () => {
      const roleId = cell.logicalId('AWS::IAM::Role', 'RegistrationRole');
      const principal = roleOf(cell, roleId);
      expect(principal.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/bulkhead-registration-use1-a`);
      const policies = {
        identity: cell.identityPolicies(roleId),
        resource: router.trustPolicy(registrar('use1-a')),
      };
      expect(authorize(assume(principal, 'use1-a'), policies).decision).toBe('allow');
      // Another cell's registrar: its trust names that cell's registration role only.
      const other = {
        identity: cell.identityPolicies(roleId),
        resource: router.trustPolicy(registrar('use1-b')),
      };
      expect(authorize(assume(principal, 'use1-b'), other).decision).not.toBe('allow');
    });

    it('no other role of the cell’s account may assume the registrar, whatever its own policy allows', () => {
      const principal: CallerPrincipal = {
        type: 'role',
        arn: `arn:aws:iam::${ACCOUNT}:role/Bulkhead-Cell-use1-a-Anything`,
        account: ACCOUNT,
        sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Bulkhead-Cell-use1-a-Anything/s`,
      };
      const anything = parsePolicy('anything', 'identity', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
      });
      const result = authorize(assume(principal, 'use1-a'), {
        identity: [anything],
        resource: router.trustPolicy(registrar('use1-a')),
      });
      expect(result.decision).not.toBe('allow');
    });

    it('a cell’s registrar may update only that cell’s row of the registry', () => {
      const identity = router.identityPolicies(registrar('use1-a'));
      expect(authorize(update('use1-a', 'use1-a'), { identity }).decision).toBe('allow');
      expect(authorize(update('use1-a', 'use1-b'), { identity }).decision).toBe('implicit-deny');
      const remove = { ...update('use1-a', 'use1-a'), action: 'dynamodb:DeleteItem' };
      expect(authorize(remove, { identity }).decision).toBe('implicit-deny');
    });

    it('a cell’s registrar may use the router key the registry is encrypted with (issue #11)', () => {
      const key = router.logicalId('AWS::KMS::Key', 'Key');
      const kms = impliedKmsRequests(update('use1-a', 'use1-a'), router.arn(key));
      expect(kms.map((r) => r.action)).toEqual(['kms:Decrypt']);
      const policies = {
        identity: router.identityPolicies(registrar('use1-a')),
        resource: router.keyPolicy(key),
      };
      for (const request of kms) expect(authorize(request, policies).decision).toBe('allow');
    });
  });

  it('the sync worker reads the compliance secrets of its cell’s integrated tenants only', () => {
    const roleId = cell.logicalId('AWS::IAM::Role', 'SyncWorkerServiceRole');
    const secret = (tenant: string) =>
      `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:bulkhead/compliance/${tenant}-Ab12Cd`;
    const read = (tenant: string) => ({
      principal: roleOf(cell, roleId),
      action: 'secretsmanager:GetSecretValue',
      resource: secret(tenant),
      resourceAccount: ACCOUNT,
    });
    const identity = cell.identityPolicies(roleId);
    expect(authorize(read('greenleaf'), { identity }).decision).toBe('allow');
    expect(authorize(read('golden-bud'), { identity }).decision).toBe('implicit-deny');
  });

  it('EventBridge may invoke the reconciler only from the cell’s schedule', () => {
    const alias = `${cell.arn(cell.logicalId('AWS::Lambda::Function', 'Reconciler'))}:live`;
    const rule = cell.arn(cell.logicalId('AWS::Events::Rule', 'ReconcileSchedule'));
    const invoke = (sourceArn: string): AuthorizationRequest => ({
      principal: { type: 'service', arn: 'events.amazonaws.com', account: ACCOUNT },
      action: 'lambda:InvokeFunction',
      resource: alias,
      resourceAccount: ACCOUNT,
      context: { 'aws:SourceArn': sourceArn },
    });
    const resource = cell.functionPolicy(alias);
    expect(authorize(invoke(rule), { identity: [], resource }).decision).toBe('allow');
    expect(authorize(invoke(`${rule}-other`), { identity: [], resource }).decision).toBe('implicit-deny');
  });
});
