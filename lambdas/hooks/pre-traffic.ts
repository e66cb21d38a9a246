/**
 * The cell API's pre-traffic hook: the smoke test (`lib/domain/smoke-test.ts`) on the new API version, as
 * the reserved synthetic tenant, before any tenant's traffic reaches it.
 */
import { Logger } from '@aws-lambda-powertools/logger';

import { SMOKE_TENANT } from '../../lib/contracts/names';
import { smokeTest } from '../../lib/domain/smoke-test';
import { optional, readEnv, required } from '../shared/env';
import { CELL_SECRET_HEADER, TENANT_HEADER } from '../shared/tenant';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { lifecycleHandler, versionInvoker } from './lifecycle';

export type { HookEvent } from './lifecycle';

const env = readEnv({
  ...TRACING_ENV,
  CELL_ID: required,
  TARGET_FUNCTION_ARN: required,
  CELL_SECRET: optional,
});
const cellSecret = env.CELL_SECRET;
const hook = {
  tracing: Tracing.for('pre-traffic-hook', env),
  logger: new Logger({ serviceName: 'pre-traffic-hook', persistentKeys: { cellId: env.CELL_ID } }),
  target: env.TARGET_FUNCTION_ARN,
};
const invoke = versionInvoker(hook);

/** A Function URL-shaped request as the synthetic tenant, as the router would forward it. */
const request = (method: string, path: string, body?: unknown) =>
  invoke({
    version: '2.0',
    rawPath: path,
    rawQueryString: '',
    headers: {
      [TENANT_HEADER]: SMOKE_TENANT,
      ...(cellSecret && { [CELL_SECRET_HEADER]: cellSecret }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method, path } },
  });

export const handler = lifecycleHandler(hook, { cellId: env.CELL_ID, tenantId: SMOKE_TENANT }, () =>
  smokeTest(request),
);
