/** Alarms that tell someone: a topic per stack, every alarm on ALARM and OK, dashboards per cell and fleet. */
import type { Template } from 'aws-cdk-lib/assertions';

import type { Fleet } from '../../../lib/config/types';

import { buildFleet, type BuiltFleet, exampleFleet } from './fixtures';

const SHARED = 'arn:aws:sns:us-east-1:123456789012:ops-chat';
let built: BuiltFleet;
let stacks: [string, Template][];

beforeAll(() => {
  const fleet: Fleet = { ...exampleFleet(), alarms: { emails: ['oncall@example.com'], topicArn: SHARED } };
  built = buildFleet(fleet);
  stacks = [built.router, ...built.cells].map((s) => [s.stackName, built.template(s.stackName)]);
});

test('each stack has its own alarm topic, encrypted with a key CloudWatch may use, with the fleet’s e-mails', () => {
  for (const [, t] of stacks) {
    const topics = Object.entries(t.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    const [, topic] = topics[0];
    const keyId = (topic.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const key = t.findResources('AWS::KMS::Key')[keyId];
    expect(
      (key.Properties.KeyPolicy.Statement as { Principal?: { Service?: string } }[]).some(
        (s) => s.Principal?.Service === 'cloudwatch.amazonaws.com',
      ),
    ).toBe(true);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  }
});

test('every alarm of every stack notifies its topic and the shared topic on ALARM and on OK', () => {
  let count = 0;
  for (const [name, t] of stacks) {
    const topicId = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    for (const [id, alarm] of Object.entries(t.findResources('AWS::CloudWatch::Alarm'))) {
      count += 1;
      for (const actions of [alarm.Properties.AlarmActions, alarm.Properties.OKActions]) {
        expect({ stack: name, alarm: id, actions }).toEqual({
          stack: name,
          alarm: id,
          actions: expect.arrayContaining([{ Ref: topicId }, SHARED]),
        });
      }
    }
  }
  expect(count).toBeGreaterThan(40);
});

test('a dashboard per cell and one for the fleet in the router stack', () => {
  for (const cell of built.fleet.cells) {
    built
      .template(`Bulkhead-Cell-${cell.id}`)
      .hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Bulkhead-Cell-${cell.id}` });
  }
  const fleet = Object.values(built.template('Bulkhead-Router').findResources('AWS::CloudWatch::Dashboard'));
  expect(fleet.map((d) => d.Properties.DashboardName)).toEqual(['Bulkhead-Fleet']);
  const body = JSON.stringify(fleet[0].Properties.DashboardBody);
  for (const cell of built.fleet.cells) expect(body).toContain(cell.id);
});

test('every stack has termination protection', () => {
  for (const s of [built.router, ...built.cells]) expect(s.terminationProtection).toBe(true);
});
