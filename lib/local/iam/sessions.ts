/**
 * Local role sessions: what Lambda gives a function (temporary credentials of its execution role) and
 * what `sts:AssumeRole` hands back. Each session has its own access key id, secret and session token,
 * minted here and known only to this process and the one holding them, so a signature proves which
 * role's session made a call.
 */
import { randomBytes } from 'node:crypto';

import type { CallerPrincipal } from '../../domain/iam';

export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

export interface Session extends SessionCredentials {
  readonly principal: CallerPrincipal;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `ASIA…`: the prefix AWS gives temporary (STS) access key ids. */
function accessKeyId(): string {
  return `ASIA${[...randomBytes(16)].map((b) => ALPHANUMERIC[b % 32]).join('')}`;
}

/** A role session's principal: the role, and the session ARN AWS names in its errors. */
export function roleSession(roleArn: string, sessionName: string): CallerPrincipal {
  const [, partition, , , account, resource] = roleArn.split(':');
  const name = resource.split('/').pop()!;
  return {
    type: 'role',
    arn: roleArn,
    account,
    sessionArn: `arn:${partition}:sts::${account}:assumed-role/${name}/${sessionName}`,
  };
}

export class Sessions {
  private readonly byKey = new Map<string, Session>();

  /** New credentials for `principal`. */
  issue(principal: CallerPrincipal): Session {
    const session: Session = {
      accessKeyId: accessKeyId(),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      principal,
    };
    this.byKey.set(session.accessKeyId, session);
    return session;
  }

  find(accessKeyId: string): Session | undefined {
    return this.byKey.get(accessKeyId);
  }
}

/** A function's credentials as Lambda puts them in its environment. */
export function credentialsEnvironment(credentials: SessionCredentials): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
  };
}
