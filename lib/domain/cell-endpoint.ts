/**
 * Which endpoints the router may forward a tenant's request to: only the function URL of a cell of its
 * own fleet. A registry row is written by a cell at deploy time; a row naming any other host (written by
 * mistake, or by a principal that should not) must not receive tenants' requests and API keys.
 */
import type { BakedCell } from './route-cache';

/**
 * A Lambda function URL: `https://<url-id>.lambda-url.<region>.on.aws/` (Lambda: "Creating and managing
 * function URLs", URL endpoints), the url-id 32 lowercase letters and digits.
 */
const FUNCTION_URL = /^https:\/\/[a-z0-9]{32}\.lambda-url\.([a-z0-9-]+)\.on\.aws\/?$/;
const LOOPBACK = /^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+\/?$/;

export interface EndpointPolicy {
  /** The fleet's cells (baked into the router from the fleet file). */
  readonly cells: Readonly<Record<string, BakedCell>>;
  /** The local platform only: its cells' URLs listen on loopback. */
  readonly loopback?: boolean;
}

/** Why the router must not forward to `endpoint` for `cellId`, or `undefined` when it may. */
export function cellEndpointProblem(
  policy: EndpointPolicy,
  cellId: string,
  endpoint: string,
): string | undefined {
  const cell = Object.prototype.hasOwnProperty.call(policy.cells, cellId) ? policy.cells[cellId] : undefined;
  if (!cell) return `cell ${cellId} is not in the router's fleet`;
  if (policy.loopback && LOOPBACK.test(endpoint)) return undefined;
  const region = FUNCTION_URL.exec(endpoint)?.[1];
  if (region === undefined) return `${endpoint} is not a Lambda function URL`;
  if (region !== cell.region) return `${endpoint} is in ${region}, but cell ${cellId} is in ${cell.region}`;
  return undefined;
}
