/**
 * The bad-release drill's fault (`bulkhead drill bad-release`): a version whose environment has
 * `BULKHEAD_FAULT_RATE=<0..1>` fails that share of its requests with a 500. The CDK stack never sets it;
 * only the drill puts it on a version it publishes in order to watch it being rolled back. Requests of the
 * pre-traffic smoke test's tenant are spared, so the drill proves the canary analysis (the kind of bug a
 * smoke test misses), not the smoke test.
 */
import { SMOKE_TENANT } from '../../lib/contracts/names';

/** Whether the next request of `tenant` must fail: evenly spread, exactly ⌊n·rate⌋ of the first n. */
export function faultInjector(rate: number): (tenant: string | undefined) => boolean {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`BULKHEAD_FAULT_RATE must be within 0..1, got ${rate}`);
  let n = 0;
  return (tenant) => {
    if (rate === 0 || tenant === SMOKE_TENANT) return false;
    n += 1;
    return Math.floor(n * rate + 1e-9) > Math.floor((n - 1) * rate + 1e-9);
  };
}
