/**
 * How large a function's environment will be once CloudFormation has put the deployed values in place
 * of its references. A reference (`Ref`, `Fn::GetAtt`) counts at the longest value it can take, from
 * the documented maximum of the name or URL it stands for, so an environment that fits here fits on AWS.
 */
import { lambdaEnvironmentBytes } from '../contracts/aws-limits';

/** The resource type of a logical id in the function's stack, if it has one. */
export type ResourceTypeOf = (logicalId: string) => string | undefined;

const ACCOUNT = 12;
/** "arn:aws-us-gov" is the longest partition. */
const PARTITION = 'aws-us-gov'.length;
/** Lambda function names: "1-64 characters" (CreateFunction API). */
const FUNCTION_NAME = 64;
/** Version numbers and alias names (Lambda Alias API: a name of up to 128 characters). */
const QUALIFIER = 128;
/** SQS: "A queue name can have up to 80 characters" (SQS quotas). */
const QUEUE_NAME = 80;
/** DynamoDB: table names are "between 3 and 255 characters long" (Constraints). */
const TABLE_NAME = 255;
/** The longest pseudo parameter: `AWS::StackName`, up to 128 characters. */
const PSEUDO_PARAMETER = 128;
/** IAM: ARNs are at most 2,048 characters; what a reference of an unlisted type counts as. */
const ANY_VALUE = 2048;

/** The longest value each kind of reference resolves to, in a stack of `region`. */
function bounds(region: number): Record<string, number> {
  const lambdaArn = 'arn::lambda:::function:'.length + PARTITION + region + ACCOUNT + FUNCTION_NAME;
  const queueArn = 'arn::sqs:::'.length + PARTITION + region + ACCOUNT + QUEUE_NAME;
  return {
    'AWS::DynamoDB::Table': TABLE_NAME,
    'AWS::DynamoDB::Table.Arn': 'arn::dynamodb:::table/'.length + PARTITION + region + ACCOUNT + TABLE_NAME,
    'AWS::SQS::Queue': 'https://sqs..amazonaws.com//'.length + region + ACCOUNT + QUEUE_NAME,
    'AWS::SQS::Queue.Arn': queueArn,
    'AWS::SQS::Queue.QueueName': QUEUE_NAME,
    'AWS::Lambda::Function': FUNCTION_NAME,
    'AWS::Lambda::Function.Arn': lambdaArn,
    'AWS::Lambda::Version': lambdaArn + 1 + QUALIFIER,
    'AWS::Lambda::Version.Version': QUALIFIER,
    'AWS::Lambda::Alias': lambdaArn + 1 + QUALIFIER,
  };
}

/** Longest region names today: "ap-southeast-4", "ap-northeast-3" (14 characters). */
const LONGEST_REGION = 14;

/** `value` with each reference replaced by a placeholder as long as the longest value it can take. */
function longestValue(value: unknown, typeOf: ResourceTypeOf, limits: Record<string, number>): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const longest = (length: number | undefined) => 'x'.repeat(length ?? ANY_VALUE);
  const intrinsic = (value ?? {}) as Record<string, unknown>;
  if (typeof intrinsic.Ref === 'string') {
    const pseudo = intrinsic.Ref.startsWith('AWS::');
    return longest(pseudo ? PSEUDO_PARAMETER : limits[typeOf(intrinsic.Ref) ?? '']);
  }
  const getAtt = intrinsic['Fn::GetAtt'];
  if (Array.isArray(getAtt))
    return longest(limits[`${typeOf(String(getAtt[0])) ?? ''}.${String(getAtt[1])}`]);
  const join = intrinsic['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    return (join[1] as unknown[]).map((part) => longestValue(part, typeOf, limits)).join(String(join[0]));
  }
  return longest(undefined);
}

/**
 * The size Lambda will measure for `variables` (a synthesized `Environment.Variables`, intrinsics and
 * all), each reference at its longest; `region` is the stack's, when known.
 */
export function deployedEnvironmentBytes(
  variables: Readonly<Record<string, unknown>>,
  typeOf: ResourceTypeOf,
  region?: string,
): number {
  const limits = bounds(region?.length ?? LONGEST_REGION);
  const longest = Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [name, longestValue(value, typeOf, limits)]),
  );
  return lambdaEnvironmentBytes(longest);
}
