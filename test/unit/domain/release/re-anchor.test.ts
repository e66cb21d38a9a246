import {
  ANCHOR_METADATA,
  type CellTemplate,
  driftedAliases,
  type FunctionReleaseState,
  reanchorTemplate,
  releasedFunctions,
} from '../../../../lib/domain/release';

const POLICY = {
  ApplicationName: { Ref: 'Releases' },
  DeploymentGroupName: { Ref: 'ApiGroup' },
  BeforeAllowTrafficHook: { Ref: 'Hook' },
};

/** A cell template with a released API (`live` under CodeDeploy), a worker alias without a policy. */
const template = (): CellTemplate => ({
  Resources: {
    Api: { Type: 'AWS::Lambda::Function', Properties: {} },
    ApiVersion: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'Api' } } },
    ApiAlias: {
      Type: 'AWS::Lambda::Alias',
      Properties: {
        FunctionName: { Ref: 'Api' },
        FunctionVersion: { 'Fn::GetAtt': ['ApiVersion', 'Version'] },
        Name: 'live',
      },
      UpdatePolicy: { CodeDeployLambdaAliasUpdate: POLICY },
    },
    Worker: { Type: 'AWS::Lambda::Function', Properties: {} },
    WorkerAlias: {
      Type: 'AWS::Lambda::Alias',
      Properties: { FunctionName: { Ref: 'Worker' }, FunctionVersion: '1', Name: 'live' },
    },
    ApiGroup: { Type: 'AWS::CodeDeploy::DeploymentGroup', Properties: {} },
  },
});

const PHYSICAL: Record<string, string> = {
  Api: 'bulkhead-a-api',
  ApiVersion: 'arn:aws:lambda:us-east-1:111111111111:function:bulkhead-a-api:4',
  ApiGroup: 'a-api-group',
};
const physical = (id: string | undefined) => (id ? PHYSICAL[id] : undefined);

describe('releasedFunctions', () => {
  it('finds the live aliases under CodeDeploy, with their group and the version CloudFormation records', () => {
    expect(releasedFunctions(template(), 'live', physical)).toEqual([
      {
        logicalId: 'Api',
        aliasLogicalId: 'ApiAlias',
        name: 'bulkhead-a-api',
        deploymentGroup: 'a-api-group',
        recordedVersion: '4',
      },
    ]);
  });

  it('still finds an anchored alias, by the policy kept in its Metadata, and its pinned version', () => {
    const [api] = releasedFunctions(template(), 'live', physical);
    const { template: anchored } = reanchorTemplate(template(), [api], { 'bulkhead-a-api': '3' });
    expect(releasedFunctions(anchored, 'live', physical)).toEqual([{ ...api, recordedVersion: '3' }]);
  });
});

describe('reanchorTemplate', () => {
  it('pins the moved alias to its version and keeps its update policy (and the version it left) in Metadata', () => {
    const before = template();
    const [api] = releasedFunctions(before, 'live', physical);
    const { template: after, pinned } = reanchorTemplate(before, [api], { 'bulkhead-a-api': '3' });
    expect(pinned).toEqual(['bulkhead-a-api v3']);
    expect(after.Resources.ApiAlias).toEqual({
      Type: 'AWS::Lambda::Alias',
      Properties: { FunctionName: { Ref: 'Api' }, FunctionVersion: '3', Name: 'live' },
      Metadata: { [ANCHOR_METADATA]: { policy: POLICY, from: '4' } },
    });
    // Nothing else changes, and the deployed template given is left as it was.
    expect({ ...after.Resources, ApiAlias: undefined }).toEqual({
      ...template().Resources,
      ApiAlias: undefined,
    });
    expect(before).toEqual(template());
  });

  it('pins nothing when CloudFormation already has the version, or the function is not named', () => {
    const [api] = releasedFunctions(template(), 'live', physical);
    expect(reanchorTemplate(template(), [api], { 'bulkhead-a-api': '4' })).toEqual({
      template: template(),
      pinned: [],
    });
    expect(reanchorTemplate(template(), [api], { other: '2' }).pinned).toEqual([]);
  });
});

describe('driftedAliases', () => {
  const fn = (name: string, live: string, recorded?: string, split = false): FunctionReleaseState => ({
    name,
    weights: split
      ? [
          { version: live, weight: 0.9 },
          { version: '9', weight: 0.1 },
        ]
      : [{ version: live, weight: 1 }],
    liveExists: true,
    ...(recorded && { recordedVersion: recorded }),
  });

  it('names the whole aliases on another version than CloudFormation records: from recorded, to live', () => {
    expect(
      driftedAliases([
        fn('api', '3', '4'),
        fn('sync', '7', '7'),
        fn('other', '2'),
        fn('split', '5', '6', true),
      ]),
    ).toEqual({
      from: { api: '4' },
      to: { api: '3' },
    });
  });
});
