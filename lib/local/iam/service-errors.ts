/**
 * Refusals in the shape each AWS protocol answers them, so that the SDK raises the error it raises on AWS:
 * - DynamoDB (JSON 1.0): HTTP 400, `__type` `…#AccessDeniedException` ("Error handling with DynamoDB");
 *   signature problems are 400 too (`UnrecognizedClientException`, `InvalidSignatureException`, …).
 * - SQS (JSON 1.0, query-compatible, which the SDK v3 speaks): HTTP 400 with the query error code in
 *   `x-amzn-query-error` ("Interpreting Amazon SQS JSON API responses"; Common Errors: AccessDenied 400,
 *   InvalidClientTokenId and MissingAuthenticationToken 403); a KMS refusal is `KmsAccessDenied`.
 * - Lambda (REST JSON): HTTP 403 `AccessDeniedException` with a `Message`.
 * - A function URL: HTTP 403 `{"Message":"Forbidden. …"}` whatever the cause (observed body; the docs
 *   give none).
 */
import { randomUUID } from 'node:crypto';

import type { SignatureFailure } from './sigv4';

export type Protocol = 'dynamodb' | 'sqs' | 'lambda' | 'function-url';

export interface ErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const FUNCTION_URL_FORBIDDEN =
  'Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html';

const JSON_10 = 'application/x-amz-json-1.0';

function jsonError(status: number, type: string, message: string, extra: Record<string, string> = {}) {
  return {
    status,
    headers: {
      'content-type': JSON_10,
      'x-amzn-requestid': randomUUID(),
      'x-amzn-errortype': type.split('#').pop()!,
      ...extra,
    },
    body: JSON.stringify({ __type: type, message, Message: message }),
  };
}

const forbidden = (): ErrorReply => ({
  status: 403,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' },
  body: JSON.stringify({ Message: FUNCTION_URL_FORBIDDEN }),
});

const lambdaError = (type: string, message: string): ErrorReply => ({
  status: 403,
  headers: {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': type,
  },
  body: JSON.stringify({ Type: 'User', Message: message }),
});

/** SQS's query-compatible error: the JSON `__type`, and the legacy code the SDK names the error after. */
const sqsError = (status: number, type: string, queryCode: string, message: string): ErrorReply =>
  jsonError(status, type, message, { 'x-amzn-query-error': `${queryCode};Sender` });

/** The answer to a call the policies refuse; `kms` when the refused request is a use of the resource's key. */
export function accessDeniedReply(protocol: Protocol, message: string, kms: boolean): ErrorReply {
  switch (protocol) {
    case 'dynamodb':
      return jsonError(400, 'com.amazon.coral.service#AccessDeniedException', message);
    case 'sqs':
      return kms
        ? sqsError(400, 'com.amazonaws.sqs#KmsAccessDenied', 'KMS.AccessDeniedException', message)
        : sqsError(400, 'com.amazon.coral.service#AccessDeniedException', 'AccessDenied', message);
    case 'lambda':
      return lambdaError('AccessDeniedException', message);
    case 'function-url':
      return forbidden();
  }
}

const DYNAMODB_SIGNATURE: Record<SignatureFailure, string> = {
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
  InvalidClientTokenId: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  RequestExpired: 'InvalidSignatureException',
};
const LAMBDA_SIGNATURE: Record<SignatureFailure, string> = {
  ...DYNAMODB_SIGNATURE,
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
};
const SQS_STATUS: Record<SignatureFailure, number> = {
  MissingAuthenticationToken: 403,
  IncompleteSignature: 400,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  RequestExpired: 400,
};

/** The answer to a call whose signature fails, before any policy is read. */
export function signatureFailureReply(
  protocol: Protocol,
  failure: SignatureFailure,
  message: string,
): ErrorReply {
  switch (protocol) {
    case 'dynamodb':
      return jsonError(400, `com.amazon.coral.service#${DYNAMODB_SIGNATURE[failure]}`, message);
    case 'sqs':
      return sqsError(SQS_STATUS[failure], `com.amazon.coral.service#${failure}`, failure, message);
    case 'lambda':
      return lambdaError(LAMBDA_SIGNATURE[failure], message);
    case 'function-url':
      return forbidden();
  }
}

/** An operation the local endpoint does not serve. */
export function unknownOperationReply(protocol: Protocol, message: string): ErrorReply {
  if (protocol === 'lambda' || protocol === 'function-url')
    return { ...lambdaError('ResourceNotFoundException', message), status: 404 };
  return jsonError(400, 'com.amazon.coral.service#UnknownOperationException', message);
}
