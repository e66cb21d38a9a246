/**
 * The release port's contract (test/contracts), run against the local release target: a local platform
 * of one cell started for this file in a home of its own, its deployments shifting a 10% canary for ten
 * minutes of release time (ten seconds at time scale 60), so a deployment can be caught under way.
 */
import { type RunningPlatform, startPlatform } from '../../harness/platform-runner';
import type { Cell } from '../../lib/config/types';
import { LocalReleaseTarget } from '../../lib/targets/release/local-release-target';
import { describeReleaseTargetContract } from '../contracts/release-target.contract';

jest.setTimeout(300_000);

const CELL: Cell = {
  id: 'contract-a',
  wave: 0,
  maxTenants: 10,
  tenants: [],
  deployment: { type: 'canary', percent: 10, intervalMinutes: 10 },
  bakeMinutes: 0,
  account: '111111111111',
  region: 'us-east-1',
};
const TIME_SCALE = 60;

let platform: RunningPlatform;

beforeAll(async () => {
  platform = await startPlatform({
    fleet: {
      defaults: { account: CELL.account, region: CELL.region },
      cells: [
        { id: CELL.id, wave: 0, maxTenants: CELL.maxTenants, deployment: CELL.deployment, tenants: ['acme'] },
      ],
    },
    timeScale: TIME_SCALE,
    label: 'release-contract',
  });
});

afterAll(async () => {
  await platform?.stop();
});

describeReleaseTargetContract('local (a running local platform)', async () => {
  const target = new LocalReleaseTarget(platform.state, platform.home);
  return {
    target,
    cell: CELL,
    timeScale: TIME_SCALE,
    pause: () => new Promise((resolve) => setTimeout(resolve, 50)),
    dispose: async () => target.close(),
  };
});
