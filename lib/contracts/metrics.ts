/**
 * The custom metrics Bulkhead's handlers emit (CloudWatch embedded metric format, through Powertools
 * Metrics) and the stacks alarm and chart on. One list, read by both sides: a handler names its metrics
 * from here, and `test/unit/cdk/alarm-metrics.test.ts` holds every alarm to a metric in it (or to one of
 * the services' built-in metrics), so an alarm can never again watch a metric nobody emits.
 */

/** The namespace of every custom metric. */
export const METRIC_NAMESPACE = 'Bulkhead';

/**
 * The dimension naming the function version that answered: `AWS_LAMBDA_FUNCTION_VERSION`, which Lambda
 * sets to the version number an alias invocation runs. Per-version metrics are what lets a deployment
 * judge the new version alone (an alarm on the alias would blend in the old version's health).
 */
export const VERSION_DIMENSION = 'FunctionVersion';

/** Powertools Metrics adds the service name as this dimension to every metric it emits. */
export const SERVICE_DIMENSION = 'service';
export const CELL_DIMENSION = 'cellId';

/**
 * Per-version request metrics of the request-serving functions (the cell API, the router): every answer
 * counts one `Requests` and, when it is a 5xx, one `ServerErrors` (0 otherwise, so the sum always has a
 * datapoint). A handler that catches its errors and answers 500 is a *successful* invocation for Lambda
 * (its `Errors` metric counts only function errors, docs: "Types of metrics for Lambda functions"), so
 * without these a release answering 500 to everyone would shift to 100 %.
 */
export const REQUEST_METRICS = { requests: 'Requests', serverErrors: 'ServerErrors' } as const;

/** The answers by status class (`status2xx` ... `status5xx`), per service (and cell). */
export const statusClassMetric = (status: number): string => `status${Math.floor(status / 100)}xx`;
const STATUS_CLASS_METRICS = [2, 3, 4, 5].map((c) => statusClassMetric(c * 100));

/** The router's counters: routes served from a stale cache or the baked map, store and locator failures. */
export const ROUTER_METRICS = {
  failStatic: 'router.failStatic',
  bakedFallback: 'router.bakedFallback',
  storeErrors: 'router.storeErrors',
  locatorFailures: 'router.locatorFailures',
  /** A registry row named an endpoint that is not a function URL of the fleet: nothing was forwarded there. */
  refusedEndpoint: 'router.refusedEndpoint',
  /** A tenant's request refused by its own rate or concurrency limit (429). */
  tenantLimited: 'router.tenantLimited',
  /** A call to the limit counters failed or timed out: the request was let through. */
  limiterErrors: 'router.limiterErrors',
} as const;

/** The sync worker's outcomes per sale (`lambdas/sync/worker.ts`). */
export const SYNC_METRICS = {
  synced: 'SalesSynced',
  rejected: 'SalesRejected',
  failed: 'SyncFailed',
  throttled: 'SyncThrottled',
  deferred: 'SyncDeferred',
} as const;

/** Services, as the `service` dimension names them. */
export const SERVICES = { api: 'api', router: 'router', sync: 'sync' } as const;

/** One custom metric as CloudWatch stores it: namespace, name and the exact set of dimension names. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly string[];
}

const metrics = (names: readonly string[], dimensions: readonly string[]): EmittedMetric[] =>
  names.map((name) => ({ namespace: METRIC_NAMESPACE, name, dimensions }));

/** Every custom metric the handlers emit, with its dimension set. */
export const EMITTED_METRICS: readonly EmittedMetric[] = [
  ...metrics(Object.values(REQUEST_METRICS), [SERVICE_DIMENSION, CELL_DIMENSION, VERSION_DIMENSION]),
  ...metrics(STATUS_CLASS_METRICS, [SERVICE_DIMENSION, CELL_DIMENSION]),
  ...metrics(Object.values(REQUEST_METRICS), [SERVICE_DIMENSION, VERSION_DIMENSION]),
  ...metrics([...STATUS_CLASS_METRICS, ...Object.values(ROUTER_METRICS)], [SERVICE_DIMENSION]),
  ...metrics(Object.values(SYNC_METRICS), [SERVICE_DIMENSION, CELL_DIMENSION]),
];
