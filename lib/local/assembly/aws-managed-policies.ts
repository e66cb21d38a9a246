/**
 * The AWS managed policies the templates attach to roles that make calls locally, with their statements
 * as AWS publishes them ("AWS managed policy reference"). A role attaching one that is not here cannot be
 * authorized: the platform names it, to be added.
 */
import type { PolicyDocument } from '../../domain/iam';

export const AWS_MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
};
