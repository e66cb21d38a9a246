/**
 * X-Ray tracing with the Powertools Tracer. Every function runs with active tracing
 * (`lib/infra/house-function.ts`); the Tracer adds a subsegment per invocation and per AWS SDK call, and
 * its HTTP capture passes the trace header on, so a request is one trace from the router into its cell.
 * Annotations (`cellId`, `tenantId`) make those traces searchable per cell and per tenant.
 *
 * It traces only where Lambda runs an X-Ray daemon: Lambda sets `AWS_XRAY_DAEMON_ADDRESS` for every
 * function. The local platform runs no daemon and sets no address; there the Tracer is not even loaded,
 * because the X-Ray SDK hooks every promise of the process as soon as it is imported.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';

import { optional } from './env';

/** What tracing reads from a function's environment schema. */
export const TRACING_ENV = { AWS_XRAY_DAEMON_ADDRESS: optional, _HANDLER: optional };

export type Annotations = Readonly<Record<string, string | undefined>>;

export class Tracing {
  private constructor(
    private readonly tracer: Tracer | undefined,
    private readonly handlerName: string,
  ) {}

  /** A tracer for `serviceName` when there is a daemon to send to; otherwise every method passes through. */
  static for(
    serviceName: string,
    env: { readonly AWS_XRAY_DAEMON_ADDRESS?: string; readonly _HANDLER?: string },
  ): Tracing {
    const handlerName = env._HANDLER ?? 'handler';
    if (!env.AWS_XRAY_DAEMON_ADDRESS) return new Tracing(undefined, handlerName);
    // Required here, not imported: only a function that traces pays for the X-Ray SDK's async hooks.
    type Powertools = typeof import('@aws-lambda-powertools/tracer');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Tracer } = require('@aws-lambda-powertools/tracer') as Powertools;
    return new Tracing(new Tracer({ serviceName }), handlerName);
  }

  /** The client, each of its calls a subsegment of the current one. */
  client<C>(client: C): C {
    return this.tracer ? this.tracer.captureAWSv3Client(client) : client;
  }

  /** Searchable annotations on the current subsegment; undefined values are left out. */
  annotate(annotations: Annotations): void {
    for (const [key, value] of Object.entries(annotations)) {
      if (value !== undefined) this.tracer?.putAnnotation(key, value);
    }
  }

  /**
   * The handler, each invocation in a `## <handler>` subsegment with the cold start, the service and
   * `annotations`. Responses are not recorded: they carry tenants' data.
   */
  handler<A extends unknown[], R>(
    annotations: Annotations,
    handler: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R> {
    const tracer = this.tracer;
    if (!tracer?.isTracingEnabled()) return handler;
    return (...args) =>
      this.span(`## ${this.handlerName}`, () => {
        tracer.annotateColdStart();
        tracer.addServiceNameAnnotation();
        this.annotate(annotations);
        return handler(...args);
      });
  }

  /** `work` in a subsegment of its own, so concurrent work (a batch's records) keeps its own annotations. */
  span<R>(name: string, work: () => Promise<R>): Promise<R> {
    const tracer = this.tracer;
    if (!tracer?.isTracingEnabled()) return work();
    return tracer.provider.captureAsyncFunc(name, async (subsegment) => {
      try {
        return await work();
      } catch (error) {
        tracer.addErrorAsMetadata(error as Error);
        throw error;
      } finally {
        subsegment?.close();
      }
    }) as Promise<R>;
  }
}
