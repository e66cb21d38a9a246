/**
 * The pre-traffic smoke tests, as plain steps over an `invoke` function, run on the *new* version before
 * any tenant's traffic reaches it: for the cell API, write and read back inventory and an order for a
 * reserved synthetic tenant; for the router, authenticate (and refuse) without a key and with the
 * synthetic tenant's. Each returns what failed, or nothing.
 */

import { SMOKE_SKU, SMOKE_TENANT } from '../contracts/names';

import { generateApiKey } from './api-keys';

export interface SmokeResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

export type Invoke = (method: string, path: string, body?: unknown) => Promise<SmokeResponse>;

export interface SmokeResult {
  readonly ok: boolean;
  readonly steps: readonly { readonly step: string; readonly ok: boolean; readonly detail?: string }[];
}

type Step = { step: string; ok: boolean; detail?: string };

/** Runs steps one after the other, recording each; a step's problem (or throw) fails it. */
function stepper(steps: Step[]) {
  return async (step: string, run: () => Promise<string | undefined>): Promise<boolean> => {
    try {
      const problem = await run();
      steps.push({ step, ok: problem === undefined, ...(problem && { detail: problem }) });
      return problem === undefined;
    } catch (err) {
      steps.push({ step, ok: false, detail: (err as Error).message });
      return false;
    }
  };
}

const expectStatus = (res: SmokeResponse, want: number) =>
  res.statusCode === want
    ? undefined
    : `expected ${want}, got ${res.statusCode}: ${JSON.stringify(res.body)}`;

export async function smokeTest(invoke: Invoke): Promise<SmokeResult> {
  const steps: Step[] = [];
  const check = stepper(steps);
  let orderId = '';
  const ok =
    (await check('health', async () => expectStatus(await invoke('GET', '/health'), 200))) &&
    (await check('set inventory', async () =>
      expectStatus(await invoke('PUT', `/inventory/${SMOKE_SKU}`, { quantity: 1000, priceCents: 1 }), 200),
    )) &&
    (await check('read inventory', async () => {
      const res = await invoke('GET', `/inventory/${SMOKE_SKU}`);
      return (
        expectStatus(res, 200) ??
        ((res.body as { quantity?: number }).quantity === 1000 ? undefined : 'wrong quantity')
      );
    })) &&
    (await check('create order', async () => {
      const res = await invoke('POST', '/orders', { items: [{ sku: SMOKE_SKU, quantity: 1 }] });
      orderId = (res.body as { id?: string }).id ?? '';
      return expectStatus(res, 201);
    })) &&
    (await check('read order', async () => {
      const res = await invoke('GET', `/orders/${orderId}`);
      return (
        expectStatus(res, 200) ?? ((res.body as { id?: string }).id === orderId ? undefined : 'wrong order')
      );
    }));
  return { ok, steps };
}

/** A request to the router: method, path and headers (the router reads the key from `authorization`). */
export type RouterInvoke = (
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
) => Promise<SmokeResponse>;

/**
 * The router's smoke test. It touches no tenant and no cell: a request without a key must get the
 * router's 401, and so must one with a key of the reserved synthetic tenant, which placement refuses, so
 * the routing store never has it. That second 401 comes from the store's answer ("no such tenant"): a
 * version that cannot read the store answers 503 instead, and fails.
 */
export async function routerSmokeTest(invoke: RouterInvoke): Promise<SmokeResult> {
  const steps: Step[] = [];
  const check = stepper(steps);
  const ok =
    (await check('no key: 401', async () => expectStatus(await invoke('GET', '/health', {}), 401))) &&
    (await check('the synthetic tenant, unknown to the routing store: 401', async () =>
      expectStatus(
        await invoke('GET', '/health', { authorization: `Bearer ${generateApiKey(SMOKE_TENANT)}` }),
        401,
      ),
    ));
  return { ok, steps };
}
