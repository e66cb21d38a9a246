/**
 * Samples the running fleet for the status page every couple of seconds, whether or not a page is open:
 * the charts and the incident list then cover the minutes before someone looks.
 */
import type { LocalReleases } from '../codedeploy/local-releases';

import type { LocalPlatform } from './platform';
import { StatusHistory, type StatusHistoryView } from './status-history';
import { collectStatus, type PlatformStatus, readEvents } from './status-page';

export interface StatusSource {
  /** The last status sampled, if any. */
  latest(): PlatformStatus | undefined;
  view(): StatusHistoryView;
  stop(): void;
}

export function startStatusSampler(
  platform: LocalPlatform,
  releases: LocalReleases,
  log: (line: string) => void,
  everyMs = 2000,
): StatusSource {
  const history = new StatusHistory();
  let latest: PlatformStatus | undefined;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      latest = await collectStatus(platform);
      history.sample({
        at: Date.now(),
        cells: [...platform.cells].map(([id, runtime]) => ({
          id,
          alias: runtime.aliases.get(runtime.stack.urls[0]?.target.functionLogicalId ?? ''),
          down: runtime.problem,
        })),
        deployments: releases.status().flatMap((c) => (c.lastDeployment ? [c.lastDeployment] : [])),
        log: readEvents(platform.dataDir, 50),
        status: latest,
      });
    } catch (err) {
      log(`local: status sample failed: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  void tick();
  return {
    latest: () => latest,
    view: () => history.view(Date.now()),
    stop: () => clearInterval(timer),
  };
}
