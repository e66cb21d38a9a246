/** The release port's contract (test/contracts), run against the AWS release target over a fake AWS. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeReleaseTargetContract } from '../../contracts/release-target.contract';

import { cfn, cloudwatch, codedeploy, FakeAws, FLEET, lambda } from './fake-release-aws';

describeReleaseTargetContract('AWS (mocked SDK clients, fake cdk deploy)', async () => {
  for (const stub of [cfn, codedeploy, lambda, cloudwatch]) stub.reset();
  const aws = new FakeAws();
  aws.install();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'release-contract-'));
  const target = aws.releaseTarget(path.join(home, 'releases.jsonl'));
  return {
    target,
    cell: FLEET.cells[0],
    timeScale: 1,
    // The fake's time passes only when the target sleeps: a pause lets other work run, no deployment end.
    pause: () => new Promise((resolve) => setImmediate(resolve)),
    dispose: async () => {
      target.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
});
