/**
 * SDK clients by service, region and account, made on first use and destroyed together: one cache for the
 * AWS tenants target and the AWS release target. Each target names the client classes it uses, so a
 * command loads only the SDK packages it needs. A client for another account than the operator's signs
 * with the credentials `credentialsFor` gives it (an assumed operator role: `account-credentials.ts`).
 */
import type { Cell, Fleet } from '../config/types';
import { cellOperatorRole, ROUTER_OPERATOR_ROLE } from '../contracts/names';

/** Credentials as every SDK client takes them (a provider it calls when it signs). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type CredentialsProvider = () => Promise<AwsCredentials>;

interface Destroyable {
  destroy(): void;
}

type ClientClass<C extends Destroyable> = new (config: {
  region: string;
  credentials?: CredentialsProvider;
}) => C;

/** Where a client acts: a region, and the account and Bulkhead role to act as there. */
export interface ClientPlace {
  readonly region: string;
  readonly account: string;
  /** The role the operator assumes when the account is not the operator's own. */
  readonly role: string;
}

export const cellPlace = (cell: Pick<Cell, 'id' | 'region' | 'account'>): ClientPlace => ({
  region: cell.region,
  account: cell.account,
  role: cellOperatorRole(cell.id),
});

export const routerPlace = (fleet: Pick<Fleet, 'router'>): ClientPlace => ({
  ...fleet.router,
  role: ROUTER_OPERATOR_ROLE,
});

export type CredentialsFor = (place: ClientPlace) => CredentialsProvider;

export class RegionalClients {
  private readonly made = new Map<ClientClass<Destroyable>, Map<string, Destroyable>>();

  /** @param credentialsFor @default - every client uses the operator's own credentials */
  constructor(private readonly credentialsFor?: CredentialsFor) {}

  /** The `Client` for `place` (a bare region: the operator's own account), the same one on every call. */
  get<C extends Destroyable>(Client: ClientClass<C>, place: string | ClientPlace): C {
    let byPlace = this.made.get(Client);
    if (!byPlace) {
      byPlace = new Map();
      this.made.set(Client, byPlace);
    }
    const key = typeof place === 'string' ? place : `${place.region}/${place.account}/${place.role}`;
    let client = byPlace.get(key) as C | undefined;
    if (!client) {
      client =
        typeof place === 'string' || !this.credentialsFor
          ? new Client({ region: typeof place === 'string' ? place : place.region })
          : new Client({ region: place.region, credentials: this.credentialsFor(place) });
      byPlace.set(key, client);
    }
    return client;
  }

  /** Destroys every client made; later calls make new ones. */
  close(): void {
    for (const byPlace of this.made.values()) for (const client of byPlace.values()) client.destroy();
    this.made.clear();
  }
}
