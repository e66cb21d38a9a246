import type { MetrcReceipt } from '../../lib/contracts/metrc';
import { windows } from '../../lib/domain/compliance/lookup';

import type { FacilitySession } from './facility-session';
import type { Answer } from './metrc-client';

/** Pages one read may take: a lookup or a reconciliation that needs more stops and says so. */
export const MAX_PAGES = 200;

export type Receipts =
  | { readonly complete: true; readonly receipts: MetrcReceipt[]; readonly pages: number }
  /** Stopped before the end: `answer` is the call that did not succeed, if one did not. */
  | {
      readonly complete: false;
      readonly reason: string;
      readonly answer?: Answer<unknown>;
      readonly pages: number;
    };

/**
 * Every active receipt of the facility last modified in `[since, until]`: each 24-hour window, every page
 * of it (20 receipts a page), one GET token per page.
 */
export async function activeReceipts(
  session: FacilitySession,
  since: number,
  until: number,
  maxPages: number = MAX_PAGES,
): Promise<Receipts> {
  const receipts: MetrcReceipt[] = [];
  let pages = 0;
  for (const window of windows(since, until)) {
    for (let page = 1, last = 1; page <= last; page++) {
      if (pages >= maxPages) {
        return { complete: false, reason: `more than ${maxPages} pages of receipts to read`, pages };
      }
      const answer = await session.call('reads', (c) => c.activePage(window.start, window.end, page));
      pages++;
      if (!answer.value) return { complete: false, reason: answer.description, answer, pages };
      receipts.push(...answer.value.Data);
      last = answer.value.TotalPages;
    }
  }
  return { complete: true, receipts, pages };
}
