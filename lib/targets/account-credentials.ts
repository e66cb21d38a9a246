/**
 * Credentials for each account of the fleet. In the operator's own account (the one the caller's
 * credentials belong to) the SDK's default chain; in any other, a session of the Bulkhead operator role
 * there (created by that account's cell or router stack, trusting the fleet's `operatorAccount`), named
 * `bulkhead-<user>` so CloudTrail shows which operator acted. Sessions are cached per role and renewed
 * before they expire.
 */
import * as os from 'node:os';

import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';

import type { AwsCredentials, ClientPlace, CredentialsProvider } from './aws-clients';

/** A session is renewed this long before it expires, so no call signs with credentials about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;
/** STS's default and the role's maximum unless raised: one hour. */
const SESSION_SECONDS = 3600;

/** `bulkhead-<user>`, within what STS allows in a RoleSessionName (`[\w+=,.@-]`, 2 to 64 characters). */
export function sessionName(user: string = os.userInfo().username): string {
  return `bulkhead-${user.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
}

const partitionOf = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

export const roleArn = (place: ClientPlace): string =>
  `arn:${partitionOf(place.region)}:iam::${place.account}:role/${place.role}`;

/** The one line an operator sees when a cell's account does not let them in, with the fix. */
export function assumeRoleRefusal(place: ClientPlace, caller: string, error: Error): string {
  return (
    `cannot assume ${roleArn(place)} from account ${caller} (${error.name}): deploy that account's stack with ` +
    `the fleet file's operatorAccount set to ${caller}, after a one-time ` +
    `\`cdk bootstrap --trust ${caller} aws://${place.account}/${place.region}\` (README: multi-account fleet)`
  );
}

export interface AccountCredentialsOptions {
  /** @default a client in the router's region with the default credential chain */
  readonly sts?: STSClient;
  /** @default `bulkhead-<OS user>` */
  readonly sessionName?: string;
  /** @default the SDK's default chain */
  readonly own?: CredentialsProvider;
  readonly now?: () => number;
}

export class AccountCredentials {
  private readonly sts: STSClient;
  private readonly own: CredentialsProvider;
  private readonly now: () => number;
  private caller?: Promise<string>;
  private readonly sessions = new Map<string, Promise<AwsCredentials>>();

  constructor(
    region: string,
    private readonly options: AccountCredentialsOptions = {},
  ) {
    this.sts = options.sts ?? new STSClient({ region });
    this.own = options.own ?? defaultProvider();
    this.now = options.now ?? Date.now;
  }

  /** The account the operator's own credentials belong to. */
  callerAccount(): Promise<string> {
    this.caller ??= this.sts.send(new GetCallerIdentityCommand({})).then((id) => {
      if (!id.Account) throw new Error('STS GetCallerIdentity named no account');
      return id.Account;
    });
    return this.caller;
  }

  /** What a client acting in `place` signs with. */
  for(place: ClientPlace): CredentialsProvider {
    return async () => {
      const caller = await this.callerAccount();
      if (caller === place.account) return this.own();
      const arn = roleArn(place);
      const cached = this.sessions.get(arn);
      const held = cached && (await cached.catch(() => undefined));
      if (held?.expiration && held.expiration.getTime() - this.now() > RENEW_BEFORE_MS) return held;
      const session = this.assume(place, caller);
      this.sessions.set(arn, session);
      return session;
    };
  }

  private async assume(place: ClientPlace, caller: string): Promise<AwsCredentials> {
    const out = await this.sts
      .send(
        new AssumeRoleCommand({
          RoleArn: roleArn(place),
          RoleSessionName: this.options.sessionName ?? sessionName(),
          DurationSeconds: SESSION_SECONDS,
        }),
      )
      .catch((error: Error) => {
        // Refused by the role's trust policy or the caller's own policy: the fix is on the accounts' side.
        throw error.name === 'AccessDenied' ? new Error(assumeRoleRefusal(place, caller, error)) : error;
      });
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey)
      throw new Error(`STS returned no credentials for ${roleArn(place)}`);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken && { sessionToken: c.SessionToken }),
      ...(c.Expiration && { expiration: c.Expiration }),
    };
  }

  close(): void {
    this.sts.destroy();
  }
}
