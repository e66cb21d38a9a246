import { randomUUID } from 'node:crypto';

import type { ScheduledEvent } from 'aws-lambda';

import { ratePeriodMs } from '../../domain/schedule-expression';

import type { InvokeResult } from './invocation';

/** What a rule invokes: a function version or an alias. */
export interface ScheduleTarget {
  invoke(event: ScheduledEvent): Promise<InvokeResult>;
}

export interface ScheduleRule {
  /** The rule's name (unique within the scheduler). */
  readonly name: string;
  /** `rate(N minute|minutes|hour|hours|day|days)`; a `cron(...)` is refused (the local platform has no cron clock). */
  readonly expression: string;
  readonly target: ScheduleTarget;
  /** @default arn:aws:events:<region>:<account>:rule/<name> */
  readonly ruleArn?: string;
}

export interface SchedulerOptions {
  /** How much faster than real time the schedule runs: 60 = a minute passes in a second. @default 1 */
  readonly timeScale?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** @default stderr, prefixed with `scheduler` */
  readonly log?: (line: string) => void;
}

/** A rule's counters. */
export interface RuleStats {
  readonly name: string;
  readonly expression: string;
  /** The real interval between runs, after time scaling. */
  readonly periodMs: number;
  readonly runs: number;
  readonly errors: number;
  /** Ticks that found the previous run still going. */
  readonly skipped: number;
  readonly running: boolean;
  readonly lastRunAt?: string;
  readonly lastError?: string;
}

class Rule {
  runs = 0;
  errors = 0;
  skipped = 0;
  lastRunAt?: string;
  lastError?: string;
  current?: Promise<InvokeResult>;
  timer?: NodeJS.Timeout;
  next = 0;

  constructor(
    readonly spec: ScheduleRule,
    readonly ruleArn: string,
    readonly periodMs: number,
  ) {}
}

/**
 * EventBridge scheduled rules, locally: each rule invokes its target with a `Scheduled Event` once
 * per period (time scaled), never two runs of the same rule at once (a tick that finds the previous
 * run going is skipped). Failed runs are logged, not retried.
 */
export class Scheduler {
  readonly timeScale: number;
  private readonly rules = new Map<string, Rule>();
  private readonly log: (line: string) => void;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions = {}) {
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new Error(`timeScale must be > 0, got ${this.timeScale}`);
    this.log = options.log ?? ((line) => process.stderr.write(`[scheduler] ${line}\n`));
  }

  /** Adds a rule and starts its clock: the first run comes one period from now, as on EventBridge. */
  add(rule: ScheduleRule): void {
    if (this.rules.has(rule.name)) throw new Error(`schedule rule ${rule.name} already exists`);
    const periodMs = ratePeriodMs(rule.expression) / this.timeScale;
    const { region = 'us-east-1', accountId = '000000000000' } = this.options;
    const state = new Rule(
      rule,
      rule.ruleArn ?? `arn:aws:events:${region}:${accountId}:rule/${rule.name}`,
      periodMs,
    );
    this.rules.set(rule.name, state);
    this.stopped = false;
    state.next = Date.now() + periodMs;
    this.arm(state);
  }

  /** Removes a rule; resolves once its run in progress (if any) has finished. */
  async remove(name: string): Promise<void> {
    const rule = this.rules.get(name);
    if (!rule) return;
    clearTimeout(rule.timer);
    this.rules.delete(name);
    await rule.current?.catch(() => undefined);
  }

  /** Runs a rule now, after its run in progress (if any); resolves with the target's outcome. */
  async runNow(name: string): Promise<InvokeResult> {
    const rule = this.rules.get(name);
    if (!rule) throw new Error(`no schedule rule named ${name}`);
    while (rule.current) await rule.current.catch(() => undefined);
    return this.run(rule);
  }

  stats(): RuleStats[] {
    return [...this.rules.values()].map((rule) => ({
      name: rule.spec.name,
      expression: rule.spec.expression,
      periodMs: rule.periodMs,
      runs: rule.runs,
      errors: rule.errors,
      skipped: rule.skipped,
      running: rule.current !== undefined,
      ...(rule.lastRunAt !== undefined && { lastRunAt: rule.lastRunAt }),
      ...(rule.lastError !== undefined && { lastError: rule.lastError }),
    }));
  }

  /** Stops every clock; resolves once the runs in progress have finished. Rules stay (a later add restarts). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const rule of this.rules.values()) clearTimeout(rule.timer);
    await Promise.all([...this.rules.values()].map((rule) => rule.current?.catch(() => undefined)));
  }

  /** Schedules the next tick at a fixed rate from the start, so slow runs do not make the clock drift. */
  private arm(rule: Rule): void {
    if (this.stopped || this.rules.get(rule.spec.name) !== rule) return;
    rule.timer = setTimeout(() => this.tick(rule), Math.max(0, rule.next - Date.now()));
    rule.timer.unref();
  }

  private tick(rule: Rule): void {
    const now = Date.now();
    // Ticks missed while the process was busy collapse into one.
    while (rule.next <= now) rule.next += rule.periodMs;
    if (rule.current) {
      rule.skipped += 1;
      this.log(`${rule.spec.name}: previous run still going, tick skipped`);
    } else {
      this.run(rule).catch(() => undefined);
    }
    this.arm(rule);
  }

  private run(rule: Rule): Promise<InvokeResult> {
    const time = new Date();
    const { region = 'us-east-1', accountId = '000000000000' } = this.options;
    const event: ScheduledEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: accountId,
      // EventBridge writes the time to the second.
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [rule.ruleArn],
      detail: {},
    };
    rule.runs += 1;
    rule.lastRunAt = time.toISOString();
    const current = rule.spec.target
      .invoke(event)
      .catch((error: unknown) => ({
        error: {
          errorType: 'Local.InvokeFailed',
          errorMessage: error instanceof Error ? error.message : String(error),
        },
        durationMs: 0,
        coldStart: false,
      }))
      .then((outcome) => {
        if (outcome.error) {
          rule.errors += 1;
          rule.lastError = `${outcome.error.errorType}: ${outcome.error.errorMessage}`;
          this.log(`${rule.spec.name}: run failed: ${rule.lastError}`);
        }
        return outcome;
      })
      .finally(() => {
        if (rule.current === current) rule.current = undefined;
      });
    rule.current = current;
    return current;
  }
}
