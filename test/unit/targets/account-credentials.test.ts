import 'aws-sdk-client-mock-jest';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

import type { Io } from '../../../lib/cli/io';
import { main } from '../../../lib/cli/main';
import { AccountCredentials, sessionName } from '../../../lib/targets/account-credentials';
import { cellPlace, RegionalClients, routerPlace } from '../../../lib/targets/aws-clients';
import { AwsReleaseTarget } from '../../../lib/targets/release/aws-release-target';

import { cell } from './fake-release-aws';
import { doc, FakeReleasesTable } from './fake-releases-table';

const sts = mockClient(STSClient);
const cfn = mockClient(CloudFormationClient);
const OWN = { accessKeyId: 'operator', secretAccessKey: 'operator' };
const T0 = Date.parse('2026-12-02T03:00:00Z');
let now: number;

const other = { ...cell('b1', 1), account: '222222222222' };
const same = cell('a0', 0);

function credentials(): AccountCredentials {
  return new AccountCredentials('us-east-1', {
    own: async () => OWN,
    sessionName: 'bulkhead-alice',
    now: () => now,
  });
}

const assumed = (key: string, expiresIn = 3600_000) => ({
  Credentials: {
    AccessKeyId: key,
    SecretAccessKey: `${key}-secret`,
    SessionToken: `${key}-token`,
    Expiration: new Date(now + expiresIn),
  },
});

beforeEach(() => {
  sts.reset();
  cfn.reset();
  now = T0;
  sts.on(GetCallerIdentityCommand).resolves({ Account: '111111111111' });
  doc.reset();
  new FakeReleasesTable().install();
});

describe('credentials for the cell’s account', () => {
  it('in the operator’s own account: the operator’s own credentials, no role assumed', async () => {
    const clients = new RegionalClients((place) => credentials().for(place));
    const client = clients.get(CloudFormationClient, cellPlace(same));
    await expect(client.config.credentials()).resolves.toMatchObject(OWN);
    expect(sts).not.toHaveReceivedCommand(AssumeRoleCommand);
    clients.close();
  });

  it('in another account: a session of that cell’s operator role, named after the operator, cached until near its end', async () => {
    sts.on(AssumeRoleCommand).resolvesOnce(assumed('first')).resolvesOnce(assumed('second'));
    const creds = credentials();
    const provider = creds.for(cellPlace(other));
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'first', sessionToken: 'first-token' });
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws:iam::222222222222:role/bulkhead-b1-operator',
      RoleSessionName: 'bulkhead-alice',
    });
    now += 30 * 60_000;
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'first' });
    now += 27 * 60_000;
    await expect(provider()).resolves.toMatchObject({ accessKeyId: 'second' });
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 1);
  });

  it('the router in another account: its own operator role', async () => {
    sts.on(AssumeRoleCommand).resolves(assumed('router'));
    await credentials().for(routerPlace({ router: { account: '333333333333', region: 'eu-west-1' } }))();
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: 'arn:aws:iam::333333333333:role/bulkhead-router-operator',
    });
  });

  it('a denied AssumeRole is one line naming the role and the fix', async () => {
    sts.on(AssumeRoleCommand).rejects(
      Object.assign(
        new Error('User: arn:aws:iam::111111111111:user/alice is not authorized to perform: sts:AssumeRole'),
        {
          name: 'AccessDenied',
        },
      ),
    );
    await expect(credentials().for(cellPlace(other))()).rejects.toThrow(
      'cannot assume arn:aws:iam::222222222222:role/bulkhead-b1-operator from account 111111111111 (AccessDenied): ' +
        "deploy that account's stack with the fleet file's operatorAccount set to 111111111111, after a one-time " +
        '`cdk bootstrap --trust 111111111111 aws://222222222222/us-east-1` (README: multi-account fleet)',
    );
  });

  it('session names keep to what STS allows', () => {
    expect(sessionName('alice')).toBe('bulkhead-alice');
    expect(sessionName('DOMAIN\\bob smith')).toBe('bulkhead-DOMAIN-bob-smith');
    expect(sessionName('x'.repeat(80))).toHaveLength(64);
  });
});

describe('the release CLI across accounts', () => {
  it("a cell in another account: the CLI signs as that cell's operator role; a denied AssumeRole fails the command in one line", async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    // Signing resolves the client's credentials, as the real client does before it sends.
    cfn.on(DescribeStacksCommand).callsFake(async (_input, getClient) => {
      await getClient().config.credentials();
      return { Stacks: [] };
    });
    const fleet = { router: { account: '111111111111', region: 'us-east-1' }, cells: [other] };
    const target = new AwsReleaseTarget({
      fleet,
      root: '/project',
      credentials: credentials(),
      logFile: '/dev/null',
    });
    const err: string[] = [];
    const io: Io = { out: () => undefined, err: (l) => err.push(l) };
    const code = await main(['rollback', '--cell', 'b1', '--reason', 'x'], io, {
      open: () => ({ target, fleet, timeScale: 1 }),
      locking: { holder: 'alice@laptop', every: () => () => undefined },
    });
    expect(code).toBe(1);
    expect(err.filter((l) => l.includes('cannot assume'))).toEqual([
      expect.stringMatching(
        /^bulkhead rollback: .*cannot assume arn:aws:iam::222222222222:role\/bulkhead-b1-operator from account 111111111111 \(AccessDenied\)/,
      ),
    ]);
  });
});
