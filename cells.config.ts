import { defineCells } from './lib/config/types';

const compliance = (ratePerSecond: number) => ({
  baseUrl: 'https://sandbox-api-ca.metrc.com',
  ratePerSecond,
  burst: 2,
});

/** The example fleet: three cells in two regions, released in three waves. */
export default defineCells({
  defaults: { account: '111111111111', region: 'us-east-1', bakeMinutes: 10 },
  cells: [
    {
      id: 'use1-a',
      wave: 0,
      maxTenants: 20,
      // Wave 0 is the canary cell: a slower, smaller first step.
      deployment: { type: 'canary', percent: 10, intervalMinutes: 10 },
      bakeMinutes: 15,
      tenants: [
        { id: 'greenleaf', integration: compliance(5) },
        { id: 'high-noon', integration: compliance(5) },
        'golden-bud',
      ],
    },
    {
      id: 'use1-b',
      wave: 1,
      maxTenants: 20,
      deployment: { type: 'linear', percent: 25, intervalMinutes: 2 },
      tenants: [{ id: 'sativa-springs', integration: compliance(10) }, 'kind-leaf', 'mile-high-meds'],
    },
    {
      id: 'usw2-a',
      wave: 2,
      maxTenants: 20,
      region: 'us-west-2',
      deployment: { type: 'canary', percent: 20, intervalMinutes: 5 },
      tenants: [{ id: 'pacific-roots', integration: compliance(5) }, 'emerald-coast', 'redwood-remedies'],
    },
  ],
});
