/**
 * CloudWatch dashboards: one per cell (its requests, 5xx and p99 per version, and its integration's
 * sync outcomes) and one for the fleet in the router's account (the same per cell, each metric read from
 * the cell's account and region, plus the router). They chart the metrics the handlers emit
 * (`lib/contracts/metrics.ts`) and Lambda's own.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

import type { Cell, Fleet } from '../../config/types';
import {
  CELL_DIMENSION,
  METRIC_NAMESPACE,
  REQUEST_METRICS,
  SERVICE_DIMENSION,
  SERVICES,
  statusClassMetric,
  SYNC_METRICS,
  VERSION_DIMENSION,
} from '../../contracts/metrics';
import { cellApiFunctionName } from '../../contracts/names';

const PERIOD = Duration.minutes(1);

/** One line per version of the cell API, by CloudWatch `SEARCH` (versions come and go with releases). */
function perVersion(cell: Cell, metricName: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression:
      `SEARCH('{${METRIC_NAMESPACE},${SERVICE_DIMENSION},${CELL_DIMENSION},${VERSION_DIMENSION}} ` +
      `${SERVICE_DIMENSION}="${SERVICES.api}" ${CELL_DIMENSION}="${cell.id}" MetricName="${metricName}"', 'Sum', 60)`,
    label,
    period: PERIOD,
    searchAccount: cell.account,
    searchRegion: cell.region,
  });
}

const p99PerVersion = (cell: Cell) =>
  new cloudwatch.MathExpression({
    expression:
      `SEARCH('{AWS/Lambda,FunctionName,Resource,ExecutedVersion} ` +
      `FunctionName="${cellApiFunctionName(cell.id)}" MetricName="Duration"', 'p99', 60)`,
    label: 'p99 (ms)',
    period: PERIOD,
    searchAccount: cell.account,
    searchRegion: cell.region,
  });

const cellMetric = (cell: Cell, service: string, metricName: string) =>
  new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: service, [CELL_DIMENSION]: cell.id },
    statistic: 'Sum',
    period: PERIOD,
    account: cell.account,
    region: cell.region,
  });

/** A cell's row: requests and 5xx per version, p99 per version, its integration's sync outcomes. */
function cellRow(cell: Cell): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: `${cell.id}: requests and 5xx per version`,
      left: [perVersion(cell, REQUEST_METRICS.requests, 'requests')],
      right: [perVersion(cell, REQUEST_METRICS.serverErrors, '5xx')],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: `${cell.id}: p99 per version`,
      left: [p99PerVersion(cell)],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: `${cell.id}: integration (sync outcomes)`,
      left: Object.values(SYNC_METRICS).map((name) => cellMetric(cell, SERVICES.sync, name)),
      width: 8,
    }),
  ];
}

export function addCellDashboard(stack: Stack, cell: Cell): cloudwatch.Dashboard {
  return new cloudwatch.Dashboard(stack, 'Dashboard', {
    dashboardName: `Bulkhead-Cell-${cell.id}`,
    widgets: [cellRow(cell)],
  });
}

/** The fleet: the router's answers, then one row per cell, read across accounts and regions. */
export function addFleetDashboard(stack: Stack, fleet: Fleet): cloudwatch.Dashboard {
  const router = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: SERVICES.router },
      statistic: 'Sum',
      period: PERIOD,
    });
  const routerRow = [
    new cloudwatch.GraphWidget({
      title: 'router: answers by status class',
      left: [2, 4, 5].map((c) => router(statusClassMetric(c * 100))),
      width: 24,
    }),
  ];
  const cells5xx = new cloudwatch.GraphWidget({
    title: 'cells: 5xx answers per cell',
    left: fleet.cells.map((c) => cellMetric(c, SERVICES.api, statusClassMetric(500)).with({ label: c.id })),
    width: 24,
  });
  return new cloudwatch.Dashboard(stack, 'FleetDashboard', {
    dashboardName: 'Bulkhead-Fleet',
    widgets: [routerRow, [cells5xx], ...fleet.cells.map(cellRow)],
  });
}
