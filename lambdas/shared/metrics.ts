/**
 * The per-version request metrics of the request-serving handlers (the cell API, the router), named from
 * `lib/contracts/metrics.ts`: one `Requests` and one `ServerErrors` (1 for a server error, else 0) per
 * answer, dimensioned by the version that answered, so each release's 5xx alarm reads only its new version.
 * A server error is a 5xx the service is to blame for; a deliberate 503 with `Retry-After` (a tenant being
 * moved, a cell that is down) is not one, or a tenant move or a cell outage would roll back a healthy release.
 *
 * They go out on an instance of their own: every metric of one EMF document shares its dimension set,
 * and the handlers' other metrics are per service (and cell), not per version.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

import { METRIC_NAMESPACE, REQUEST_METRICS, VERSION_DIMENSION } from '../../lib/contracts/metrics';

export class RequestMetrics {
  private readonly metrics: Metrics;

  /**
   * @param service the `service` dimension
   * @param version the executing version (`AWS_LAMBDA_FUNCTION_VERSION`; `$LATEST` outside an alias)
   * @param dimensions further dimensions shared by every answer (the cell)
   */
  constructor(service: string, version: string, dimensions: Readonly<Record<string, string>> = {}) {
    this.metrics = new Metrics({
      namespace: METRIC_NAMESPACE,
      serviceName: service,
      defaultDimensions: { ...dimensions, [VERSION_DIMENSION]: version },
    });
  }

  /** Counts one answer, a server error or not, and publishes it. */
  answered(serverError: boolean): void {
    this.metrics.addMetric(REQUEST_METRICS.requests, MetricUnit.Count, 1);
    this.metrics.addMetric(REQUEST_METRICS.serverErrors, MetricUnit.Count, serverError ? 1 : 0);
    this.metrics.publishStoredMetrics();
  }
}
