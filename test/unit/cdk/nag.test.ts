import * as fs from 'node:fs';
import * as path from 'node:path';

import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';

import { HouseFunction } from '../../../lib/infra/house-function';

import { buildFleet } from './fixtures';

/** The plugin reports of a synth's policy validation report (cdk-nag writes its findings there). */
function pluginReports(outdir: string): unknown[] {
  return JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')).pluginReports;
}

test('every stack of the fleet passes the cdk-nag AwsSolutions checks with no unacknowledged finding', () => {
  const built = buildFleet(undefined, undefined, true);
  // A finding makes synth throw; the report must also list no plugin failures.
  const assembly = built.app.synth();
  expect(pluginReports(assembly.directory)).toEqual([]);
});

test('the check is live: an unencrypted queue added to a cell fails the synth', () => {
  const built = buildFleet(undefined, ['use1-a'], true);
  new sqs.Queue(built.cells[0], 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED });
  expect(() => built.app.synth()).toThrow(/AwsSolutions-SQS2/);
});

test('the wildcard acknowledgement of a function role covers X-Ray only: any other grant on Resource * fails the synth', () => {
  const built = buildFleet(undefined, ['use1-a'], true);
  const api = built.cells[0].node.findAll().find((c): c is HouseFunction => c instanceof HouseFunction)!;
  api.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
  expect(() => built.app.synth()).toThrow(
    /DefaultPolicy grants s3:GetObject on Resource "\*": only X-Ray's writes may/,
  );
});
