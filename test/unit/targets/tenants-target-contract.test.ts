/** The tenants port's contract (test/contracts), run against the AWS tenants target over a fake AWS. */
import { AwsTenantsTarget } from '../../../lib/targets/tenants/aws-tenants-target';
import { CONTRACT_FLEET, describeTenantsTargetContract } from '../../contracts/tenants-target.contract';

import { ddb, doc, FakeTenantsAws, lambda, sqs } from './fake-tenants-aws';

describeTenantsTargetContract('AWS (mocked SDK clients)', async () => {
  for (const stub of [doc, ddb, lambda, sqs]) stub.reset();
  const aws = new FakeTenantsAws(CONTRACT_FLEET);
  aws.install();
  const target = new AwsTenantsTarget(CONTRACT_FLEET);
  return {
    target,
    registerCell: async (cell) =>
      void aws.routing
        .get('bulkhead-cell-registry')!
        .set(cell.cellId, { endpoint: `https://${cell.cellId}.example.com/`, ...cell }),
    syncMessages: async (cellId) =>
      (aws.queues.get(aws.queueOf(cellId)) ?? []).map((body) => JSON.parse(body)),
    dispose: async () => target.close(),
  };
});
