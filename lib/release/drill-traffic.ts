/** The bad-release drill's traffic: steady synthetic reads on cells' live aliases until stopped. */
import type { Cell } from '../config/types';
import type { ApiResponse } from '../contracts/api-event';
import { DRILL_TENANT } from '../contracts/names';
import type { TrafficSample } from '../domain/release';
import type { ReleaseTarget } from '../targets/release/release-target';

export interface DrillTraffic {
  readonly samples: readonly TrafficSample[];
  /** Resolves once `cellId` has answered `count` more requests from now on. */
  answered(cellId: string, count: number): Promise<void>;
  stop(): Promise<void>;
}

export function drillTraffic(
  target: ReleaseTarget,
  cells: readonly { readonly cell: Cell; readonly concurrency: number }[],
  now: () => number,
): DrillTraffic {
  const samples: TrafficSample[] = [];
  const waiters: { cellId: string; left: number; resolve: () => void }[] = [];
  let running = true;
  const record = (sample: TrafficSample) => {
    samples.push(sample);
    for (const w of waiters) if (w.cellId === sample.cellId) w.left -= 1;
    for (const w of waiters.filter((x) => x.left <= 0)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const loops = cells.flatMap(({ cell, concurrency }) =>
    Array.from({ length: concurrency }, async () => {
      while (running) {
        let res: ApiResponse;
        try {
          res = await target.invoke(cell, 'live', {
            method: 'GET',
            path: '/inventory?limit=1',
            tenant: DRILL_TENANT,
          });
        } catch (err) {
          res = { statusCode: 0, body: undefined, error: (err as Error).message };
        }
        record({ cellId: cell.id, status: res.statusCode, version: res.executedVersion, at: now() });
      }
    }),
  );
  return {
    samples,
    answered: (cellId, count) =>
      count <= 0
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ cellId, left: count, resolve })),
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const w of waiters.splice(0)) w.resolve();
    },
  };
}
