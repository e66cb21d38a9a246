/**
 * The AWS service limits a template or a request can break, with where each is documented. The CDK app
 * checks them at synth (fleet validation, the house function, the template size check) and the local
 * platform enforces them at run time, so what passes locally deploys and serves. Sizes are in bytes;
 * AWS's KB and MB are binary here (4 KB = 4,096), as the byte counts AWS prints show (51,200, 6,291,456).
 */

/**
 * Lambda: a function's environment variables, all of them together ("Lambda quotas",
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: "4 KB", not adjustable).
 */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4 * 1024;

/**
 * Lambda: concurrent executions per account and region, by default ("Lambda quotas": 1,000, adjustable),
 * and what reserved concurrency must leave unreserved ("Configuring reserved concurrency": Lambda keeps
 * at least 100 units for functions without reservations; a reservation past that is refused).
 */
export const LAMBDA_ACCOUNT_CONCURRENCY_DEFAULT = 1000;
export const LAMBDA_UNRESERVED_CONCURRENCY_MIN = 100;

/**
 * Lambda: a synchronous invocation's request and its response ("Invoke" API,
 * https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html: "For synchronous invocations, the maximum
 * payload size is 6 MB"). A Function URL in BUFFERED mode invokes synchronously and has the same limit
 * (FunctionUrlConfig API: "The maximum payload size is 6 MB").
 */
export const LAMBDA_SYNC_PAYLOAD_MAX_BYTES = 6 * 1024 * 1024;

/**
 * SQS: one message, body and attributes ("SendMessage" MessageBody in the AWS API model, as shipped in
 * @aws-sdk/client-sqs 3.1169: "The maximum size is 1 MiB or 1,048,576 bytes"; the same model gives
 * 1 MiB as the default `MaximumMessageSize` of a new queue and as the limit of a SendMessageBatch in
 * total). The older SQS quotas page still says 256 KB: that changed in 2025.
 */
export const SQS_MESSAGE_MAX_BYTES = 1024 * 1024;

/**
 * DynamoDB: one item, attribute names and values ("Constraints in Amazon DynamoDB",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html), and one
 * TransactWriteItems call ("groups up to 100 action requests ... The aggregate size of the items in the
 * transaction cannot exceed 4 MB", API_TransactWriteItems). BatchWriteItem takes "up to 25 item put or
 * delete operations" (API_BatchWriteItem).
 */
export const DYNAMODB_ITEM_MAX_BYTES = 400 * 1024;
export const DYNAMODB_TRANSACTION_MAX_ACTIONS = 100;
export const DYNAMODB_TRANSACTION_MAX_BYTES = 4 * 1024 * 1024;
export const DYNAMODB_BATCH_WRITE_MAX_ITEMS = 25;

/**
 * CloudFormation: a template sent in the request body, and one read from S3 ("AWS CloudFormation
 * quotas", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html:
 * "51,200 bytes" and "1 MB"). `cdk deploy` uploads templates to S3; the rollback's re-anchoring sends
 * the deployed template inline (`lib/targets/release/aws/rollback.ts`).
 */
export const CFN_TEMPLATE_INLINE_MAX_BYTES = 51_200;
export const CFN_TEMPLATE_S3_MAX_BYTES = 1024 * 1024;

/**
 * API Gateway HTTP API ("Quotas for configuring and running an HTTP API",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html): payload "10 MB"
 * and integration timeout "30 seconds", neither increasable.
 */
export const HTTP_API_PAYLOAD_MAX_BYTES = 10 * 1024 * 1024;
export const HTTP_API_INTEGRATION_TIMEOUT_MS = 30_000;

/**
 * IAM: one customer managed policy, and the managed policies one role may have (AWS re:Post, "How can I
 * increase the default managed policy or character size limit for an IAM role or user?",
 * https://repost.aws/knowledge-center/iam-increase-policy-size: "The maximum character size limit for
 * managed policies is 6,144", "The default limit for managed policies is 10", raised to 20 on request;
 * "IAM and AWS STS quotas" adds that white space does not count).
 */
export const IAM_MANAGED_POLICY_MAX_CHARS = 6144;
export const IAM_ROLE_MANAGED_POLICIES_MAX = 10;

/**
 * The size Lambda gives a function's environment: its variables as the JSON object it measures (the
 * refusal quotes it: "exceeded the 4KB limit. String measured: {"KEY":"value",...}", as reported in
 * github-aws-runners/terraform-aws-github-runner#3594). That is every key and value plus the JSON
 * punctuation, so a little more than the keys and values alone.
 */
export function lambdaEnvironmentBytes(variables: Readonly<Record<string, string>>): number {
  return Buffer.byteLength(JSON.stringify(variables));
}
