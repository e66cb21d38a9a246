/**
 * How a benchmark or test reaches a cell's URL straight, without the router: with IAM enforced, SigV4
 * as the local operator of the cell's account (the URL wants AWS_IAM auth); otherwise the cell secret
 * the router would send.
 */
import { CELL_SECRET_HEADER } from '../lib/contracts/api-event';
import { signRequest } from '../lib/local/iam/sign-request';
import type { PlatformState } from '../lib/local/platform/platform-state';

export interface CellRequest {
  readonly method: string;
  /** The full URL (the cell's endpoint and the path). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * `request`'s headers with what authenticates it to `cellId`. A signature holds for 15 minutes, so one
 * set of signed headers may be sent again and again (a load run with fixed headers).
 */
export async function cellAuthHeaders(
  state: PlatformState,
  cellId: string,
  request: CellRequest,
): Promise<Record<string, string>> {
  const cell = state.cells[cellId];
  const operator = cell.account ? state.iam?.operators?.[cell.account] : undefined;
  if (!state.iam?.enforced) return { ...request.headers, [CELL_SECRET_HEADER]: cell.secret };
  if (!operator || !cell.region)
    throw new Error(`the ready file names no operator credentials or region for cell ${cellId}`);
  return signRequest(request, operator, cell.region);
}
