/**
 * One function's calls to one facility at the state system, with what every call needs around it: a token
 * from the shared bucket of its kind (GETs and writes are budgeted apart), the answer's effect on the
 * circuit breaker, and the last success or error on the tenant's integration record.
 */
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import type { Breaker, BreakerPolicy } from '../../lib/domain/circuit-breaker';
import type { RateLimit } from '../../lib/domain/token-bucket';

import type { IntegrationStateStore } from './integration-state';
import type { Answer, MetrcClient } from './metrc-client';
import type { BucketKind, SharedRateLimiter } from './rate-limiter';

export interface SessionDeps {
  readonly state: IntegrationStateStore;
  readonly limiter: SharedRateLimiter;
  readonly policy: BreakerPolicy;
  readonly now: () => number;
}

export interface SessionOptions {
  readonly tenantId: string;
  readonly integration: IntegrationConfig;
  readonly client: MetrcClient;
  /** The breaker as admitted (half-open for a probe). */
  readonly breaker: Breaker;
  /** Epoch ms after which no token is waited for (the invocation must keep time for the call). */
  readonly deadline: number;
  /** A probe owns the half-open breaker; anyone else stops once the breaker opens meanwhile. */
  readonly probe: boolean;
  readonly limits: Readonly<Record<BucketKind, RateLimit>>;
}

/**
 * The limits the shared buckets enforce. Writes: below the integration's own rate, so that network
 * jitter (two calls spaced exactly right leaving us, arriving closer together) never makes the state
 * system count more than its limit; the burst halved, because after a pause (a stalled worker, a slow
 * network) the tokens that piled up go out together with the calls the pause held back. Reads: the
 * facility's GET budget, which already has its headroom (`readBudget`).
 */
/**
 * The share of the integration's POST limit the workers' shared bucket spends. What keeps the calls under
 * the state system's count is mostly elsewhere (half the burst here, and no call leaving late:
 * `SharedRateLimiter.acquire`); this covers what a client cannot see, the clocks of two machines and
 * the network between them.
 */
export const DEFAULT_RATE_HEADROOM = 0.95;

export function limitsOf(integration: IntegrationConfig, headroom: number): Record<BucketKind, RateLimit> {
  return {
    writes: {
      ratePerSecond: integration.ratePerSecond * headroom,
      burst: Math.max(1, Math.floor(integration.burst / 2)),
    },
    reads: { ratePerSecond: integration.readRatePerSecond, burst: integration.readBurst },
  };
}

/** The breaker opened (another call failed) while a call waited for its token: no call was made. */
export class BreakerOpenedError extends Error {
  constructor() {
    super('the breaker opened while waiting for a token');
    this.name = 'BreakerOpenedError';
  }
}

export class FacilitySession {
  private breaker: Breaker;
  /** The breaker was open and a call has succeeded since: the integration is back. */
  recovered = false;
  /** A call failed and opened the breaker: make no more calls. */
  opened = false;
  private lastSuccessWritten = 0;

  constructor(
    private readonly deps: SessionDeps,
    private readonly options: SessionOptions,
  ) {
    this.breaker = options.breaker;
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  get integration(): IntegrationConfig {
    return this.options.integration;
  }

  /** One call of `kind`, after its token; throws RateLimitedError when none comes in time, BreakerOpenedError. */
  async call<T>(kind: BucketKind, make: (client: MetrcClient) => Promise<Answer<T>>): Promise<Answer<T>> {
    if (this.opened) throw new BreakerOpenedError();
    const { tenantId, deadline, probe, limits, client } = this.options;
    const stillWanted = probe ? undefined : () => this.closed();
    if (!(await this.deps.limiter.acquire(tenantId, kind, limits[kind], deadline, stillWanted))) {
      throw new BreakerOpenedError();
    }
    const answer = await make(client);
    await this.record(answer);
    return answer;
  }

  private async closed(): Promise<boolean> {
    return (await this.deps.state.breaker(this.options.tenantId)).breaker.state === 'closed';
  }

  private async record(answer: Answer<unknown>): Promise<void> {
    const { state, policy, now } = this.deps;
    const tenantId = this.options.tenantId;
    const at = now();
    if (answer.verdict.breaker === 'success') {
      // Open as stored, not as this session saw it: another worker may have opened it since.
      const endedOutage = await state.recordSuccess(tenantId, this.breaker);
      this.breaker = { state: 'closed', failures: 0 };
      if (endedOutage) this.recovered = true;
      // Once a second is enough for "last success": a drain makes many calls.
      if (at - this.lastSuccessWritten >= 1000) {
        this.lastSuccessWritten = at;
        await state.recordLastSuccess(tenantId, at);
      }
      return;
    }
    if (answer.verdict.breaker === 'neutral') return;
    const [next] = await Promise.all([
      state.recordFailure(tenantId, at, policy),
      state.recordLastError(tenantId, answer.description, at),
    ]);
    if (next) this.breaker = next;
    if (next !== undefined && next.state !== 'closed') this.opened = true;
  }
}
