/** A drill as named steps: each timed, reported as it ends, and stopping at the first that fails. */
import type { ApiResponse } from '../contracts/api-event';

import type { ReleaseContext } from './context';
import { seconds } from './format';

export interface DrillStep {
  readonly step: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail?: string;
}

export class DrillSteps {
  readonly done: DrillStep[] = [];

  constructor(
    private readonly ctx: Pick<ReleaseContext, 'now' | 'progress'>,
    private readonly cellId: string,
  ) {}

  /** Runs a step: `run` resolves with what went wrong, or `undefined` when it passed; a throw fails it. */
  async run(name: string, run: () => Promise<string | undefined>): Promise<boolean> {
    const started = this.ctx.now();
    let detail: string | undefined;
    try {
      detail = await run();
    } catch (err) {
      detail = (err as Error).message;
    }
    const ok = detail === undefined;
    const ms = this.ctx.now() - started;
    this.done.push({ step: name, ok, ms, ...(detail !== undefined && { detail }) });
    this.ctx.progress(`[${this.cellId}] drill: ${name}: ${ok ? 'ok' : `FAILED: ${detail}`} (${seconds(ms)})`);
    return ok;
  }

  /** Runs the steps in order until one fails; whether all passed. */
  async all(steps: readonly (readonly [string, () => Promise<string | undefined>])[]): Promise<boolean> {
    for (const [name, run] of steps) if (!(await this.run(name, run))) return false;
    return true;
  }

  get failed(): DrillStep | undefined {
    return this.done.find((s) => !s.ok);
  }

  get ms(): number {
    return this.done.reduce((sum, s) => sum + s.ms, 0);
  }
}

/** `undefined` when the answer has the status, else what it was instead. */
export const expectStatus = (res: ApiResponse, status: number, what: string): string | undefined =>
  res.statusCode === status
    ? undefined
    : `${what}: expected ${status}, got ${res.statusCode} ${JSON.stringify(res.body ?? res.error)}`;
