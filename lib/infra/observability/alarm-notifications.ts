/**
 * Alarms that tell someone: each stack gets an SNS topic for its alarms, encrypted with the stack's own
 * key, which CloudWatch is allowed to use (CloudWatch cannot publish to a topic under the AWS-managed `aws/sns` key: its key policy does not let
 * the CloudWatch service use it), subscribed as the fleet file says, and every alarm of the stack notifies
 * it on ALARM and on OK, so the page and the all-clear both arrive.
 */
import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

import type { AlarmSettings } from '../../config/types';

export class AlarmNotifications extends Construct {
  readonly topic: sns.Topic;

  /** Call once the stack has all its alarms: each is wired to the topic (and to `settings.topicArn`). */
  constructor(stack: Stack, key: kms.IKey, settings: AlarmSettings = {}) {
    super(stack, 'AlarmNotifications');
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `Bulkhead alarms: ${stack.stackName}`,
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.grantPublish(new iam.ServicePrincipal('cloudwatch.amazonaws.com'));
    for (const email of settings.emails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    const targets: cloudwatch.IAlarmAction[] = [new actions.SnsAction(this.topic)];
    if (settings.topicArn) {
      targets.push(new actions.SnsAction(sns.Topic.fromTopicArn(this, 'Shared', settings.topicArn)));
    }
    for (const alarm of stack.node.findAll().filter((c) => c instanceof cloudwatch.Alarm)) {
      (alarm as cloudwatch.Alarm).addAlarmAction(...targets);
      (alarm as cloudwatch.Alarm).addOkAction(...targets);
    }
  }
}
