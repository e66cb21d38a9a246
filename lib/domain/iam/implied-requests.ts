/**
 * Requests AWS makes, or authorizes, on the caller's behalf beyond the one it asked for. Each must be
 * authorized separately (with `authorize`) for the call to succeed.
 */
import type { AuthorizationRequest, CallerPrincipal } from './evaluate';
import { arnAccount, arnRegion } from './matching';

const DECRYPT = ['kms:Decrypt'];
const ENCRYPT_AND_VERIFY = ['kms:GenerateDataKey', 'kms:Decrypt'];

/**
 * KMS actions the caller needs on a customer managed key that encrypts the resource, by service action.
 * - DynamoDB ("How Amazon DynamoDB uses AWS KMS"): "When you first access an encrypted table, DynamoDB sends
 *   a request to AWS KMS to use the CMK to decrypt the table key", on behalf of "the user who is accessing
 *   the DynamoDB resource"; the table key itself is generated when the table is created. So reads and writes
 *   alike need kms:Decrypt. Uncertain: DynamoDB caches the plaintext table key per connection and only asks
 *   KMS again "after five minutes of inactivity", so on AWS a revoked permission bites late; modelled here
 *   as the documented requirement on every call. The docs give no per-operation matrix; the AWS managed key's
 *   policy allows Encrypt, ReEncrypt*, GenerateDataKey*, CreateGrant and DescribeKey too.
 * - SQS ("Key management"): "the producer must have the kms:GenerateDataKey and kms:Decrypt permissions";
 *   "the consumer must have the kms:Decrypt permission".
 * - Secrets Manager (GetSecretValue API): for a secret encrypted with a customer managed key "you also need
 *   kms:Decrypt permissions for that key".
 */
const DYNAMODB_ITEM_ACTIONS = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'TransactGetItems',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'ConditionCheckItem',
];
/** Keyed by the lower-cased action: action names are case-insensitive. */
const IMPLIED_KMS = new Map<string, readonly string[]>([
  ...DYNAMODB_ITEM_ACTIONS.map((a) => [`dynamodb:${a.toLowerCase()}`, DECRYPT] as const),
  ['sqs:sendmessage', ENCRYPT_AND_VERIFY],
  ['sqs:sendmessagebatch', ENCRYPT_AND_VERIFY],
  ['sqs:receivemessage', DECRYPT],
  ['secretsmanager:getsecretvalue', DECRYPT],
]);

/** The KMS actions `action` also needs when its resource is encrypted with a customer managed key. */
export function impliedKmsActions(action: string): readonly string[] {
  return IMPLIED_KMS.get(action.toLowerCase()) ?? [];
}

/**
 * The KMS requests the service makes for the caller of `request` on `keyArn`, with the context keys KMS sees
 * for a call made through a service on a principal's behalf (kms:ViaService, kms:CallerAccount).
 */
export function impliedKmsRequests(request: AuthorizationRequest, keyArn: string): AuthorizationRequest[] {
  const service = request.action.split(':')[0].toLowerCase();
  const keyAccount = arnAccount(keyArn);
  const region = arnRegion(keyArn);
  if (!keyAccount || !region) throw new Error(`"${keyArn}" is not a KMS key ARN`);
  return impliedKmsActions(request.action).map((action) => ({
    principal: request.principal,
    action,
    resource: keyArn,
    resourceAccount: keyAccount,
    context: {
      'kms:ViaService': `${service}.${region}.amazonaws.com`,
      'kms:CallerAccount': request.principal.account,
      'aws:ViaAWSService': true,
    },
  }));
}

/**
 * What a call to an `AWS_IAM` function URL on `functionArn` (an alias or unqualified function ARN) must be
 * allowed to do. "Starting in October 2025, new function URLs will require both lambda:InvokeFunctionUrl and
 * lambda:InvokeFunction permissions" (Control access to Lambda function URLs); the second is scoped to URL
 * calls by the `lambda:InvokedViaFunctionUrl` condition key.
 */
export function functionUrlRequests(principal: CallerPrincipal, functionArn: string): AuthorizationRequest[] {
  const resourceAccount = arnAccount(functionArn);
  if (!resourceAccount) throw new Error(`"${functionArn}" is not a Lambda function ARN`);
  const base = { principal, resource: functionArn, resourceAccount };
  return [
    { ...base, action: 'lambda:InvokeFunctionUrl', context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
    { ...base, action: 'lambda:InvokeFunction', context: { 'lambda:InvokedViaFunctionUrl': true } },
  ];
}
