/**
 * The pre-traffic smoke test, as plain steps over an `invoke` function: write and read back
 * inventory and an order for a reserved synthetic tenant on the *new* version, before any tenant's
 * traffic reaches it. Returns what failed, or nothing.
 */

import { SMOKE_SKU } from '../contracts/names';

export interface SmokeResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

export type Invoke = (method: string, path: string, body?: unknown) => Promise<SmokeResponse>;

export interface SmokeResult {
  readonly ok: boolean;
  readonly steps: readonly { readonly step: string; readonly ok: boolean; readonly detail?: string }[];
}

export async function smokeTest(invoke: Invoke): Promise<SmokeResult> {
  const steps: { step: string; ok: boolean; detail?: string }[] = [];
  const check = async (step: string, run: () => Promise<string | undefined>): Promise<boolean> => {
    try {
      const problem = await run();
      steps.push({ step, ok: problem === undefined, ...(problem && { detail: problem }) });
      return problem === undefined;
    } catch (err) {
      steps.push({ step, ok: false, detail: (err as Error).message });
      return false;
    }
  };
  const expectStatus = (res: SmokeResponse, want: number) =>
    res.statusCode === want
      ? undefined
      : `expected ${want}, got ${res.statusCode}: ${JSON.stringify(res.body)}`;

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
