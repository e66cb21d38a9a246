/**
 * The auth of an `AWS_IAM` function URL: "Lambda uses AWS Identity and Access Management (IAM) to
 * authenticate and authorize requests based on the IAM principal's identity policy and the function's
 * resource-based policy" (Control access to Lambda function URLs). The request must carry a valid SigV4
 * signature (service `lambda`, the function's region), and the signer must be allowed both
 * `lambda:InvokeFunctionUrl` and — for URLs since October 2025 — `lambda:InvokeFunction` with
 * `lambda:InvokedViaFunctionUrl` on the URL's function or alias.
 */
import type * as http from 'node:http';
import type { TLSSocket } from 'node:tls';

import type { FunctionUrlIamCaller } from '../../contracts/api-event';
import { functionUrlRequests, globalContextKeys } from '../../domain/iam';
import type { UrlAuthorizer } from '../lambda/function-url-server';

import type { IamDirectory } from './directory';
import { accessDeniedReply, signatureFailureReply } from './service-errors';
import type { Session, Sessions } from './sessions';
import { verifySignature } from './sigv4';

export interface FunctionUrlGateOptions {
  /** The function or alias the URL invokes (qualified ARN): whose resource policy applies. */
  readonly functionArn: string;
  readonly region: string;
  readonly sessions: Sessions;
  readonly directory: IamDirectory;
  /** One line per refused request (the cell's log). */
  readonly log: (line: string) => void;
  /** Who owns the URL (a stack name), for the log. */
  readonly name: string;
}

const isSecure = (req: http.IncomingMessage): boolean => (req.socket as TLSSocket).encrypted === true;

/** The verified signer as Lambda describes it to the function (`requestContext.authorizer.iam`). */
function iamCaller(session: Session): FunctionUrlIamCaller {
  const { principal } = session;
  // A role session's ids are the role's unique id and `<role id>:<session name>`; locally the key stands in.
  const userId = `AROA${session.accessKeyId.slice(4, 20)}`;
  const sessionName = principal.sessionArn?.split('/').pop();
  return {
    accessKey: session.accessKeyId,
    accountId: principal.account,
    callerId: sessionName ? `${userId}:${sessionName}` : userId,
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: principal.sessionArn ?? principal.arn,
    userId: sessionName ? `${userId}:${sessionName}` : userId,
  };
}

export function functionUrlGate(options: FunctionUrlGateOptions): UrlAuthorizer {
  return async (req, body) => {
    const verified = await verifySignature(
      { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body },
      options.sessions,
      { service: 'lambda', region: options.region },
    );
    if (!verified.ok) {
      options.log(
        `${new Date().toISOString()}\t${options.name}\tForbidden: a request to the function URL of ${options.functionArn} was refused before any policy: ${verified.failure}: ${verified.message}`,
      );
      return signatureFailureReply('function-url', verified.failure, verified.message);
    }
    const principal = verified.session.principal;
    const context = globalContextKeys(principal, { secureTransport: isSecure(req), region: verified.region });
    const requests = functionUrlRequests(principal, options.functionArn).map((r) => ({
      ...r,
      context: { ...context, ...r.context },
    }));
    const denial = options.directory.firstDenial(requests);
    if (!denial) return { iam: iamCaller(verified.session) };
    options.log(`${new Date().toISOString()}\t${options.name}\t${denial.explanation}`);
    return accessDeniedReply('function-url', denial.message, false);
  };
}
