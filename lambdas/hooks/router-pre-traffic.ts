/**
 * The router's pre-traffic hook: the router smoke test (`lib/domain/smoke-test.ts`) on the new router
 * version, with HTTP API events, before any tenant's traffic reaches it. It touches no tenant and no
 * cell: both requests end at the router's own 401.
 */
import { Logger } from '@aws-lambda-powertools/logger';

import { toFunctionUrlEvent } from '../../lib/contracts/api-event';
import { routerSmokeTest } from '../../lib/domain/smoke-test';
import { readEnv, required } from '../shared/env';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { lifecycleHandler, versionInvoker } from './lifecycle';

const env = readEnv({ ...TRACING_ENV, TARGET_FUNCTION_ARN: required });
const hook = {
  tracing: Tracing.for('router-pre-traffic-hook', env),
  logger: new Logger({ serviceName: 'router-pre-traffic-hook' }),
  target: env.TARGET_FUNCTION_ARN,
};
const invoke = versionInvoker(hook);

// An HTTP API (payload 2.0) event has the Function URL event's shape: the router reads the same fields.
export const handler = lifecycleHandler(hook, {}, () =>
  routerSmokeTest((method, path, headers) => invoke(toFunctionUrlEvent({ method, url: path, headers }))),
);
