/**
 * SDK clients by service and region, made on first use and destroyed together: one cache for the AWS
 * tenants target and the AWS release target. Each target names the client classes it uses, so a command
 * loads only the SDK packages it needs.
 */

interface Destroyable {
  destroy(): void;
}

type ClientClass<C extends Destroyable> = new (config: { region: string }) => C;

export class RegionalClients {
  private readonly made = new Map<ClientClass<Destroyable>, Map<string, Destroyable>>();

  /** The `Client` for `region`, the same one on every call. */
  get<C extends Destroyable>(Client: ClientClass<C>, region: string): C {
    let byRegion = this.made.get(Client);
    if (!byRegion) {
      byRegion = new Map();
      this.made.set(Client, byRegion);
    }
    let client = byRegion.get(region) as C | undefined;
    if (!client) {
      client = new Client({ region });
      byRegion.set(region, client);
    }
    return client;
  }

  /** Destroys every client made; later calls make new ones. */
  close(): void {
    for (const byRegion of this.made.values()) for (const client of byRegion.values()) client.destroy();
    this.made.clear();
  }
}
