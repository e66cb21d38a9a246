/**
 * Isolation: every tenant's key tried against every other tenant's orders and inventory, through the
 * router — by id, by listing with spoofed tenant headers and query parameters, with a forged cursor into
 * the other's partition, with the other's key id and this key's secret, and by writing to the other's
 * SKU. A leak is any successful answer carrying the other tenant's data, or any change to it.
 */
import { type HttpReply } from '../../harness/http-client';

import { call, figure, listOrders, platform, secretOf, TENANTS } from './support';

interface Marks {
  readonly sku: string;
  readonly orderId: string;
  readonly customerId: string;
}

const STOCK = 100;

test('every tenant against every other tenant: 0 leaks', async () => {
  const marks = new Map<string, Marks>();
  for (const tenant of TENANTS) {
    const sku = `iso-${tenant}`;
    const customerId = `iso-customer-${tenant}`;
    const stocked = await call(tenant, 'PUT', `/inventory/${sku}`, {
      quantity: STOCK,
      name: `secret ${tenant}`,
    });
    expect(stocked.status).toBe(200);
    const order = await call(tenant, 'POST', '/orders', { items: [{ sku, quantity: 1 }], customerId });
    expect(order.status).toBe(201);
    marks.set(tenant, { sku, customerId, orderId: (order.json as { id: string }).id });
  }

  let tried = 0;
  const leaks: string[] = [];
  const errors: string[] = [];
  /** A 2xx carrying any mark of `victim` is a leak; a 5xx or no answer is an error. */
  const check = (attacker: string, victim: string, what: string, res: HttpReply) => {
    tried++;
    const m = marks.get(victim)!;
    if (res.status === 0 || res.status >= 500) errors.push(`${attacker} -> ${victim} ${what}: ${res.status}`);
    const carries = [m.orderId, m.customerId, `secret ${victim}`].some((mark) => res.text.includes(mark));
    if (res.status >= 200 && res.status < 300 && carries) leaks.push(`${attacker} -> ${victim} ${what}`);
  };

  for (const attacker of TENANTS) {
    for (const victim of TENANTS.filter((t) => t !== attacker)) {
      const m = marks.get(victim)!;
      const spoof = {
        'x-bulkhead-tenant': victim,
        'x-bulkhead-claimed-tenant': victim,
        'x-bulkhead-key-hash': 'f'.repeat(64),
        'x-tenant-id': victim,
      };
      check(attacker, victim, 'GET /orders/{id}', await call(attacker, 'GET', `/orders/${m.orderId}`));
      check(attacker, victim, 'GET /inventory/{sku}', await call(attacker, 'GET', `/inventory/${m.sku}`));
      check(
        attacker,
        victim,
        'GET /orders (spoofed headers, ?tenant=)',
        await call(
          attacker,
          'GET',
          `/orders?tenant=${victim}&tenantId=${victim}&limit=100`,
          undefined,
          spoof,
        ),
      );
      check(
        attacker,
        victim,
        'GET /inventory (spoofed headers)',
        await call(attacker, 'GET', '/inventory?limit=100', undefined, spoof),
      );
      const cursor = Buffer.from(JSON.stringify({ pk: victim, sk: 'ORDER#' })).toString('base64url');
      check(
        attacker,
        victim,
        'GET /orders (forged cursor)',
        await call(attacker, 'GET', `/orders?cursor=${cursor}`),
      );
      check(
        attacker,
        victim,
        'GET /orders/{id} (spoofed headers)',
        await call(attacker, 'GET', `/orders/${m.orderId}`, undefined, spoof),
      );
      check(
        attacker,
        victim,
        'GET /integration/status (spoofed headers)',
        await call(attacker, 'GET', '/integration/status', undefined, spoof),
      );
      // The victim's tenant id with the attacker's secret part: the key must not verify.
      const { state } = platform();
      const forged = `bk_${victim}_${secretOf(state.tenants[attacker].apiKey)}`;
      const swapped = await call(attacker, 'GET', '/orders', undefined, {
        authorization: `Bearer ${forged}`,
      });
      check(attacker, victim, 'forged key (victim id, attacker secret)', swapped);
      if (swapped.status !== 401)
        leaks.push(`${attacker} -> ${victim}: a forged key answered ${swapped.status}`);
      // Writing "to" the victim's SKU touches the attacker's own partition only.
      const bought = await call(attacker, 'POST', '/orders', { items: [{ sku: m.sku, quantity: 1 }] }, spoof);
      check(attacker, victim, 'POST /orders of the victim SKU (spoofed headers)', bought);
    }
  }

  // Nothing the attackers did changed any victim's data.
  let changed = 0;
  for (const tenant of TENANTS) {
    const m = marks.get(tenant)!;
    const stock = await call(tenant, 'GET', `/inventory/${m.sku}`);
    const own = await listOrders(tenant);
    const intact =
      (stock.json as { quantity: number }).quantity === STOCK - 1 &&
      own.filter((o) => o.customerId === m.customerId).length === 1;
    if (!intact) {
      changed++;
      leaks.push(`${tenant}: its stock or orders changed (${stock.text.slice(0, 80)})`);
    }
  }

  figure('isolation', {
    tenants: TENANTS.length,
    pairs: TENANTS.length * (TENANTS.length - 1),
    'requests tried': tried,
    errors: errors.length,
    leaks: leaks.length,
    'victims changed': changed,
  });
  expect(leaks).toEqual([]);
  expect(errors).toEqual([]);
});
