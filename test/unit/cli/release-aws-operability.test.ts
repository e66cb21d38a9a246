/**
 * The AWS release target where AWS does not behave like a quiet test account: operational alarms firing
 * during a release, CodeDeploy history over several pages, throttled calls, a stack created by the
 * release, a rollback that does not take, and a template too big to pass inline.
 */
import 'aws-sdk-client-mock-jest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { PutObjectCommand } from '@aws-sdk/client-s3';

import type { Io } from '../../../lib/cli/io';
import { main } from '../../../lib/cli/main';
import { runRelease } from '../../../lib/cli/release';
import type { AwsReleaseTarget } from '../../../lib/targets/release/aws-release-target';
import { cfn, cloudwatch, codedeploy, FakeAws, FLEET, lambda, s3 } from '../targets/fake-release-aws';

let aws: FakeAws;
let logFile: string;
let target: AwsReleaseTarget;
let out: string[];
let err: string[];
const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
const deps = () => ({
  open: () => ({ target, fleet: FLEET, timeScale: 1 }),
  sleep: aws.sleep,
  now: () => aws.now,
});
const inputs = <T>(calls: { args: [{ input: T }] }[]): T[] => calls.map((c) => c.args[0].input);

beforeEach(() => {
  for (const stub of [cfn, codedeploy, lambda, cloudwatch, s3]) stub.reset();
  aws = new FakeAws();
  aws.install();
  logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'release-aws-ops-')), 'releases.jsonl');
  target = aws.releaseTarget(logFile);
  out = [];
  err = [];
  fs.writeFileSync(
    logFile,
    `${JSON.stringify({ at: '2025-01-01T00:00:00.000Z', kind: 'drill', drill: 'rollback', release: 'r2', ok: true, cell: 'a0', summary: 'drill', who: 'test', target: 'aws' })}\n`,
  );
});

describe('release-health alarms judge a release; operational alarms do not', () => {
  it('a release during a dead-letter alarm (an outside integration rejecting orders) is not rolled back', async () => {
    aws.world('a0').alarms = ['a0-dead-letters'];
    const run = await runRelease({ version: 'r2' }, io, deps());
    expect(run.code).toBe(0);
    expect(run.report?.waves.map((w) => w.state)).toEqual(['released', 'released', 'released']);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
  });

  it('the new version’s own alarm during the bake rolls the cell back and halts the release', async () => {
    aws.world('a0').alarms = ['a0-api-errors'];
    const run = await runRelease({ version: 'r2' }, io, deps());
    expect(run.code).toBe(1);
    expect(run.report?.haltReason).toContain('a0-api-errors');
    expect(aws.world('a0').alias).toBe('4');
  });
});

describe('the rollback target comes from the alias’s history', () => {
  it('reads every page of ListDeployments and takes the newest deployment that made the live version live', async () => {
    const w = aws.world('a0');
    // An older deployment onto v4 (from v2, long ago) comes first, on page one; the newest (v3→v4) on page two.
    w.deployments.set('d-ancient', { status: 'Succeeded', current: '2', target: '4', created: 100 });
    w.versions.set('2', 'r-1');
    codedeploy
      .on(ListDeploymentsCommand, { includeOnlyStatuses: ['Succeeded'] })
      .callsFake((input: { nextToken?: string }) =>
        input.nextToken === 'page-2'
          ? { deployments: ['d-old-a0'] }
          : { deployments: ['d-ancient'], nextToken: 'page-2' },
      );
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'slow'], io, deps())).toBe(0);
    expect(aws.world('a0').alias).toBe('3');
    expect(out).toEqual([expect.stringMatching(/^a0: rolled back the live alias \(bulkhead-a0-api v4→v3\)/)]);
  });

  it('falls back to the release log when CodeDeploy kept no deployment onto the live version', async () => {
    aws.world('a0').deployments.clear();
    fs.appendFileSync(
      logFile,
      `${JSON.stringify({ at: '2025-01-02T00:00:00.000Z', kind: 'release', release: 'r1', cell: 'a0', from: { 'bulkhead-a0-api': '3' }, to: { 'bulkhead-a0-api': '4' }, summary: 'r1', who: 'test', target: 'aws' })}\n`,
    );
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'slow'], io, deps())).toBe(0);
    expect(aws.world('a0').alias).toBe('3');
  });

  it('with no history at all, refuses to report a rollback that moved nothing', async () => {
    aws.world('a0').deployments.clear();
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'slow'], io, deps())).toBe(1);
    expect(err).toEqual([
      'bulkhead rollback: refused: cell a0: bulkhead-a0-api has no previous version to return to (live: 4)',
    ]);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
  });

  it('verifies the alias afterwards: an alias left split is a failed rollback, not a success', async () => {
    lambda.on(UpdateAliasCommand).resolves({ FunctionVersion: '4' });
    aws.world('a0').split = { '3': 0.5 };
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'slow'], io, deps())).toBe(1);
    expect(out.join('\n')).toContain(
      "a0: FAILED to roll back: the rollback did not take: bulkhead-a0-api's live alias is on v4, 50% on v3, not wholly on v3",
    );
  });

  it('after stopping a deployment, waits for the stack to settle and checks the alias is back', async () => {
    const w = aws.world('a0');
    w.deployments.set('d-live', { status: 'InProgress', current: '4', target: '5', created: 900 });
    w.split = { '5': 0.1 };
    w.versions.set('5', 'r2');
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'canary errors'], io, deps())).toBe(0);
    expect(w.stackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(out.join('\n')).toContain('(bulkhead-a0-api v5→v4)');
  });
});

describe('throttles and new stacks', () => {
  it('a release survives throttled CodeDeploy and CloudFormation reads while it is followed', async () => {
    const run = runRelease({ version: 'r2', cells: ['a0'] }, io, deps());
    // Once the wave is under way, every read throttled several times in a row (more than the SDK retries).
    await new Promise((resolve) => setImmediate(resolve));
    aws.throttles.set('DescribeStacks', 4);
    aws.throttles.set('ListDeployments', 4);
    const done = await run;
    expect(aws.throttles.get('DescribeStacks')).toBe(0);
    expect(aws.throttles.get('ListDeployments')).toBe(0);
    expect(done.code).toBe(0);
    expect(done.report?.waves[0].outcomes.map((o) => [o.cellId, o.result])).toEqual([['a0', 'succeeded']]);
  });

  it('a stack the release created (no LastUpdatedTime) is reported as created, not unchanged', async () => {
    const w = aws.world('a0');
    const runCdk = aws.runCdk;
    aws.runCdk = (args) => {
      const run = runCdk(args);
      w.fresh = true;
      return run;
    };
    target = aws.releaseTarget(logFile);
    const run = await runRelease({ version: 'r2', cells: ['a0'] }, io, deps());
    expect(run.report?.waves[0].outcomes.map((o) => [o.cellId, o.result])).toEqual([['a0', 'created']]);
    expect(run.code).toBe(0);
  });
});

describe('re-anchoring a big template', () => {
  it('over 51,200 bytes, the template goes to the bootstrap bucket and UpdateStack gets its TemplateURL', async () => {
    const w = aws.world('a0');
    (w.template.Resources as Record<string, unknown>).Padding = {
      Type: 'AWS::CloudFormation::WaitConditionHandle',
      Metadata: { text: 'x'.repeat(60_000) },
    };
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'slow'], io, deps())).toBe(0);
    const [put] = inputs(s3.commandCalls(PutObjectCommand));
    expect(put.Bucket).toBe('cdk-hnb659fds-assets-111111111111-us-east-1');
    const [update] = inputs(cfn.commandCalls(UpdateStackCommand));
    expect(update.TemplateBody).toBeUndefined();
    expect(update.TemplateURL).toBe(
      `https://cdk-hnb659fds-assets-111111111111-us-east-1.s3.us-east-1.amazonaws.com/${put.Key}`,
    );
    expect(err).toContain('[a0] CloudFormation re-anchored on bulkhead-a0-api v3');
    expect(w.template.Resources.ApiReleaseAliasE44B3E05.Properties.FunctionVersion).toBe('3');
  });
});
